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
store::ImageRecord find_or_pull(const store::Store &store, const std::string &name);

} // namespace koker::image
