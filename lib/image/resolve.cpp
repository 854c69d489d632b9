// SPDX-License-Identifier: MIT
#include "image/resolve.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "image/reference.hpp"
#include <unistd.h>

namespace koker::image {

namespace {

// koker-pull alpine | koker-run - ...: the ID is the first line of stdin.
std::string read_id_from_stdin() {
  std::string line;
  char c;
  while (line.size() < 256 && ::read(0, &c, 1) == 1 && c != '\n')
    line.push_back(c);
  if (line.empty())
    fail("unable to read an image ID from stdin");
  return line;
}

} // namespace

store::ImageRecord find_or_pull(const store::Store &store, const std::string &name) {
  std::string query = name == "-" ? read_id_from_stdin() : name;
  std::string ref = registry::reference_key(query);
  if (auto img = store.find_image(query, ref))
    return *img;
  if (ref.empty() || name == "-")
    fail("no such image: ", printable(query));
  std::string exe = sys::dirname(sys::read_link("/proc/self/exe")) + "/koker-pull";
  log::info("unable to find image ", printable(query), " locally; pulling it");
  // koker-pull's own messages reach the user as they are; its stdout is the ID.
  sys::Ran pull = sys::run_program(exe, {"koker-pull", "-q", "--", query}, {}, false);
  if (pull.status != 0)
    fail("unable to pull ", printable(query));
  std::string id(text::trim(pull.out));
  if (auto img = store.find_image(id))
    return *img;
  fail("koker-pull did not store ", printable(query));
}

} // namespace koker::image
