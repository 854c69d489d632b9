// SPDX-License-Identifier: MIT
#include "oci_args.hpp"
#include "base/error.hpp"
#include "base/text.hpp"

namespace koker::oci_cli {

Args parse_args(const std::vector<std::string> &words, const std::map<std::string, bool> &known,
                const std::map<std::string, std::string> &shorts) {
  Args a;
  size_t i = 0;
  for (; i < words.size(); ++i) {
    const std::string &w = words[i];
    if (w == "--") {
      ++i;
      break;
    }
    if (w.size() < 2 || w[0] != '-')
      break;
    std::string name, value;
    bool has_value = false;
    if (w[1] == '-') {
      name = w.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
    } else {
      auto s = shorts.find(w);
      if (s == shorts.end())
        fail("flag provided but not defined: ", printable(w));
      name = s->second;
    }
    auto k = known.find(name);
    if (k == known.end())
      fail("flag provided but not defined: -", printable(name));
    if (k->second && !has_value) {
      if (i + 1 >= words.size())
        fail("flag needs an argument: --", name);
      value = words[++i];
    }
    a.flags[name] = value;
    a.all[name].push_back(value);
  }
  a.operands.assign(words.begin() + static_cast<long>(i), words.end());
  return a;
}

std::string one_id(const Args &a) {
  if (a.operands.empty())
    fail("container id cannot be empty");
  return a.operands[0];
}

bool on(const Args &a, const std::string &flag) {
  return a.has(flag) && a.get(flag) != "false";
}

} // namespace koker::oci_cli
