// SPDX-License-Identifier: MIT
#include "image/resolve.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/sys.hpp"
#include "base/text.hpp"
#include "image/image.hpp"
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

store::ImageRecord find_or_pull(const store::Store &store, const std::string &name,
                                const std::string &pull, const std::string &platform) {
  std::string query = name == "-" ? read_id_from_stdin() : name;
  std::string ref = registry::reference_key(query);
  auto img = store.find_image(query, ref);
  if (img && !platform.empty() && pull != "always") {
    // docker: an image found for another platform is pulled for the one asked for
    Platform want = Platform::parse(platform);
    auto body = store.read_blob(img->id, max_config_size);
    Config cfg = parse_config(body ? *body : "{}");
    bool fits = cfg.os == want.os && cfg.arch == want.arch &&
                (want.variant.empty() || cfg.variant == want.variant);
    if (!fits) {
      std::string have = cat(cfg.os, "/", cfg.arch, cfg.variant.empty() ? "" : "/", cfg.variant);
      if (pull == "never" || ref.empty())
        fail("image with reference ", printable(query), " was found but does not match the ",
             "specified platform: wanted ", want.str(), ", actual: ", printable(have));
      log::info("image ", printable(query), " is stored for ", printable(have), ": pulling ",
                want.str());
      img.reset();
    }
  }
  if (img && (pull != "always" || ref.empty()))
    return *img;
  if (ref.empty() || name == "-" || pull == "never")
    fail("no such image: ", printable(query));
  std::string exe = sys::dirname(sys::read_link("/proc/self/exe")) + "/koker-pull";
  if (pull != "always")
    log::info("unable to find image ", printable(query), " locally; pulling it");
  std::vector<std::string> args{"koker-pull", "-q"};
  if (!platform.empty())
    args.insert(args.end(), {"--platform", platform});
  args.insert(args.end(), {"--", query});
  // koker-pull's own messages reach the user as they are; its stdout is the ID.
  sys::Ran ran = sys::run_program(exe, args, {}, false);
  if (ran.status != 0)
    fail("unable to pull ", printable(query));
  std::string id(text::trim(ran.out));
  if (auto pulled = store.find_image(id))
    return *pulled;
  fail("koker-pull did not store ", printable(query));
}

} // namespace koker::image
