// SPDX-License-Identifier: MIT
#include "base/json.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include <cstdlib>
#include <memory>

// jsmn is header-only: this file is its one includer, with strict mode on so that primitives
// must start like JSON literals and keys must be strings.
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

namespace koker::json {

Value Value::number_text(std::string text) {
  Value v(Type::number);
  v.m_text = std::move(text);
  return v;
}

const char *type_name(Value::Type type) {
  switch (type) {
  case Value::Type::null: return "null";
  case Value::Type::boolean: return "a boolean";
  case Value::Type::number: return "a number";
  case Value::Type::string: return "a string";
  case Value::Type::array: return "an array";
  case Value::Type::object: return "an object";
  }
  return "?";
}

namespace {
[[noreturn]] void type_error(std::string_view want, Value::Type got) {
  throw Error(cat("unexpected JSON type: expected ", want, ", got ", type_name(got)));
}
} // namespace

const std::string &Value::as_string() const {
  if (m_type != Type::string)
    type_error("a string", m_type);
  return m_text;
}

int64_t Value::as_int() const {
  if (m_type != Type::number)
    type_error("a number", m_type);
  const char *s = m_text.c_str();
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(s, &end, 10);
  if (errno || *end)
    type_error("an integer", m_type);
  return v;
}

bool Value::as_bool() const {
  if (m_type != Type::boolean)
    type_error("a boolean", m_type);
  return m_bool;
}

const std::vector<Value> &Value::items() const {
  if (m_type != Type::array)
    type_error("an array", m_type);
  return m_items;
}

const std::vector<Value::Member> &Value::members() const {
  if (m_type != Type::object)
    type_error("an object", m_type);
  return m_members;
}

const Value *Value::find(std::string_view key) const {
  if (m_type != Type::object)
    return nullptr;
  for (const auto &m : m_members)
    if (m.first == key)
      return &m.second;
  return nullptr;
}

Value *Value::find(std::string_view key) {
  return const_cast<Value *>(static_cast<const Value *>(this)->find(key));
}

std::string Value::get_string(std::string_view key, std::string_view fallback) const {
  const Value *v = find(key);
  return v && v->is_string() ? v->m_text : std::string(fallback);
}

Value &Value::set(std::string_view key, Value v) {
  if (m_type != Type::object)
    type_error("an object", m_type);
  for (auto &m : m_members)
    if (m.first == key)
      return m.second = std::move(v);
  m_members.emplace_back(std::string(key), std::move(v));
  return m_members.back().second;
}

Value &Value::push(Value v) {
  if (m_type != Type::array)
    type_error("an array", m_type);
  m_items.push_back(std::move(v));
  return m_items.back();
}

Fields::Fields(const Value *obj, std::string what) : m_obj(obj), m_what(std::move(what)) {
  if (m_obj && !m_obj->is_null() && !m_obj->is_object())
    fail("invalid ", m_what, ": ", type_name(m_obj->type()), " where an object belongs");
}

void Fields::bad(std::string_view key, const std::string &why) const {
  fail("invalid ", m_what, ": \"", m_prefix, key, "\" ", why);
}

const Value *Fields::find(std::string_view key) const {
  return m_obj ? m_obj->find(key) : nullptr;
}

const Value *Fields::get(std::string_view key, Value::Type want, const char *want_name) const {
  const Value *v = find(key);
  if (!v || v->is_null())
    return nullptr;
  if (v->type() != want)
    bad(key, cat("is ", type_name(v->type()), ", not ", want_name));
  return v;
}

std::string Fields::string(std::string_view key, std::string_view fallback) const {
  const Value *v = get(key, Value::Type::string, "a string");
  if (!v)
    return std::string(fallback);
  if (v->as_string().find('\0') != std::string::npos)
    bad(key, "holds a NUL byte");
  return v->as_string();
}

std::vector<std::string> Fields::strings(std::string_view key) const {
  std::vector<std::string> out;
  const Value *v = get(key, Value::Type::array, "an array of strings");
  if (!v)
    return out;
  for (const auto &item : v->items()) {
    if (!item.is_string())
      bad(key, cat("holds ", type_name(item.type()), ", not only strings"));
    if (item.as_string().find('\0') != std::string::npos)
      bad(key, "holds a NUL byte");
    out.push_back(item.as_string());
  }
  return out;
}

std::map<std::string, std::string> Fields::string_map(std::string_view key) const {
  std::map<std::string, std::string> out;
  const Value *v = get(key, Value::Type::object, "an object");
  if (!v)
    return out;
  Fields members = object(key);
  for (const auto &m : v->members())
    out[m.first] = members.string(m.first); // a string, or an Error naming the member
  return out;
}

int64_t Fields::integer(std::string_view key, int64_t fallback) const {
  const Value *v = get(key, Value::Type::number, "a number");
  if (!v)
    return fallback;
  try {
    return v->as_int();
  } catch (const Error &) {
    bad(key, "is not a whole number");
  }
}

bool Fields::boolean(std::string_view key, bool fallback) const {
  const Value *v = get(key, Value::Type::boolean, "a boolean");
  return v ? v->as_bool() : fallback;
}

Fields Fields::object(std::string_view key) const {
  Fields f(get(key, Value::Type::object, "an object"), m_what);
  f.m_prefix = cat(m_prefix, key, ".");
  return f;
}

Fields Fields::element(const Value &v, std::string_view path) const {
  if (!v.is_null() && !v.is_object())
    fail("invalid ", m_what, ": \"", path, "\" is ", type_name(v.type()), ", not an object");
  Fields f(v.is_null() ? nullptr : &v, m_what);
  f.m_prefix = cat(path, ".");
  return f;
}

Value string_array(const std::vector<std::string> &list) {
  Value a = Value::array();
  for (const auto &s : list)
    a.push(Value(s));
  return a;
}

std::vector<std::string> string_list(const Value *v) {
  std::vector<std::string> out;
  if (v && v->is_array())
    for (const auto &s : v->items())
      if (s.is_string())
        out.push_back(s.as_string());
  return out;
}

std::string quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (unsigned char c : text) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default:
      if (c < 0x20) {
        out += "\\u00" + text::hex(std::string_view(reinterpret_cast<const char *>(&c), 1));
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
  }
  out.push_back('"');
  return out;
}

void Value::dump_to(std::string &out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent < 0)
      return;
    out.push_back('\n');
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  switch (m_type) {
  case Type::null: out += "null"; break;
  case Type::boolean: out += m_bool ? "true" : "false"; break;
  case Type::number: out += m_text; break;
  case Type::string: out += quote(m_text); break;
  case Type::array:
    if (m_items.empty()) {
      out += "[]";
      break;
    }
    out.push_back('[');
    for (size_t i = 0; i < m_items.size(); ++i) {
      if (i)
        out.push_back(',');
      newline(depth + 1);
      m_items[i].dump_to(out, indent, depth + 1);
    }
    newline(depth);
    out.push_back(']');
    break;
  case Type::object:
    if (m_members.empty()) {
      out += "{}";
      break;
    }
    out.push_back('{');
    for (size_t i = 0; i < m_members.size(); ++i) {
      if (i)
        out.push_back(',');
      newline(depth + 1);
      out += quote(m_members[i].first);
      out += indent < 0 ? ":" : ": ";
      m_members[i].second.dump_to(out, indent, depth + 1);
    }
    newline(depth);
    out.push_back('}');
    break;
  }
}

std::string Value::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

namespace {

class Builder {
public:
  Builder(std::string_view text, const jsmntok_t *toks, int count, std::string_view what)
      : m_text(text), m_toks(toks), m_count(count), m_what(what) {}

  Value build(int &i, int depth) {
    if (i >= m_count || depth > 200)
      bad();
    const jsmntok_t &t = m_toks[i++];
    std::string_view raw = m_text.substr(static_cast<size_t>(t.start),
                                         static_cast<size_t>(t.end - t.start));
    switch (t.type) {
    case JSMN_STRING:
      return Value(unescape(raw));
    case JSMN_PRIMITIVE:
      return primitive(raw);
    case JSMN_ARRAY: {
      Value a = Value::array();
      for (int k = 0; k < t.size; ++k)
        a.push(build(i, depth + 1));
      return a;
    }
    case JSMN_OBJECT: {
      Value o = Value::object();
      for (int k = 0; k < t.size; ++k) {
        if (i >= m_count || m_toks[i].type != JSMN_STRING)
          bad();
        Value key = build(i, depth + 1);
        o.set(key.as_string(), build(i, depth + 1));
      }
      return o;
    }
    default:
      bad();
    }
  }

private:
  [[noreturn]] void bad() const { throw Error(cat("malformed JSON in ", m_what)); }

  Value primitive(std::string_view raw) const {
    if (raw == "true")
      return Value(true);
    if (raw == "false")
      return Value(false);
    if (raw == "null")
      return Value();
    // RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    size_t p = 0;
    auto digits = [&] {
      size_t s = p;
      while (p < raw.size() && raw[p] >= '0' && raw[p] <= '9')
        ++p;
      return p > s;
    };
    if (p < raw.size() && raw[p] == '-')
      ++p;
    if (p < raw.size() && raw[p] == '0')
      ++p;
    else if (!digits())
      bad();
    if (p < raw.size() && raw[p] == '.') {
      ++p;
      if (!digits())
        bad();
    }
    if (p < raw.size() && (raw[p] == 'e' || raw[p] == 'E')) {
      ++p;
      if (p < raw.size() && (raw[p] == '+' || raw[p] == '-'))
        ++p;
      if (!digits())
        bad();
    }
    if (p != raw.size())
      bad();
    return Value::number_text(std::string(raw));
  }

  static void put_utf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  uint32_t hex4(std::string_view raw, size_t at) const {
    if (at + 4 > raw.size())
      bad();
    uint32_t v = 0;
    for (size_t k = at; k < at + 4; ++k) {
      char c = raw[k];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        bad();
    }
    return v;
  }

  std::string unescape(std::string_view raw) const {
    std::string out;
    out.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (static_cast<unsigned char>(c) < 0x20)
        bad();
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (++i >= raw.size())
        bad();
      switch (raw[i]) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        uint32_t cp = hex4(raw, i + 1);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < raw.size() + 0 && raw[i + 1] == '\\' &&
            raw[i + 2] == 'u') {
          uint32_t lo = hex4(raw, i + 3);
          if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        put_utf8(out, cp);
        break;
      }
      default:
        bad();
      }
    }
    return out;
  }

  std::string_view m_text;
  const jsmntok_t *m_toks;
  int m_count;
  std::string_view m_what;
};

} // namespace

Value parse(std::string_view text, std::string_view what, size_t max_tokens) {
  auto bad = [&] { return Error(cat("malformed JSON in ", what)); };
  // jsmn works on unsigned int lengths and int token counts.
  if (text.size() > (1u << 30))
    throw bad();
  // A token takes at least one character and a separator ("[[]]": 2 in 4), so a small
  // document is parsed in one pass into room for size / 2 + 1 tokens: koker-ps parses a
  // record per container, and the counting pass was half its JSON time. A large one (a
  // manifest list, a config) is counted first rather than given megabytes of tokens.
  constexpr size_t ONE_PASS = 64 * 1024;
  jsmn_parser p;
  jsmn_init(&p);
  int n = text.size() <= ONE_PASS ? static_cast<int>(text.size() / 2 + 1)
                                  : jsmn_parse(&p, text.data(), text.size(), nullptr, 0);
  if (n <= 0)
    throw bad();
  std::unique_ptr<jsmntok_t[]> toks(new jsmntok_t[static_cast<size_t>(n)]);
  jsmn_init(&p);
  n = jsmn_parse(&p, text.data(), text.size(), toks.get(), static_cast<unsigned>(n));
  if (n <= 0 || static_cast<size_t>(n) > max_tokens)
    throw bad();
  // Exactly one value, surrounded by nothing but white space.
  for (size_t k = static_cast<size_t>(toks[0].end); k < text.size(); ++k)
    if (text[k] != ' ' && text[k] != '\n' && text[k] != '\r' && text[k] != '\t')
      throw bad();
  Builder b(text, toks.get(), n, what);
  int i = 0;
  Value v = b.build(i, 0);
  if (i != n)
    throw bad();
  return v;
}

} // namespace koker::json
