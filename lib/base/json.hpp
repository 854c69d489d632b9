// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
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
