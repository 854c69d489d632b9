// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The few DNS messages (RFC 1035) a network's resolver handles: a query's first question,
// and a reply to it with A records, no data, or an error code. Addresses are in host order.
namespace koker::net::dns {

constexpr uint16_t type_a = 1, type_aaaa = 28, class_in = 1;
constexpr int rcode_formerr = 1, rcode_servfail = 2, rcode_nxdomain = 3, rcode_notimp = 4;

struct Question {
  std::string name; // lowercase, without the final dot
  uint16_t type = 0, klass = 0;
  size_t end = 0; // where the question ends in the message
};

// The question of a standard query (QR 0, opcode 0, one question); nothing for anything else
// or a message cut short.
std::optional<Question> parse_query(std::string_view msg);
// The reply to query: its ID, RD and question, RA set, and an A record for each address
// (none: "no data", NOERROR).
std::string answer(std::string_view query, const Question &q, const std::vector<uint32_t> &a,
                   uint32_t ttl);
// A reply carrying only rcode, with the question when q is given (it parsed).
std::string error_reply(std::string_view query, const Question *q, int rcode);

} // namespace koker::net::dns
