// SPDX-License-Identifier: MIT
#pragma once
// koker-run's command line: its usage text and the parser that checks every option before
// anything touches the host (bwrap's rule). What the options make is lib/runtime/create.hpp.
#include "runtime/create.hpp"

namespace koker::run {

extern const char USAGE[];

// Parses and checks every option; a usage error (125) for anything wrong.
create::Options parse(int argc, char **argv);

} // namespace koker::run
