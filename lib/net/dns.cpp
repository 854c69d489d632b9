// SPDX-License-Identifier: MIT
#include "net/dns.hpp"
#include "base/text.hpp"

namespace koker::net::dns {

namespace {

uint16_t u16(std::string_view m, size_t at) {
  return static_cast<uint16_t>((static_cast<unsigned char>(m[at]) << 8) |
                               static_cast<unsigned char>(m[at + 1]));
}
void put16(std::string &out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}
void put32(std::string &out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}

// Header: ID, then QR 1, the query's opcode and RD, RA 1, rcode; the counts.
std::string header(std::string_view query, int rcode, uint16_t questions, uint16_t answers) {
  std::string out(query.substr(0, 2));
  auto flags = static_cast<unsigned char>(query[2]);
  out += static_cast<char>(0x80 | (flags & 0x79)); // QR, opcode, RD (AA and TC clear)
  out += static_cast<char>(0x80 | (rcode & 0x0f)); // RA, rcode
  put16(out, questions);
  put16(out, answers);
  put16(out, 0);
  put16(out, 0);
  return out;
}

} // namespace

std::optional<Question> parse_query(std::string_view m) {
  if (m.size() < 12 || (m[2] & 0x80) || (m[2] & 0x78) || u16(m, 4) != 1)
    return std::nullopt;
  Question q;
  size_t at = 12;
  for (;;) {
    if (at >= m.size())
      return std::nullopt;
    auto len = static_cast<unsigned char>(m[at++]);
    if (len == 0)
      break;
    if (len > 63 || at + len > m.size() || q.name.size() + len > 253)
      return std::nullopt; // compression pointers have no place in a question
    if (!q.name.empty())
      q.name += '.';
    q.name += text::lower(m.substr(at, len));
    at += len;
  }
  if (at + 4 > m.size())
    return std::nullopt;
  q.type = u16(m, at);
  q.klass = u16(m, at + 2);
  q.end = at + 4;
  return q;
}

std::string answer(std::string_view query, const Question &q, const std::vector<uint32_t> &a,
                   uint32_t ttl) {
  std::string out = header(query, 0, 1, static_cast<uint16_t>(a.size()));
  out += query.substr(12, q.end - 12);
  for (uint32_t addr : a) {
    put16(out, 0xc00c); // the name: a pointer to the question's
    put16(out, type_a);
    put16(out, class_in);
    put32(out, ttl);
    put16(out, 4);
    put32(out, addr);
  }
  return out;
}

std::string error_reply(std::string_view query, const Question *q, int rcode) {
  if (query.size() < 12)
    return "";
  std::string out = header(query, rcode, q ? 1 : 0, 0);
  if (q)
    out += query.substr(12, q->end - 12);
  return out;
}

} // namespace koker::net::dns
