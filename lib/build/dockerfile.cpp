// SPDX-License-Identifier: MIT
// The Dockerfile parser. It follows BuildKit's frontend/dockerfile/parser (read, not copied):
// lines are read one at a time; parser directives are looked for until the first line that
// is not one; a comment line is skipped, also inside a continuation; an escape character at
// the end of a line (blanks after it allowed) continues the instruction on the next line;
// then the first word is the instruction, leading --flags are taken off, and the rest is
// parsed as that instruction's arguments (JSON array, words, key=value pairs).
#include "build/dockerfile.hpp"
#include "base/error.hpp"
#include "base/json.hpp"
#include "base/text.hpp"

#include <algorithm>
#include <functional>

namespace koker::dockerfile {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim_left(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_blank(s[i]))
    ++i;
  return s.substr(i);
}

std::string_view trim(std::string_view s) {
  s = trim_left(s);
  while (!s.empty() && is_blank(s.back()))
    s.remove_suffix(1);
  return s;
}

std::string upper(std::string_view s) {
  std::string u(s);
  for (char &c : u)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return u;
}

bool is_comment(std::string_view line) {
  line = trim_left(line);
  return !line.empty() && line[0] == '#';
}

// Splits on runs of blanks, as Go's strings.Fields.
std::vector<std::string> fields(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i]))
      ++i;
    size_t start = i;
    while (i < s.size() && !is_blank(s[i]))
      ++i;
    if (i > start)
      out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

// A parser directive line: "#", blanks, a name (a letter, then letters and digits), blanks,
// "=", blanks, a value. Returns {name lower-cased, value trimmed}.
std::optional<std::pair<std::string, std::string>> directive(std::string_view line) {
  if (line.empty() || line[0] != '#')
    return std::nullopt;
  size_t i = 1;
  while (i < line.size() && is_blank(line[i]))
    ++i;
  size_t start = i;
  if (i >= line.size() || !std::isalpha(static_cast<unsigned char>(line[i])))
    return std::nullopt;
  while (i < line.size() && std::isalnum(static_cast<unsigned char>(line[i])))
    ++i;
  std::string name = text::lower(line.substr(start, i - start));
  while (i < line.size() && is_blank(line[i]))
    ++i;
  if (i >= line.size() || line[i] != '=')
    return std::nullopt;
  std::string_view value = trim(line.substr(i + 1));
  if (value.empty())
    return std::nullopt;
  return std::make_pair(name, std::string(value));
}

// Where an error is: "Dockerfile:7".
struct Where {
  const std::string &file;
  int line;
  [[noreturn]] void fail(const std::string &why) const { throw Error(cat(file, ":", line, ": ", why)); }
};

// BuildKit's extractBuilderFlags: the leading words that start with "--", quotes removed, up
// to the first other word or a lone "--". Returns the flags and the rest of the line.
std::vector<std::string> take_flags(std::string_view line, std::string &rest) {
  std::vector<std::string> words;
  std::string word;
  enum { spaces, in_word, in_quote } phase = spaces;
  char quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= line.size(); ++pos) {
    char ch = pos < line.size() ? line[pos] : 0;
    if (phase == spaces) {
      if (pos == line.size())
        break;
      if (is_blank(ch))
        continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') {
        rest = std::string(line.substr(pos));
        return words;
      }
      phase = in_word;
    }
    if (pos == line.size()) {
      if (word != "--" && (blank_ok || !word.empty()))
        words.push_back(word);
      break;
    }
    if (phase == in_word) {
      if (is_blank(ch)) {
        phase = spaces;
        if (word == "--") {
          rest = std::string(line.substr(pos));
          return words;
        }
        if (blank_ok || !word.empty())
          words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = in_quote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == line.size())
          continue;
        ch = line[++pos];
      }
      word += ch;
      continue;
    }
    if (ch == quote) {
      phase = in_word;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == line.size()) {
        phase = in_word;
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  rest.clear();
  return words;
}

// BuildKit's parseWords: blank-separated words, quotes and escapes kept in the word but
// respected (a blank inside quotes or after the escape character does not split).
std::vector<std::string> words_of(std::string_view rest, char escape) {
  std::vector<std::string> words;
  std::string word;
  enum { spaces, in_word, in_quote } phase = spaces;
  char quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= rest.size(); ++pos) {
    char ch = pos < rest.size() ? rest[pos] : 0;
    if (phase == spaces) {
      if (pos == rest.size())
        break;
      if (is_blank(ch))
        continue;
      phase = in_word;
    }
    if (pos == rest.size()) {
      if (blank_ok || !word.empty())
        words.push_back(word);
      break;
    }
    if (phase == in_word) {
      if (is_blank(ch)) {
        phase = spaces;
        if (blank_ok || !word.empty())
          words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = in_quote;
      }
      if (ch == escape) {
        if (pos + 1 == rest.size())
          continue;
        word += ch;
        ch = rest[++pos];
      }
      word += ch;
      continue;
    }
    if (ch == quote)
      phase = in_word;
    if (ch == escape && quote != '\'') {
      if (pos + 1 == rest.size()) {
        phase = in_word;
        continue;
      }
      word += ch;
      ch = rest[++pos];
    }
    word += ch;
  }
  return words;
}

void utf8(std::string &out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A strict JSON array of strings, as Go's encoding/json reads one (jsmn, base/json's parser,
// is lenient: it takes ["a" "b"], which docker reads as the shell form). Returns false when
// the text is not such an array; sets other when an element is JSON but not a string.
bool strict_string_array(std::string_view s, std::vector<std::string> &out, bool &other) {
  size_t i = 0;
  auto ws = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
      ++i;
  };
  auto hex4 = [&](unsigned &v) {
    if (i + 4 > s.size())
      return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s[i++];
      if (!text::is_hex(c))
        return false;
      v = v * 16 + static_cast<unsigned>(text::is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return true;
  };
  ws();
  if (i >= s.size() || s[i] != '[')
    return false;
  ++i;
  ws();
  if (i < s.size() && s[i] == ']') {
    ++i;
    ws();
    return i == s.size();
  }
  for (;;) {
    ws();
    if (i >= s.size())
      return false;
    if (s[i] != '"') {
      other = std::string_view("-0123456789tfn[{").find(s[i]) != std::string_view::npos;
      return false;
    }
    ++i;
    std::string str;
    for (;;) {
      if (i >= s.size())
        return false;
      unsigned char c = static_cast<unsigned char>(s[i++]);
      if (c == '"')
        break;
      if (c < 0x20)
        return false;
      if (c != '\\') {
        str += static_cast<char>(c);
        continue;
      }
      if (i >= s.size())
        return false;
      char e = s[i++];
      switch (e) {
      case '"': str += '"'; break;
      case '\\': str += '\\'; break;
      case '/': str += '/'; break;
      case 'b': str += '\b'; break;
      case 'f': str += '\f'; break;
      case 'n': str += '\n'; break;
      case 'r': str += '\r'; break;
      case 't': str += '\t'; break;
      case 'u': {
        unsigned cp;
        if (!hex4(cp))
          return false;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < s.size() && s[i] == '\\' && s[i + 1] == 'u') {
          size_t save = i;
          i += 2;
          unsigned lo;
          if (hex4(lo) && lo >= 0xDC00 && lo < 0xE000)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          else {
            i = save;
            cp = 0xFFFD;
          }
        } else if (cp >= 0xD800 && cp < 0xE000) {
          cp = 0xFFFD; // a lone surrogate, as Go replaces it
        }
        utf8(str, cp);
        break;
      }
      default:
        return false;
      }
    }
    out.push_back(std::move(str));
    ws();
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == ']') {
      ++i;
      ws();
      return i == s.size();
    }
    return false;
  }
}

// A JSON array of strings: the strings. nullopt when rest is not JSON (shell form then);
// an error when it is JSON but not an array of strings only.
std::optional<std::vector<std::string>> json_array(std::string_view rest, const Where &at) {
  rest = trim_left(rest);
  if (rest.empty() || rest[0] != '[')
    return std::nullopt;
  std::vector<std::string> out;
  bool other = false;
  if (strict_string_array(rest, out, other))
    return out;
  if (other) {
    // Is it JSON at all? base/json then tells an array of other things from a typo.
    try {
      json::Value v = json::parse(rest, "arguments", 1 << 16);
      if (v.is_array())
        at.fail("when using JSON array syntax, arrays must be comprised of strings only");
    } catch (const Error &e) {
      if (std::string(e.what()).find("arrays must be") != std::string::npos)
        throw;
    }
  }
  return std::nullopt;
}

// The flags each instruction accepts. --link only changes how BuildKit caches a layer, not
// what the image holds: accepted, no effect. The BuildKit-only ones (RUN --mount, --network,
// --security; ADD --checksum, --keep-git-dir; COPY --parents, --exclude) are refused by name.
bool flag_allowed(const std::string &keyword, const std::string &flag) {
  static const std::map<std::string, std::vector<std::string>> allowed = {
      {"FROM", {"platform"}},
      {"COPY", {"from", "chown", "chmod", "link"}},
      {"ADD", {"chown", "chmod", "link"}},
      {"HEALTHCHECK", {"interval", "timeout", "start-period", "start-interval", "retries"}},
  };
  auto it = allowed.find(keyword);
  return it != allowed.end() && std::find(it->second.begin(), it->second.end(), flag) != it->second.end();
}

bool buildkit_only_flag(const std::string &keyword, const std::string &flag) {
  return (keyword == "RUN" && (flag == "mount" || flag == "network" || flag == "security")) ||
         (keyword == "ADD" && (flag == "checksum" || flag == "keep-git-dir")) ||
         ((keyword == "COPY" || keyword == "ADD") && (flag == "parents" || flag == "exclude"));
}

const std::vector<std::string> &keywords() {
  static const std::vector<std::string> k = {
      "ADD",  "ARG",     "CMD",   "COPY",        "ENTRYPOINT", "ENV",  "EXPOSE", "FROM",
      "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER",
      "VOLUME", "WORKDIR"};
  return k;
}

size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// A heredoc word as BuildKit reads one: digits, "<<", an optional "-", a name ("<<EOF",
// "<<-'EOF'", "2<<X"). "<<<" (a here-string) is not one.
bool is_heredoc_word(std::string_view w) {
  size_t i = 0;
  while (i < w.size() && text::is_digit(w[i]))
    ++i;
  if (w.substr(i, 2) != "<<")
    return false;
  i += 2;
  if (i < w.size() && w[i] == '-')
    ++i;
  std::string_view name = w.substr(i);
  return !name.empty() && name.find('<') == std::string_view::npos;
}

// ENV, LABEL: KEY=VALUE pairs, or the legacy "KEY VALUE" (the value the rest of the line).
std::vector<KeyValue> name_values(const std::string &keyword, std::string_view rest, char escape,
                                  const Where &at) {
  std::vector<std::string> words = words_of(rest, escape);
  if (words.empty())
    at.fail(cat(keyword, " requires at least one argument"));
  std::vector<KeyValue> pairs;
  if (words[0].find('=') == std::string::npos) {
    std::string_view r = trim(rest);
    size_t sp = 0;
    while (sp < r.size() && !is_blank(r[sp]))
      ++sp;
    if (sp == r.size())
      at.fail(cat(keyword, " must have two arguments"));
    pairs.push_back({std::string(r.substr(0, sp)), std::string(trim_left(r.substr(sp))), true});
    return pairs;
  }
  for (const auto &w : words) {
    size_t eq = w.find('=');
    if (eq == std::string::npos)
      at.fail(cat("Syntax error - can't find = in \"", printable(w),
                  "\". Must be of the form: name=value"));
    if (eq == 0)
      at.fail(cat(keyword, " names can not be blank"));
    pairs.push_back({w.substr(0, eq), w.substr(eq + 1), true});
  }
  return pairs;
}

void parse_arguments(Instruction &in, std::string_view rest, char escape, const Where &at);

// The shell form or exec form of RUN CMD ENTRYPOINT SHELL VOLUME and HEALTHCHECK CMD.
void maybe_json(Instruction &in, std::string_view rest, const Where &at) {
  rest = trim(rest);
  if (auto list = json_array(rest, at)) {
    in.json = true;
    in.args = *list;
    return;
  }
  in.args = {std::string(rest)};
}

void parse_arguments(Instruction &in, std::string_view rest, char escape, const Where &at) {
  const std::string &k = in.keyword;
  std::string_view trimmed = trim(rest);
  auto need_one = [&] {
    if (trimmed.empty())
      at.fail(cat(k, " requires exactly one argument"));
  };
  if (k == "RUN" || k == "CMD" || k == "ENTRYPOINT" || k == "SHELL" || k == "VOLUME") {
    maybe_json(in, rest, at);
    if (k == "RUN" && !in.json)
      for (const auto &w : fields(trimmed))
        if (is_heredoc_word(w))
          at.fail("heredocs (<<" + printable(w.substr(w.find("<<") + 2), 40) +
                  ") are not supported: BuildKit-only syntax; write the lines with printf or COPY a file");
    if (k == "RUN" && trimmed.empty())
      at.fail("RUN requires at least one argument");
    if (k == "SHELL" && !in.json)
      at.fail("SHELL requires the arguments to be in JSON form");
    if (k == "SHELL" && in.args.empty())
      at.fail("SHELL requires at least one argument");
    if (k == "VOLUME" && (in.json ? in.args.empty() : trimmed.empty()))
      at.fail("VOLUME requires at least one argument");
    if (k == "VOLUME" && !in.json)
      in.args = fields(trimmed);
    if (k == "VOLUME")
      for (const auto &v : in.args)
        if (trim(v).empty())
          at.fail("VOLUME specified can not be an empty string");
  } else if (k == "COPY" || k == "ADD") {
    if (auto list = json_array(rest, at)) {
      in.json = true;
      in.args = *list;
    } else {
      in.args = fields(trimmed);
      for (const auto &w : in.args)
        if (is_heredoc_word(w))
          at.fail("heredocs (<<" + printable(w.substr(w.find("<<") + 2), 40) +
                  ") are not supported: BuildKit-only syntax; COPY a file of the context");
    }
    if (in.args.size() < 2)
      at.fail(cat(k, " requires at least two arguments, but only ", in.args.size(), " provided"));
  } else if (k == "FROM") {
    in.args = fields(trimmed);
    if (!(in.args.size() == 1 || (in.args.size() == 3 && text::lower(in.args[1]) == "as")))
      at.fail("FROM requires either one or three arguments (FROM IMAGE [AS NAME])");
  } else if (k == "EXPOSE") {
    in.args = fields(trimmed);
    if (in.args.empty())
      at.fail("EXPOSE requires at least one argument");
  } else if (k == "USER" || k == "WORKDIR" || k == "STOPSIGNAL" || k == "MAINTAINER") {
    need_one();
    in.args = {std::string(trimmed)};
  } else if (k == "ENV" || k == "LABEL") {
    in.pairs = name_values(k, rest, escape, at);
  } else if (k == "ARG") {
    std::vector<std::string> words = words_of(rest, escape);
    if (words.empty())
      at.fail("ARG requires at least one argument");
    for (const auto &w : words) {
      size_t eq = w.find('=');
      if (eq == 0)
        at.fail("ARG names can not be blank");
      if (eq == std::string::npos)
        in.pairs.push_back({w, "", false});
      else
        in.pairs.push_back({w.substr(0, eq), w.substr(eq + 1), true});
    }
  } else if (k == "HEALTHCHECK") {
    std::vector<std::string> f = fields(trimmed);
    if (f.empty())
      at.fail("HEALTHCHECK requires an argument (CMD or NONE)");
    in.health_type = upper(f[0]);
    std::string_view after = trim_left(trimmed.substr(f[0].size()));
    if (in.health_type == "NONE") {
      if (!after.empty())
        at.fail("HEALTHCHECK NONE takes no arguments");
      if (!in.flags.empty())
        at.fail("HEALTHCHECK NONE takes no flags");
    } else if (in.health_type == "CMD") {
      if (after.empty())
        at.fail("HEALTHCHECK CMD requires a command");
      maybe_json(in, after, at);
    } else {
      at.fail(cat("unknown type \"", printable(f[0], 20), "\" in HEALTHCHECK (try CMD)"));
    }
  } else if (k == "ONBUILD") {
    if (trimmed.empty())
      at.fail("ONBUILD requires at least one argument");
    std::vector<std::string> f = fields(trimmed);
    std::string sub = upper(f[0]);
    if (sub == "ONBUILD")
      at.fail("ONBUILD ONBUILD isn't allowed");
    if (sub == "FROM" || sub == "MAINTAINER")
      at.fail(cat(sub, " isn't allowed as an ONBUILD trigger"));
    Instruction t;
    t.line = in.line;
    t.original = std::string(trimmed);
    t.keyword = sub;
    if (std::find(keywords().begin(), keywords().end(), sub) == keywords().end())
      at.fail(cat("unknown instruction in ONBUILD: ", printable(f[0], 30)));
    std::string sub_rest;
    for (const auto &fl : take_flags(trimmed.substr(f[0].size()), sub_rest)) {
      size_t eq = fl.find('=');
      Flag flag{fl.substr(2, eq == std::string::npos ? std::string::npos : eq - 2),
                eq == std::string::npos ? "" : fl.substr(eq + 1), eq != std::string::npos};
      t.flags.push_back(flag);
    }
    for (const auto &fl : t.flags)
      if (!flag_allowed(sub, fl.name))
        at.fail(cat(buildkit_only_flag(sub, fl.name) ? "BuildKit-only flag, not supported: --"
                                                     : "unknown flag: --",
                    printable(fl.name, 30), " (ONBUILD ", sub, ")"));
    parse_arguments(t, sub_rest, escape, at);
    in.trigger.push_back(std::move(t));
  }
}

// One instruction from its joined line.
Instruction instruction(std::string_view line, char escape, const Where &at) {
  line = trim(line);
  size_t sp = 0;
  while (sp < line.size() && !is_blank(line[sp]))
    ++sp;
  Instruction in;
  in.line = at.line;
  in.original = std::string(line);
  in.keyword = upper(line.substr(0, sp));
  if (std::find(keywords().begin(), keywords().end(), in.keyword) == keywords().end()) {
    std::string msg = cat("unknown instruction: ", printable(line.substr(0, sp), 40));
    for (const auto &k : keywords())
      if (distance(in.keyword, k) <= std::max<size_t>(1, k.size() / 4)) {
        msg += cat(" (did you mean ", k, "?)");
        break;
      }
    at.fail(msg);
  }
  std::string rest;
  for (const auto &fl : take_flags(line.substr(sp), rest)) {
    size_t eq = fl.find('=');
    Flag flag{fl.substr(2, eq == std::string::npos ? std::string::npos : eq - 2),
              eq == std::string::npos ? "" : fl.substr(eq + 1), eq != std::string::npos};
    if (flag.name.empty())
      at.fail(cat("bad flag in ", in.keyword, ": ", printable(fl, 40)));
    if (!flag_allowed(in.keyword, flag.name))
      at.fail(cat(buildkit_only_flag(in.keyword, flag.name) ? "BuildKit-only flag, not supported: --"
                                                            : "unknown flag: --",
                  printable(flag.name, 30), " (", in.keyword, ")"));
    if (flag.name != "link" && !flag.has_value)
      at.fail(cat("missing a value on flag --", flag.name, " (", in.keyword, ")"));
    if (flag.name == "link" && flag.has_value && flag.value != "true" && flag.value != "false")
      at.fail(cat("expecting boolean value for flag --link, not: ", printable(flag.value, 30)));
    for (const auto &seen : in.flags)
      if (seen.name == flag.name)
        at.fail(cat("duplicate flag specified: --", flag.name, " (", in.keyword, ")"));
    in.flags.push_back(flag);
  }
  parse_arguments(in, rest, escape, at);
  return in;
}

// The escape character at the end of a line, blanks after it allowed, continues it.
bool continues(std::string &line, char escape) {
  size_t end = line.size();
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
    --end;
  if (end > 0 && line[end - 1] == escape) {
    line.resize(end - 1);
    return true;
  }
  return false;
}

} // namespace

std::optional<std::string> Instruction::flag(std::string_view name) const {
  for (const auto &f : flags)
    if (f.name == name)
      return f.value;
  return std::nullopt;
}

Dockerfile parse(std::string_view text, const std::string &file_name) {
  Dockerfile df;
  // Lines as Go's bufio.ScanLines gives them: without "\n" or "\r\n"; a BOM dropped.
  std::vector<std::string> lines;
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    text.remove_prefix(3);
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    std::string_view l = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!l.empty() && l.back() == '\r')
      l.remove_suffix(1);
    if (l.find('\0') != std::string_view::npos)
      throw Error(cat(file_name, ":", lines.size() + 1, ": a NUL byte: not a text file"));
    lines.emplace_back(l);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  bool directives_done = false, seen_escape = false, seen_syntax = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    int start = static_cast<int>(i + 1);
    Where at{file_name, start};
    std::string line(trim_left(lines[i]));
    if (!directives_done) {
      auto d = directive(line);
      if (!d || (d->first != "escape" && d->first != "syntax" && d->first != "check")) {
        directives_done = true;
      } else {
        if (d->first == "escape") {
          if (seen_escape)
            at.fail("only one escape parser directive can be used");
          if (d->second != "\\" && d->second != "`")
            at.fail(cat("invalid escape token '", printable(d->second, 10),
                        "' does not match ` or \\"));
          df.escape = d->second[0];
          seen_escape = true;
        } else if (d->first == "syntax") {
          if (seen_syntax)
            at.fail("only one syntax parser directive can be used");
          df.syntax = d->second;
          seen_syntax = true;
        }
        continue;
      }
    }
    if (line.empty() || line[0] == '#')
      continue;
    bool more = continues(line, df.escape);
    bool empty_continuation = false;
    while (more && i + 1 < lines.size()) {
      const std::string &next = lines[++i];
      if (is_comment(next))
        continue;
      if (trim_left(next).empty()) {
        empty_continuation = true;
        continue;
      }
      std::string part = next;
      more = continues(part, df.escape);
      line += part;
    }
    if (empty_continuation)
      df.warnings.push_back(cat(file_name, ":", start, ": empty continuation line"));
    if (trim(line).empty())
      continue;
    df.instructions.push_back(instruction(line, df.escape, at));
  }
  return df;
}

// ---- Substitution ------------------------------------------------------------------------

namespace {

// BuildKit's shell lexer over one word.
class Lexer {
public:
  Lexer(std::string_view s, const Env &env, char escape) : m_s(s), m_env(env), m_escape(escape) {}

  // Processes up to stop (or the end when stop is 0): the text, and its words.
  std::pair<std::string, std::vector<std::string>> process(char stop) {
    std::string result;
    Words words;
    while (!eof()) {
      char ch = peek();
      if (stop && ch == stop) {
        next();
        return {result, words.done()};
      }
      if (ch == '$') {
        std::string v = dollar();
        result += v;
        words.add(v);
      } else if (ch == '\'') {
        std::string v = single_quote();
        result += v;
        words.add_raw(v);
      } else if (ch == '"') {
        std::string v = double_quote();
        result += v;
        words.add_raw(v);
      } else {
        next();
        if (ch == m_escape) {
          if (eof())
            break;
          ch = next();
          words.add_raw(std::string(1, ch));
        } else {
          words.add(std::string(1, ch));
        }
        result += ch;
      }
    }
    if (stop)
      fail(cat("unexpected end of statement while looking for matching ", stop));
    return {result, words.done()};
  }

private:
  // Words as a shell splits them: unquoted blanks separate, quoted text sticks.
  struct Words {
    std::string word;
    std::vector<std::string> list;
    bool in_word = false;
    void add(const std::string &s) {
      for (char c : s) {
        if (is_blank(c)) {
          if (in_word && !word.empty()) {
            list.push_back(word);
            word.clear();
            in_word = false;
          }
        } else {
          word += c;
          in_word = true;
        }
      }
    }
    void add_raw(const std::string &s) {
      word += s;
      in_word = true;
    }
    std::vector<std::string> done() {
      if (!word.empty())
        list.push_back(word);
      word.clear();
      in_word = false;
      return list;
    }
  };

  bool eof() const { return m_pos >= m_s.size(); }
  char peek() const { return eof() ? 0 : m_s[m_pos]; }
  char next() { return eof() ? 0 : m_s[m_pos++]; }
  [[noreturn]] void fail(const std::string &why) const {
    throw Error(cat("bad substitution in \"", printable(m_s, 60), "\": ", why));
  }

  std::string single_quote() {
    next();
    std::string r;
    for (;;) {
      if (eof())
        fail("unexpected end of statement while looking for matching single-quote");
      char ch = next();
      if (ch == '\'')
        return r;
      r += ch;
    }
  }

  std::string double_quote() {
    next();
    std::string r;
    for (;;) {
      if (eof())
        fail("unexpected end of statement while looking for matching double-quote");
      char ch = peek();
      if (ch == '"') {
        next();
        return r;
      }
      if (ch == '$') {
        r += dollar();
        continue;
      }
      next();
      if (ch == m_escape) {
        if (eof())
          continue;
        char n = peek();
        if (n == '"' || n == '$' || n == m_escape)
          ch = next();
      }
      r += ch;
    }
  }

  // A name: letters, digits and _; or digits alone ($1); or one special parameter ($@).
  std::string name() {
    std::string n;
    if (text::is_digit(peek())) {
      while (text::is_digit(peek()))
        n += next();
      return n;
    }
    if (std::string_view("@*#?-$!0").find(peek()) != std::string_view::npos && !eof())
      return std::string(1, next());
    while (!eof() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_'))
      n += next();
    return n;
  }

  std::optional<std::string> get(const std::string &n) const {
    auto it = m_env.find(n);
    if (it == m_env.end())
      return std::nullopt;
    return it->second;
  }

  std::string dollar() {
    next(); // '$'
    if (peek() != '{') {
      std::string n = name();
      if (n.empty())
        return "$";
      return get(n).value_or("");
    }
    next(); // '{'
    if (eof())
      fail("missing '}'");
    if (peek() == '{' || peek() == '}' || peek() == ':')
      fail("bad substitution");
    std::string n = name();
    if (eof())
      fail("missing '}'");
    char ch = next();
    if (ch == '}')
      return get(n).value_or("");
    std::string modifier(1, ch);
    bool null_is_unset = false;
    if (ch == ':') {
      null_is_unset = true;
      ch = next();
      modifier += ch;
    }
    if (ch != '-' && ch != '+' && ch != '?')
      fail(cat("unsupported modifier (", modifier, ") in substitution"));
    std::string word;
    try {
      word = process('}').first;
    } catch (const Error &) {
      if (eof())
        fail("missing '}'");
      throw;
    }
    std::optional<std::string> value = get(n);
    bool unset = !value || (null_is_unset && value->empty());
    switch (ch) {
    case '-':
      return unset ? word : *value;
    case '+':
      return unset ? "" : word;
    default: // '?'
      if (unset)
        throw Error(cat(n, ": ", !word.empty() ? word
                                  : !value     ? "is not allowed to be unset"
                                               : "is not allowed to be empty"));
      return *value;
    }
  }

  std::string_view m_s;
  size_t m_pos = 0;
  const Env &m_env;
  char m_escape;
};

} // namespace

std::string expand(std::string_view word, const Env &env, char escape) {
  return Lexer(word, env, escape).process(0).first;
}

std::vector<std::string> expand_words(std::string_view text, const Env &env, char escape) {
  return Lexer(text, env, escape).process(0).second;
}

bool substitutes(std::string_view keyword) {
  static const std::vector<std::string_view> k = {"ADD",   "ARG",        "COPY", "ENV",
                                                  "EXPOSE", "FROM",      "LABEL", "STOPSIGNAL",
                                                  "USER",  "VOLUME",     "WORKDIR"};
  return std::find(k.begin(), k.end(), keyword) != k.end();
}

bool is_predefined_arg(std::string_view name) {
  static const std::vector<std::string_view> p = {
      "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
      "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};
  return std::find(p.begin(), p.end(), name) != p.end();
}

// ---- Stages ------------------------------------------------------------------------------

namespace {

bool valid_stage_name(const std::string &n) {
  if (n.empty() || !text::is_lower(n[0]))
    return false;
  for (char c : n)
    if (!text::is_lower_alnum(c) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

bool all_digits(std::string_view s) { return !s.empty() && text::all(s, text::is_digit); }

} // namespace

int Stages::target(std::string_view name) const {
  if (stages.empty())
    fail("the Dockerfile has no FROM: no stage to build");
  if (name.empty())
    return static_cast<int>(stages.size()) - 1;
  std::string lower = text::lower(name);
  for (const auto &s : stages)
    if (s.name == lower)
      return s.index;
  fail(cat("target stage \"", printable(name, 60), "\" could not be found"));
}

std::vector<int> Stages::needed(int target) const {
  std::vector<int> order;
  std::vector<int> state(stages.size(), 0); // 0 unseen, 1 on the path, 2 done
  std::function<void(int)> visit = [&](int i) {
    if (state[static_cast<size_t>(i)] == 2)
      return;
    const Stage &s = stages[static_cast<size_t>(i)];
    if (state[static_cast<size_t>(i)] == 1)
      fail(cat("circular dependency detected on stage: ", s.name.empty() ? std::to_string(i) : s.name));
    state[static_cast<size_t>(i)] = 1;
    if (s.base_stage >= 0)
      visit(s.base_stage);
    for (int d : s.copies_from)
      visit(d);
    state[static_cast<size_t>(i)] = 2;
    order.push_back(i);
  };
  visit(target);
  return order;
}

Stages stages(const Dockerfile &df, const Env &build_args, const std::string &file_name) {
  Stages out;
  size_t i = 0;
  // ARGs before the first FROM: only FROM lines see them (and a bare ARG in a stage).
  for (; i < df.instructions.size() && df.instructions[i].keyword != "FROM"; ++i) {
    const Instruction &in = df.instructions[i];
    Where at{file_name, in.line};
    if (in.keyword != "ARG")
      at.fail(cat(in.keyword, " before the first FROM: only ARG may come before FROM"));
    for (const auto &p : in.pairs) {
      std::string key = expand(p.key, out.global_args, df.escape);
      std::string value;
      if (auto it = build_args.find(key); it != build_args.end())
        value = it->second;
      else if (p.has_value)
        value = expand(p.value, out.global_args, df.escape);
      else
        continue; // declared, no value: unset
      out.global_args[key] = value;
      out.global_order.push_back(key);
    }
  }
  if (i == df.instructions.size())
    throw Error(cat(file_name, ": no FROM instruction: nothing to build"));
  for (; i < df.instructions.size(); ++i) {
    const Instruction &in = df.instructions[i];
    Where at{file_name, in.line};
    if (in.keyword == "FROM") {
      if (!out.stages.empty())
        out.stages.back().end = i;
      Stage s;
      s.index = static_cast<int>(out.stages.size());
      s.first = i + 1;
      s.end = df.instructions.size();
      try {
        s.base = expand(in.args[0], out.global_args, df.escape);
        if (auto p = in.flag("platform"))
          s.platform = expand(*p, out.global_args, df.escape);
      } catch (const Error &e) {
        at.fail(e.what());
      }
      if (s.base.empty())
        at.fail(cat("FROM names no image: \"", printable(in.args[0], 60), "\" is empty once substituted"));
      if (in.args.size() == 3) {
        s.name = text::lower(in.args[2]);
        if (!valid_stage_name(s.name))
          at.fail(cat("invalid name for build stage: \"", printable(in.args[2], 60),
                      "\", name can't start with a number or contain symbols"));
        for (const auto &o : out.stages)
          if (o.name == s.name)
            at.fail(cat("duplicate name for build stage: \"", s.name, "\""));
      }
      // FROM names an earlier stage, as docker's builders resolve it; a later one, or none,
      // is an image.
      std::string lower = text::lower(s.base);
      for (const auto &o : out.stages)
        if (!o.name.empty() && o.name == lower)
          s.base_stage = o.index;
      out.stages.push_back(s);
    }
  }
  // COPY --from=: a stage name (any stage; a cycle is found by needed()), a stage index, or
  // else an image.
  for (auto &s : out.stages) {
    for (size_t k = s.first; k < s.end; ++k) {
      const Instruction &in = df.instructions[k];
      auto from = in.keyword == "COPY" ? in.flag("from") : std::nullopt;
      if (!from)
        continue;
      Where at{file_name, in.line};
      std::string name;
      try {
        name = text::lower(expand(*from, out.global_args, df.escape));
      } catch (const Error &e) {
        at.fail(e.what());
      }
      if (all_digits(name)) {
        size_t n = std::stoul(name.substr(0, 9));
        if (name.size() > 9 || n >= out.stages.size())
          at.fail(cat("invalid stage index ", printable(name, 20), " in COPY --from: the file has ",
                      out.stages.size(), " stages"));
        s.copies_from.push_back(static_cast<int>(n));
        continue;
      }
      for (const auto &o : out.stages)
        if (!o.name.empty() && o.name == name)
          s.copies_from.push_back(o.index);
    }
  }
  return out;
}

void Scope::declare(const KeyValue &arg) {
  Env vars = lookup();
  std::string key = expand(arg.key, vars, m_escape);
  if (auto it = m_build_args.find(key); it != m_build_args.end())
    m_args[key] = it->second;
  else if (arg.has_value)
    m_args[key] = expand(arg.value, vars, m_escape);
  else if (auto g = m_global.find(key); g != m_global.end())
    m_args[key] = g->second;
  else
    m_args.erase(key); // declared without a value: unset, as docker's
}

Env Scope::lookup() const {
  Env vars = m_args;
  for (const auto &[k, v] : m_env)
    vars[k] = v;
  return vars;
}

Env Scope::run_args() const {
  Env r = m_args;
  for (const auto &[k, v] : m_build_args)
    if (is_predefined_arg(k) && !r.count(k))
      r[k] = v;
  return r;
}

void Scope::apply_env(const std::vector<KeyValue> &pairs) {
  Env before = lookup();
  std::vector<std::pair<std::string, std::string>> set;
  for (const auto &p : pairs)
    set.emplace_back(expand(p.key, before, m_escape), expand(p.value, before, m_escape));
  for (auto &[k, v] : set) {
    if (k.empty())
      fail("ENV names can not be blank");
    m_env[k] = v;
  }
}

} // namespace koker::dockerfile
