// SPDX-License-Identifier: MIT
#pragma once
// koker-run's command line: its usage text and the parser that checks every option before
// anything touches the host (bwrap's rule). What the options make is lib/runtime/create.hpp.
#include "runtime/create.hpp"

namespace koker::run {

extern const char USAGE[], CREATE_USAGE[];

enum class Tool { run, create };
// Parses and checks every option; a usage error (125) for anything wrong. koker-create's
// containers are started detached (koker-start): no -d, and --log-opt allowed.
create::Options parse(int argc, char **argv, Tool tool = Tool::run);

} // namespace koker::run
