// SPDX-License-Identifier: MIT
#pragma once
#include "store/store.hpp"
#include <string>

namespace koker::image {

// The image a command line names (koker-run's IMAGE): an ID, a unique ID prefix, a reference
// in the store, or "-" for an ID read from stdin (koker-pull alpine | koker-run - ...). A
// reference not in the store is pulled first, as docker does, by running koker-pull beside
// this tool, so that tools which run containers never link the HTTP stack. Throws Error("no
// such image: ...") when it cannot be found or pulled.
// pull is docker's --pull: "missing" (the above), "always" (koker-pull even when stored; an
// ID is used as stored, there is nothing to pull it by) or "never" (Error "no such image"
// instead of a pull). platform ("linux/arm64", "" for any) goes to koker-pull; an image
// stored for another platform is pulled again for it, or with "never" refused, as docker.
store::ImageRecord find_or_pull(const store::Store &store, const std::string &name,
                                const std::string &pull = "missing",
                                const std::string &platform = "");

} // namespace koker::image
