// SPDX-License-Identifier: MIT
// A small Go text/template: the parser builds a tree of nodes, the evaluator walks it over a
// json::Value. What docker's documentation shows for --format works; the rest of Go's
// language (define, template, block, break, continue) is refused by name.
#include "base/template.hpp"
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/main.hpp"
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace koker::tmpl {

namespace {

// ---- the tree ----

struct Pipeline;

// An operand: .A.B (a field of dot), $x.A, a function name, a literal, or (pipeline).A
struct Term {
  enum class Kind { field, variable, function, literal, sub } kind = Kind::field;
  std::string name;                // variable ("$", "$x") or function name
  std::vector<std::string> chain;  // fields after it
  json::Value literal;
  std::shared_ptr<Pipeline> sub;
};

struct Command {
  std::vector<Term> terms;
};

struct Pipeline {
  std::vector<std::string> vars; // {{$x := ...}}, {{range $i, $v := ...}}
  bool declare = false;          // := rather than =
  std::vector<Command> commands;
};

} // namespace

struct Node {
  enum class Kind { list, text, action, if_, range, with } kind = Kind::list;
  std::string text;
  Pipeline pipe;
  std::vector<Node> body, otherwise; // list: body; if/range/with: body and {{else}}
};

namespace {

[[noreturn]] void parse_fail(size_t line, const std::string &why) {
  fail("template parsing error: template: :", line, ": ", why);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_ident(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// One action's tokens, read from its text between {{ and }}.
class Lexer {
public:
  Lexer(std::string_view s, size_t line) : m_s(s), m_line(line) {}

  void skip_space() {
    while (m_pos < m_s.size() && is_space(m_s[m_pos]))
      ++m_pos;
  }
  bool done() {
    skip_space();
    return m_pos >= m_s.size();
  }
  char peek() {
    skip_space();
    return m_pos < m_s.size() ? m_s[m_pos] : '\0';
  }
  bool eat(std::string_view tok) {
    skip_space();
    if (m_s.substr(m_pos, tok.size()) != tok)
      return false;
    m_pos += tok.size();
    return true;
  }
  // A bare word (keyword or function name), or "" when none is next.
  std::string word() {
    skip_space();
    size_t start = m_pos;
    while (m_pos < m_s.size() && is_ident(m_s[m_pos]))
      ++m_pos;
    return std::string(m_s.substr(start, m_pos - start));
  }
  // The word next, without taking it.
  std::string peek_word() {
    size_t save = m_pos;
    std::string w = word();
    m_pos = save;
    return w;
  }
  // .A.B after an operand (no space between them).
  std::vector<std::string> chain() {
    std::vector<std::string> out;
    while (m_pos + 1 < m_s.size() && m_s[m_pos] == '.' && is_ident(m_s[m_pos + 1])) {
      size_t start = ++m_pos;
      while (m_pos < m_s.size() && is_ident(m_s[m_pos]))
        ++m_pos;
      out.emplace_back(m_s.substr(start, m_pos - start));
    }
    return out;
  }

  Term term();
  Pipeline pipeline(bool allow_decl);
  [[noreturn]] void error(const std::string &why) { parse_fail(m_line, why); }
  size_t line() const { return m_line; }

private:
  json::Value string_literal();
  json::Value number_literal();

  std::string_view m_s;
  size_t m_pos = 0;
  size_t m_line;
};

json::Value Lexer::string_literal() {
  char quote = m_s[m_pos++];
  std::string out;
  while (m_pos < m_s.size() && m_s[m_pos] != quote) {
    char c = m_s[m_pos++];
    if (quote == '`' || c != '\\') {
      out += c;
      continue;
    }
    if (m_pos >= m_s.size())
      break;
    char e = m_s[m_pos++];
    switch (e) {
    case 'n': out += '\n'; break;
    case 't': out += '\t'; break;
    case 'r': out += '\r'; break;
    case '\\': out += '\\'; break;
    case '"': out += '"'; break;
    case '\'': out += '\''; break;
    case 'x':
      if (m_pos + 2 > m_s.size())
        error("bad escape in string");
      out += static_cast<char>(std::strtol(std::string(m_s.substr(m_pos, 2)).c_str(), nullptr, 16));
      m_pos += 2;
      break;
    default: error(cat("unknown escape sequence \\", e));
    }
  }
  if (m_pos >= m_s.size())
    error("unterminated quoted string");
  ++m_pos;
  return json::Value(out);
}

json::Value Lexer::number_literal() {
  size_t start = m_pos;
  if (m_s[m_pos] == '-' || m_s[m_pos] == '+')
    ++m_pos;
  while (m_pos < m_s.size() && (std::isdigit(static_cast<unsigned char>(m_s[m_pos])) ||
                                m_s[m_pos] == '.' || m_s[m_pos] == 'e' || m_s[m_pos] == 'E'))
    ++m_pos;
  std::string text(m_s.substr(start, m_pos - start));
  char *end = nullptr;
  std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || text == "-" || text == "+")
    error(cat("bad number syntax: ", printable(text)));
  if (text[0] == '+')
    text.erase(0, 1);
  return json::Value::number_text(text);
}

Term Lexer::term() {
  skip_space();
  Term t;
  if (m_pos >= m_s.size())
    error("missing value for command");
  char c = m_s[m_pos];
  if (c == '.') {
    t.kind = Term::Kind::field;
    if (m_pos + 1 < m_s.size() && is_ident(m_s[m_pos + 1]))
      t.chain = chain();
    else
      ++m_pos; // dot itself
    return t;
  }
  if (c == '$') {
    size_t start = m_pos++;
    while (m_pos < m_s.size() && is_ident(m_s[m_pos]))
      ++m_pos;
    t.kind = Term::Kind::variable;
    t.name = std::string(m_s.substr(start, m_pos - start));
    t.chain = chain();
    return t;
  }
  if (c == '"' || c == '`') {
    t.kind = Term::Kind::literal;
    t.literal = string_literal();
    return t;
  }
  if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+') {
    t.kind = Term::Kind::literal;
    t.literal = number_literal();
    return t;
  }
  if (c == '(') {
    ++m_pos;
    t.kind = Term::Kind::sub;
    t.sub = std::make_shared<Pipeline>(pipeline(false));
    if (!eat(")"))
      error("unclosed left paren");
    t.chain = chain();
    return t;
  }
  if (is_ident(c)) {
    std::string w = word();
    if (w == "true" || w == "false") {
      t.kind = Term::Kind::literal;
      t.literal = json::Value(w == "true");
    } else if (w == "nil") {
      t.kind = Term::Kind::literal;
    } else {
      t.kind = Term::Kind::function;
      t.name = w;
    }
    return t;
  }
  error(cat("unexpected ", printable(std::string(1, c)), " in command"));
}

Pipeline Lexer::pipeline(bool allow_decl) {
  Pipeline p;
  // "$x :=", "$i, $v :=" or "$x =" before the commands.
  if (allow_decl && peek() == '$') {
    size_t save = m_pos;
    std::vector<std::string> vars;
    bool ok = true;
    while (ok) {
      skip_space();
      size_t start = m_pos;
      if (m_pos >= m_s.size() || m_s[m_pos] != '$') {
        ok = false;
        break;
      }
      ++m_pos;
      while (m_pos < m_s.size() && is_ident(m_s[m_pos]))
        ++m_pos;
      vars.emplace_back(m_s.substr(start, m_pos - start));
      if (!eat(","))
        break;
    }
    if (ok && eat(":=")) {
      p.vars = vars;
      p.declare = true;
    } else if (ok && vars.size() == 1 && peek() == '=' && !eat("==")) {
      eat("=");
      p.vars = vars;
    } else {
      m_pos = save;
    }
  }
  for (;;) {
    Command cmd;
    while (!done() && peek() != '|' && peek() != ')')
      cmd.terms.push_back(term());
    if (cmd.terms.empty())
      error("missing command");
    p.commands.push_back(std::move(cmd));
    if (!eat("|"))
      break;
  }
  return p;
}

// ---- the parser: text and actions into nodes ----

class Parser {
public:
  explicit Parser(std::string_view s) : m_s(s) {}

  // Nodes up to {{end}}/{{else}} (returned in stop) or the end of the text.
  std::vector<Node> list(std::string &stop, Pipeline *else_if_pipe, std::string *else_kind);
  bool at_end() const { return m_pos >= m_s.size(); }
  size_t line() const { return m_line; }

private:
  std::string_view m_s;
  size_t m_pos = 0;
  size_t m_line = 1;
  bool m_trim_next = false; // the last action ended with -}}
};

std::vector<Node> Parser::list(std::string &stop, Pipeline *else_if_pipe, std::string *else_kind) {
  std::vector<Node> out;
  stop.clear();
  while (m_pos < m_s.size()) {
    size_t open = m_s.find("{{", m_pos);
    std::string text(m_s.substr(m_pos, open == std::string_view::npos ? std::string_view::npos
                                                                      : open - m_pos));
    if (m_trim_next) {
      size_t first = 0;
      while (first < text.size() && is_space(text[first]))
        ++first;
      text.erase(0, first);
    }
    m_trim_next = false;
    bool trim_left = open != std::string_view::npos && open + 3 < m_s.size() &&
                     m_s[open + 2] == '-' && is_space(m_s[open + 3]);
    if (trim_left)
      while (!text.empty() && is_space(text.back()))
        text.pop_back();
    m_line += std::count(m_s.begin() + static_cast<long>(m_pos),
                         open == std::string_view::npos ? m_s.end()
                                                        : m_s.begin() + static_cast<long>(open),
                         '\n');
    if (!text.empty()) {
      Node n;
      n.kind = Node::Kind::text;
      n.text = std::move(text);
      out.push_back(std::move(n));
    }
    if (open == std::string_view::npos) {
      m_pos = m_s.size();
      break;
    }
    size_t start = open + (trim_left ? 3 : 2);
    // The action ends at the first }} outside a quoted string.
    size_t close = start;
    char quote = 0;
    for (; close < m_s.size(); ++close) {
      char c = m_s[close];
      if (quote) {
        if (c == '\\' && quote == '"')
          ++close;
        else if (c == quote)
          quote = 0;
      } else if (c == '"' || c == '`') {
        quote = c;
      } else if (m_s.compare(close, 2, "}}") == 0) {
        break;
      }
    }
    if (close >= m_s.size())
      parse_fail(m_line, "unclosed action");
    size_t end = close;
    if (end >= start + 2 && m_s[end - 1] == '-' && is_space(m_s[end - 2])) {
      m_trim_next = true;
      --end;
    }
    std::string_view action = m_s.substr(start, end - start);
    size_t action_line = m_line;
    m_line += std::count(action.begin(), action.end(), '\n');
    m_pos = close + 2;

    std::string_view trimmed = action;
    while (!trimmed.empty() && is_space(trimmed.front()))
      trimmed.remove_prefix(1);
    if (trimmed.rfind("/*", 0) == 0) { // a comment
      while (!trimmed.empty() && is_space(trimmed.back()))
        trimmed.remove_suffix(1);
      if (trimmed.size() < 4 || trimmed.substr(trimmed.size() - 2) != "*/")
        parse_fail(action_line, "unclosed comment");
      continue;
    }
    Lexer lx(action, action_line);
    std::string kw = lx.peek_word();
    if (kw == "end") {
      lx.word();
      if (!lx.done())
        lx.error("unexpected text after end");
      stop = "end";
      return out;
    }
    if (kw == "else") {
      lx.word();
      stop = "else";
      std::string next = lx.peek_word();
      if (!lx.done() && (next == "if" || next == "with") && else_if_pipe && else_kind) {
        lx.word();
        *else_kind = next;
        *else_if_pipe = lx.pipeline(true);
      } else if (!lx.done()) {
        lx.error("unexpected text after else");
      }
      return out;
    }
    if (kw == "if" || kw == "range" || kw == "with") {
      lx.word();
      Node n;
      n.kind = kw == "if" ? Node::Kind::if_ : kw == "range" ? Node::Kind::range : Node::Kind::with;
      n.pipe = lx.pipeline(true);
      // Body, then the else branches ({{else if}} chains nest an if in the else).
      Node *cur = &n;
      std::vector<Node *> chain;
      for (;;) {
        std::string s;
        Pipeline next;
        std::string next_kind;
        cur->body = list(s, &next, &next_kind);
        if (s == "end")
          break;
        if (s != "else")
          parse_fail(m_line, cat("unexpected EOF: {{", kw, "}} has no {{end}}"));
        if (next_kind.empty()) {
          cur->otherwise = list(s, nullptr, nullptr);
          if (s != "end")
            parse_fail(m_line, cat("expected {{end}} after {{else}} of {{", kw, "}}"));
          break;
        }
        Node inner;
        inner.kind = next_kind == "if" ? Node::Kind::if_ : Node::Kind::with;
        inner.pipe = std::move(next);
        cur->otherwise.push_back(std::move(inner));
        cur = &cur->otherwise.back();
      }
      out.push_back(std::move(n));
      continue;
    }
    if (kw == "define" || kw == "template" || kw == "block" || kw == "break" ||
        kw == "continue")
      lx.error(cat("{{", kw, "}} is not supported"));
    Node n;
    n.kind = Node::Kind::action;
    n.pipe = lx.pipeline(true);
    if (!lx.done())
      lx.error(cat("unexpected ", printable(std::string(1, lx.peek())), " in operand"));
    out.push_back(std::move(n));
  }
  return out;
}

// ---- the evaluator ----

// A value, or nothing (a missing member: prints <no value>, as Go does over a map).
struct Val {
  json::Value v;
  bool missing = false;
};

std::string number_text(const json::Value &v) { return v.dump(); }

bool is_integer(const json::Value &v) {
  if (!v.is_number())
    return false;
  std::string t = v.dump();
  return t.find_first_of(".eE") == std::string::npos;
}

double as_double(const json::Value &v) { return std::strtod(v.dump().c_str(), nullptr); }

// fmt's %v.
std::string print_value(const Val &x) {
  if (x.missing)
    return "<no value>";
  const json::Value &v = x.v;
  switch (v.type()) {
  case json::Value::Type::null: return "<nil>";
  case json::Value::Type::boolean: return v.as_bool() ? "true" : "false";
  case json::Value::Type::number: return number_text(v);
  case json::Value::Type::string: return v.as_string();
  case json::Value::Type::array: {
    std::string s = "[";
    for (size_t i = 0; i < v.items().size(); ++i)
      s += (i ? " " : "") + print_value({v.items()[i]});
    return s + "]";
  }
  case json::Value::Type::object: {
    auto members = v.members();
    std::sort(members.begin(), members.end(),
              [](const auto &a, const auto &b) { return a.first < b.first; });
    std::string s = "map[";
    for (size_t i = 0; i < members.size(); ++i)
      s += (i ? " " : "") + members[i].first + ":" + print_value({members[i].second});
    return s + "]";
  }
  }
  return "";
}

bool truth(const Val &x) {
  if (x.missing)
    return false;
  const json::Value &v = x.v;
  switch (v.type()) {
  case json::Value::Type::null: return false;
  case json::Value::Type::boolean: return v.as_bool();
  case json::Value::Type::number: return as_double(v) != 0;
  case json::Value::Type::string: return !v.as_string().empty();
  case json::Value::Type::array: return !v.items().empty();
  case json::Value::Type::object: return !v.members().empty();
  }
  return false;
}

const char *go_type(const Val &x) {
  if (x.missing)
    return "<nil>";
  switch (x.v.type()) {
  case json::Value::Type::null: return "<nil>";
  case json::Value::Type::boolean: return "bool";
  case json::Value::Type::number: return is_integer(x.v) ? "int" : "float64";
  case json::Value::Type::string: return "string";
  case json::Value::Type::array: return "[]interface {}";
  case json::Value::Type::object: return "map[string]interface {}";
  }
  return "?";
}

class Exec {
public:
  Exec(const json::Value &data, const Options &opts) : m_opts(opts) {
    m_vars.push_back({"$", {data}});
  }

  void run(const std::vector<Node> &nodes, const Val &dot, std::string &out);

private:
  [[noreturn]] void error(const std::string &why) { fail("template: executing: ", why); }
  Val pipeline(const Pipeline &p, const Val &dot);
  Val command(const Command &c, const Val &dot, const Val *piped);
  Val term_value(const Term &t, const Val &dot);
  Val field(const Val &on, const std::string &name);
  Val call(const std::string &fn, std::vector<Val> args);
  Val lookup_var(const std::string &name);
  std::string printf_(const std::vector<Val> &args);
  int compare(const Val &a, const Val &b, const std::string &fn);

  const Options &m_opts;
  std::vector<std::pair<std::string, Val>> m_vars;
};

Val Exec::lookup_var(const std::string &name) {
  for (auto it = m_vars.rbegin(); it != m_vars.rend(); ++it)
    if (it->first == name)
      return it->second;
  error(cat("undefined variable: ", name));
}

Val Exec::field(const Val &on, const std::string &name) {
  if (on.missing || on.v.is_null())
    return {json::Value(), true}; // Go: a field of nothing is nothing
  if (!on.v.is_object())
    error(cat("can't evaluate field ", name, " in type ", go_type(on)));
  if (const json::Value *m = on.v.find(name))
    return {*m};
  if (m_opts.strict)
    error(cat("can't evaluate field ", name));
  return {json::Value(), true};
}

Val Exec::term_value(const Term &t, const Val &dot) {
  Val v;
  switch (t.kind) {
  case Term::Kind::field: v = dot; break;
  case Term::Kind::variable: v = lookup_var(t.name); break;
  case Term::Kind::literal: v = {t.literal}; break;
  case Term::Kind::sub: v = pipeline(*t.sub, dot); break;
  case Term::Kind::function: return call(t.name, {});
  }
  for (const auto &name : t.chain)
    v = field(v, name);
  return v;
}

Val Exec::command(const Command &c, const Val &dot, const Val *piped) {
  const Term &first = c.terms[0];
  std::vector<Val> args;
  if (first.kind == Term::Kind::function) {
    for (size_t i = 1; i < c.terms.size(); ++i)
      args.push_back(term_value(c.terms[i], dot));
    if (piped)
      args.push_back(*piped);
    return call(first.name, std::move(args));
  }
  // .Method "arg": the last name of the chain, called on what the chain before it reaches.
  bool has_args = c.terms.size() > 1 || piped;
  if (!first.chain.empty()) {
    auto m = m_opts.methods.find(first.chain.back());
    if (m != m_opts.methods.end()) {
      Term receiver = first;
      receiver.chain.pop_back();
      Val on = term_value(receiver, dot);
      std::vector<json::Value> margs;
      for (size_t i = 1; i < c.terms.size(); ++i)
        margs.push_back(term_value(c.terms[i], dot).v);
      if (piped)
        margs.push_back(piped->v);
      return {m->second(on.v, margs)};
    }
  }
  if (has_args)
    error(cat("can't give argument to non-function ",
              first.chain.empty() ? std::string(".") : "." + first.chain.back()));
  return term_value(first, dot);
}

Val Exec::pipeline(const Pipeline &p, const Val &dot) {
  Val v;
  for (size_t i = 0; i < p.commands.size(); ++i)
    v = command(p.commands[i], dot, i ? &v : nullptr);
  if (!p.vars.empty()) {
    if (p.declare) {
      m_vars.push_back({p.vars[0], v});
    } else {
      bool found = false;
      for (auto it = m_vars.rbegin(); it != m_vars.rend() && !found; ++it)
        if (it->first == p.vars[0]) {
          it->second = v;
          found = true;
        }
      if (!found)
        error(cat("undefined variable: ", p.vars[0]));
    }
  }
  return v;
}

int Exec::compare(const Val &a, const Val &b, const std::string &fn) {
  if (a.v.is_number() && b.v.is_number()) {
    double x = as_double(a.v), y = as_double(b.v);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.v.is_string() && b.v.is_string())
    return a.v.as_string().compare(b.v.as_string()) < 0   ? -1
           : a.v.as_string().compare(b.v.as_string()) > 0 ? 1
                                                          : 0;
  if (fn == "eq" || fn == "ne") {
    if (a.v.type() == json::Value::Type::boolean && b.v.type() == json::Value::Type::boolean)
      return a.v.as_bool() == b.v.as_bool() ? 0 : 1;
    if ((a.missing || a.v.is_null()) && (b.missing || b.v.is_null()))
      return 0;
  }
  error(cat("error calling ", fn, ": incompatible types for comparison: ", go_type(a), " and ",
            go_type(b)));
}

// fmt.Sprintf for the verbs templates use: %s %v %d %q %f %x %t %%, flags - 0 + and a width
// and precision.
std::string Exec::printf_(const std::vector<Val> &args) {
  if (args.empty() || !args[0].v.is_string())
    error("error calling printf: the format is not a string");
  const std::string &f = args[0].v.as_string();
  std::string out;
  size_t next = 1;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    std::string spec = "%";
    ++i;
    while (i < f.size() && std::string_view("-+ 0#").find(f[i]) != std::string_view::npos)
      spec += f[i++];
    while (i < f.size() && (std::isdigit(static_cast<unsigned char>(f[i])) || f[i] == '.'))
      spec += f[i++];
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = f[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size()) {
      out += cat("%!", verb, "(MISSING)");
      continue;
    }
    const Val &a = args[next++];
    char buf[512];
    if ((verb == 'd' || verb == 'x' || verb == 'X') && is_integer(a.v)) {
      spec += std::string("ll") + verb;
      std::snprintf(buf, sizeof buf, spec.c_str(), std::strtoll(a.v.dump().c_str(), nullptr, 10));
      out += buf;
    } else if ((verb == 'f' || verb == 'g' || verb == 'e') && a.v.is_number()) {
      spec += verb;
      std::snprintf(buf, sizeof buf, spec.c_str(), as_double(a.v));
      out += buf;
    } else if (verb == 's' || verb == 'v' || verb == 'q' || verb == 't') {
      std::string s = verb == 'q' ? json::quote(print_value(a)) : print_value(a);
      if (verb == 'q' && !a.v.is_string())
        s = print_value(a);
      spec += 's';
      std::snprintf(buf, sizeof buf, spec.c_str(), s.c_str());
      out += std::string(buf).size() + 1 < sizeof buf ? buf : s;
    } else {
      out += cat("%!", verb, "(", go_type(a), "=", print_value(a), ")");
    }
  }
  return out;
}

Val Exec::call(const std::string &fn, std::vector<Val> args) {
  auto want = [&](size_t n) {
    if (args.size() != n)
      error(cat("wrong number of args for ", fn, ": want ", n, " got ", args.size()));
  };
  auto str = [&](const Val &v, const char *what) -> std::string {
    if (!v.v.is_string())
      error(cat("error calling ", fn, ": ", what, " is ", go_type(v), ", not a string"));
    return v.v.as_string();
  };
  auto integer = [&](const Val &v) -> int64_t {
    if (!is_integer(v.v))
      error(cat("error calling ", fn, ": ", go_type(v), " is not an integer"));
    return std::strtoll(v.v.dump().c_str(), nullptr, 10);
  };
  if (fn == "and" || fn == "or") {
    if (args.empty())
      error(cat("wrong number of args for ", fn, ": want at least 1 got 0"));
    for (auto &a : args)
      if (truth(a) == (fn == "or"))
        return a;
    return args.back();
  }
  if (fn == "not") {
    want(1);
    return {json::Value(!truth(args[0]))};
  }
  if (fn == "len") {
    want(1);
    const json::Value &v = args[0].v;
    if (v.is_string())
      return {json::Value(static_cast<int64_t>(v.as_string().size()))};
    if (v.is_array())
      return {json::Value(static_cast<int64_t>(v.items().size()))};
    if (v.is_object())
      return {json::Value(static_cast<int64_t>(v.members().size()))};
    error(cat("error calling len: len of type ", go_type(args[0])));
  }
  if (fn == "index") {
    if (args.empty())
      error("wrong number of args for index: want at least 1 got 0");
    Val v = args[0];
    for (size_t i = 1; i < args.size(); ++i) {
      if (v.v.is_array()) {
        int64_t n = integer(args[i]);
        if (n < 0 || static_cast<size_t>(n) >= v.v.items().size())
          error(cat("error calling index: index out of range: ", n));
        v = {v.v.items()[static_cast<size_t>(n)]};
      } else if (v.v.is_object()) {
        const json::Value *m = v.v.find(str(args[i], "the key"));
        // A key a map lacks gives its zero value: docker's Labels are map[string]string.
        v = m ? Val{*m} : Val{json::Value("")};
      } else if (v.missing || v.v.is_null()) {
        v = {json::Value(""), false};
      } else {
        error(cat("error calling index: can't index item of type ", go_type(v)));
      }
    }
    return v;
  }
  if (fn == "slice") {
    if (args.empty() || args.size() > 3)
      error("wrong number of args for slice");
    const json::Value &v = args[0].v;
    size_t n = v.is_string() ? v.as_string().size() : v.is_array() ? v.items().size() : 0;
    if (!v.is_string() && !v.is_array())
      error(cat("error calling slice: can't slice item of type ", go_type(args[0])));
    int64_t from = args.size() > 1 ? integer(args[1]) : 0;
    int64_t to = args.size() > 2 ? integer(args[2]) : static_cast<int64_t>(n);
    if (from < 0 || to < from || static_cast<size_t>(to) > n)
      error(cat("error calling slice: index out of range: ", from, ":", to));
    if (v.is_string())
      return {json::Value(v.as_string().substr(static_cast<size_t>(from),
                                               static_cast<size_t>(to - from)))};
    json::Value out = json::Value::array();
    for (auto i = from; i < to; ++i)
      out.push(v.items()[static_cast<size_t>(i)]);
    return {out};
  }
  if (fn == "print" || fn == "println") {
    std::string s;
    for (size_t i = 0; i < args.size(); ++i) {
      // Sprint puts a space between operands when neither is a string; Sprintln always.
      if (i && (fn == "println" || (!args[i - 1].v.is_string() && !args[i].v.is_string())))
        s += ' ';
      s += print_value(args[i]);
    }
    return {json::Value(fn == "println" ? s + "\n" : s)};
  }
  if (fn == "printf")
    return {json::Value(printf_(args))};
  if (fn == "eq") {
    if (args.size() < 2)
      error("wrong number of args for eq: want at least 2");
    for (size_t i = 1; i < args.size(); ++i)
      if (compare(args[0], args[i], fn) == 0)
        return {json::Value(true)};
    return {json::Value(false)};
  }
  if (fn == "ne" || fn == "lt" || fn == "le" || fn == "gt" || fn == "ge") {
    want(2);
    int c = compare(args[0], args[1], fn);
    bool r = fn == "ne" ? c != 0 : fn == "lt" ? c < 0 : fn == "le" ? c <= 0 : fn == "gt" ? c > 0 : c >= 0;
    return {json::Value(r)};
  }
  // docker's own (cli/templates): json, join, split, title, lower, upper, pad, truncate.
  if (fn == "json") {
    want(1);
    return {json::Value(args[0].missing ? std::string("null") : args[0].v.dump())};
  }
  if (fn == "join") {
    want(2);
    std::string sep = str(args[1], "the separator"), s;
    if (!args[0].v.is_array())
      error(cat("error calling join: ", go_type(args[0]), " is not a list"));
    for (size_t i = 0; i < args[0].v.items().size(); ++i)
      s += (i ? sep : "") + print_value({args[0].v.items()[i]});
    return {json::Value(s)};
  }
  if (fn == "split") {
    want(2);
    std::string s = str(args[0], "the text"), sep = str(args[1], "the separator");
    json::Value out = json::Value::array();
    if (sep.empty()) {
      for (char c : s)
        out.push(json::Value(std::string(1, c)));
      return {out};
    }
    size_t from = 0;
    for (size_t at; (at = s.find(sep, from)) != std::string::npos; from = at + sep.size())
      out.push(json::Value(s.substr(from, at - from)));
    out.push(json::Value(s.substr(from)));
    return {out};
  }
  if (fn == "lower" || fn == "upper" || fn == "title") {
    want(1);
    std::string s = str(args[0], "the text");
    bool word_start = true;
    for (char &c : s) {
      auto u = static_cast<unsigned char>(c);
      if (fn == "lower")
        c = static_cast<char>(std::tolower(u));
      else if (fn == "upper" || word_start)
        c = static_cast<char>(std::toupper(u));
      word_start = !std::isalnum(u) && c != '_' && c != '\'';
    }
    return {json::Value(s)};
  }
  if (fn == "pad") {
    want(3);
    std::string s = print_value(args[0]);
    int64_t before = integer(args[1]), after = integer(args[2]);
    if (before < 0 || after < 0 || before > 4096 || after > 4096)
      error("error calling pad: a padding is out of range");
    return {json::Value(std::string(static_cast<size_t>(before), ' ') + s +
                        std::string(static_cast<size_t>(after), ' '))};
  }
  if (fn == "truncate") {
    want(2);
    std::string s = print_value(args[0]);
    int64_t n = integer(args[1]);
    if (n >= 0 && s.size() > static_cast<size_t>(n))
      s.resize(static_cast<size_t>(n));
    return {json::Value(s)};
  }
  error(cat("function \"", fn, "\" not defined"));
}

void Exec::run(const std::vector<Node> &nodes, const Val &dot, std::string &out) {
  size_t scope = m_vars.size();
  for (const auto &n : nodes) {
    switch (n.kind) {
    case Node::Kind::list: run(n.body, dot, out); break;
    case Node::Kind::text: out += n.text; break;
    case Node::Kind::action: {
      Val v = pipeline(n.pipe, dot);
      if (n.pipe.vars.empty())
        out += print_value(v);
      break;
    }
    case Node::Kind::if_:
    case Node::Kind::with: {
      size_t inner = m_vars.size();
      Val v = pipeline(n.pipe, dot);
      if (truth(v))
        run(n.body, n.kind == Node::Kind::with ? v : dot, out);
      else
        run(n.otherwise, dot, out);
      m_vars.resize(inner);
      break;
    }
    case Node::Kind::range: {
      size_t inner = m_vars.size();
      Pipeline head = n.pipe;
      head.vars.clear();
      Val v = pipeline(head, dot);
      std::vector<std::pair<json::Value, json::Value>> items; // key or index, element
      if (v.v.is_array()) {
        for (size_t i = 0; i < v.v.items().size(); ++i)
          items.emplace_back(json::Value(static_cast<int64_t>(i)), v.v.items()[i]);
      } else if (v.v.is_object()) {
        auto members = v.v.members(); // Go ranges over a map in key order
        std::sort(members.begin(), members.end(),
                  [](const auto &a, const auto &b) { return a.first < b.first; });
        for (auto &[k, e] : members)
          items.emplace_back(json::Value(k), e);
      } else if (!v.missing && !v.v.is_null()) {
        error(cat("range can't iterate over ", print_value(v)));
      }
      if (items.empty())
        run(n.otherwise, dot, out);
      for (auto &[key, elem] : items) {
        m_vars.resize(inner);
        if (n.pipe.vars.size() == 1)
          m_vars.push_back({n.pipe.vars[0], {elem}});
        if (n.pipe.vars.size() >= 2) {
          m_vars.push_back({n.pipe.vars[0], {key}});
          m_vars.push_back({n.pipe.vars[1], {elem}});
        }
        run(n.body, {elem}, out);
      }
      m_vars.resize(inner);
      break;
    }
    }
  }
  m_vars.resize(scope);
}

} // namespace

Template Template::parse(std::string_view text) {
  Parser p(text);
  std::string stop;
  auto root = std::make_shared<Node>();
  root->body = p.list(stop, nullptr, nullptr);
  if (!stop.empty())
    parse_fail(p.line(), cat("unexpected {{", stop, "}}"));
  Template t;
  t.m_root = std::move(root);
  return t;
}

std::string Template::execute(const json::Value &data, const Options &opts) const {
  std::string out;
  if (!m_root)
    return out;
  Exec e(data, opts);
  e.run(m_root->body, {data}, out);
  return out;
}

Listing parse_listing(std::string_view format) {
  Listing l;
  if (format == "table" || format.empty())
    return l;
  if (format == "json") {
    l.kind = Listing::Kind::json;
    return l;
  }
  l.kind = Listing::Kind::custom;
  if (format.rfind("table", 0) == 0 && format.size() > 5 && is_space(format[5])) {
    l.header = true;
    format.remove_prefix(6);
  }
  // docker's preFormat: a \t or \n typed in the shell's quotes is a tab or a newline, so that
  // 'table {{.ID}}\t{{.Names}}' makes columns.
  std::string text;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '\\' && i + 1 < format.size() && (format[i + 1] == 't' || format[i + 1] == 'n')) {
      text += format[++i] == 't' ? '\t' : '\n';
      continue;
    }
    text += format[i];
  }
  try {
    l.tmpl = Template::parse(text);
  } catch (const Error &e) {
    cli::usage_error(e.what());
  }
  return l;
}

std::string render_listing(const Listing &l, const json::Value &headers,
                           const std::vector<json::Value> &rows,
                           const std::function<Options(size_t row, bool header)> &options_for) {
  std::vector<std::string> lines;
  if (l.header)
    lines.push_back(l.tmpl.execute(headers, options_for(0, true)));
  for (size_t i = 0; i < rows.size(); ++i)
    lines.push_back(l.tmpl.execute(rows[i], options_for(i, false)));
  std::string out;
  if (!l.header) {
    for (const auto &line : lines)
      out += line + "\n";
    return out;
  }
  // Columns at the tabs, as docker's tabwriter aligns a table.
  std::vector<std::vector<std::string>> cells;
  for (const auto &line : lines)
    for (const auto &part : [&] {
           std::vector<std::string> parts;
           size_t from = 0;
           for (size_t nl; (nl = line.find('\n', from)) != std::string::npos; from = nl + 1)
             parts.push_back(line.substr(from, nl - from));
           parts.push_back(line.substr(from));
           return parts;
         }()) {
      std::vector<std::string> row;
      size_t from = 0;
      for (size_t tab; (tab = part.find('\t', from)) != std::string::npos; from = tab + 1)
        row.push_back(part.substr(from, tab - from));
      row.push_back(part.substr(from));
      cells.push_back(std::move(row));
    }
  return render_table(cells);
}

} // namespace koker::tmpl
