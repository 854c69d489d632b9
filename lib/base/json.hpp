// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace koker::json {

// A JSON document as a small tree. Numbers keep their source text, so 64-bit sizes survive a
// round trip; object members keep their order (docker's output order is the writer's).
class Value {
public:
  enum class Type { null, boolean, number, string, array, object };
  using Member = std::pair<std::string, Value>;

  Value() = default;
  Value(bool b) : m_type(Type::boolean), m_bool(b) {}
  Value(int v) : Value(static_cast<int64_t>(v)) {}
  Value(int64_t v) : m_type(Type::number), m_text(std::to_string(v)) {}
  Value(uint64_t v) : m_type(Type::number), m_text(std::to_string(v)) {}
  Value(std::string s) : m_type(Type::string), m_text(std::move(s)) {}
  Value(std::string_view s) : Value(std::string(s)) {}
  Value(const char *s) : Value(std::string(s)) {}
  static Value array() { return Value(Type::array); }
  static Value object() { return Value(Type::object); }
  // A number from its JSON text (already checked by the parser).
  static Value number_text(std::string text);
  // Any JSON text, already serialized and valid, that dump() writes as it is: a large
  // document built as text costs no tree of Values.
  static Value raw(std::string json_text) { return number_text(std::move(json_text)); }

  Type type() const { return m_type; }
  bool is_null() const { return m_type == Type::null; }
  bool is_string() const { return m_type == Type::string; }
  bool is_number() const { return m_type == Type::number; }
  bool is_object() const { return m_type == Type::object; }
  bool is_array() const { return m_type == Type::array; }

  // Accessors throw Error("unexpected JSON type ...") on a type mismatch.
  const std::string &as_string() const;
  int64_t as_int() const; // integral numbers only
  bool as_bool() const;
  const std::vector<Value> &items() const;
  const std::vector<Member> &members() const;

  // The member named key of an object, or nullptr (also when this is not an object).
  Value *find(std::string_view key);
  const Value *find(std::string_view key) const;
  // The string member key, or fallback when missing or not a string.
  std::string get_string(std::string_view key, std::string_view fallback = "") const;
  // Sets (replaces or appends) an object member; returns it.
  Value &set(std::string_view key, Value v);
  // Appends to an array; returns the new element.
  Value &push(Value v);

  // Serialises: compact with indent < 0, else pretty with that many spaces a level.
  std::string dump(int indent = -1) const;

private:
  explicit Value(Type t) : m_type(t) {}
  void dump_to(std::string &out, int indent, int depth) const;

  Type m_type = Type::null;
  bool m_bool = false;
  std::string m_text;
  std::vector<Value> m_items;
  std::vector<Member> m_members;
};

// The name of a JSON type: "a string", "a number", "an object", ...
const char *type_name(Value::Type type);

// Typed reads of an object's members, for documents koker did not write itself or must not
// misread (image configs, records, indexes). A member that is absent or null gives the
// fallback; one of another type, or a string holding a NUL byte, is an Error naming the
// document and the key ("invalid image config: \"User\" is a number, not a string"), never a
// silent default: an image's "User": 123 must not run as root.
class Fields {
public:
  // what names the document in messages: a file's path, "image config". obj may be null
  // (every member absent); any other non-object is an Error.
  Fields(const Value *obj, std::string what);
  std::string string(std::string_view key, std::string_view fallback = "") const;
  // An array of strings.
  std::vector<std::string> strings(std::string_view key) const;
  int64_t integer(std::string_view key, int64_t fallback = 0) const;
  bool boolean(std::string_view key, bool fallback = false) const;
  // An object whose members are all strings (labels), as a map.
  std::map<std::string, std::string> string_map(std::string_view key) const;
  // A member that is an object, read the same way ("Config.User" in messages).
  Fields object(std::string_view key) const;
  // An element of an array, an object (or null: every member absent), read the same way;
  // path names it in messages, whole ("mounts[2]", "linux.devices[0]").
  Fields element(const Value &v, std::string_view path) const;
  // The member itself, unchecked, or nullptr.
  const Value *find(std::string_view key) const;

private:
  const Value *get(std::string_view key, Value::Type want, const char *want_name) const;
  [[noreturn]] void bad(std::string_view key, const std::string &why) const;
  const Value *m_obj;
  std::string m_what, m_prefix;
};

// Parses text as one JSON value; throws Error("malformed JSON in <what>") on any defect, or
// when it holds more than max_tokens values.
Value parse(std::string_view text, std::string_view what, size_t max_tokens = 1 << 20);
// A JSON array of strings.
Value string_array(const std::vector<std::string> &list);
// The strings of an array (other elements skipped); empty for nullptr or a non-array.
std::vector<std::string> string_list(const Value *v);
// text as a quoted, escaped JSON string.
std::string quote(std::string_view text);

} // namespace koker::json
