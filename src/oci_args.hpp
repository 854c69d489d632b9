// SPDX-License-Identifier: MIT
#pragma once
#include <map>
#include <string>
#include <vector>

// koker-oci's command words as runc (urfave/cli) reads them: --name value, --name=value, -x;
// flags stop at the first operand, so a container's command keeps its own.
namespace koker::oci_cli {

struct Args {
  std::map<std::string, std::string> flags;            // the last value of each
  std::map<std::string, std::vector<std::string>> all; // every value, in order
  std::vector<std::string> operands;
  bool has(const std::string &f) const { return flags.count(f) > 0; }
  std::string get(const std::string &f, const std::string &fallback = "") const {
    auto it = flags.find(f);
    return it == flags.end() ? fallback : it->second;
  }
};

// known: flag name -> whether it takes a value; shorts: "-d" -> "detach". Throws Error in
// runc's words for an unknown flag or a missing value.
Args parse_args(const std::vector<std::string> &words, const std::map<std::string, bool> &known,
                const std::map<std::string, std::string> &shorts = {});
// The first operand: the container's ID. Throws Error when there is none.
std::string one_id(const Args &a);
// A bool flag given as --flag=false is off.
bool on(const Args &a, const std::string &flag);

} // namespace koker::oci_cli
