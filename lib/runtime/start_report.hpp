// SPDX-License-Identifier: MIT
#pragma once
#include <string_view>

// How a process that sets up a container (the cloned child, a koker-exec command, the -d
// supervisor) tells the process waiting for it how the start went: over a close-on-exec pipe.
// A failure is one byte, the exit code the waiting tool returns (125 setup, 126 cannot
// execute, 127 not found: docs/cli.md "Exit codes"), then a one-line message. "Ready" is one
// zero byte. End of file with nothing sent means execve succeeded (the pipe closed on exec).
namespace koker::start_report {

// Sends a failure; never throws (the sender is about to _exit).
void send(int fd, int code, std::string_view message);
// For a catch block: sends the exception being handled (a koker::Error with its exit code,
// anything else as an internal error, 125) and returns the code to exit with.
int send_current(int fd);
// Sends "ready" (the -d supervisor's container runs).
void send_ready(int fd);

// Reads fd to its end: throws Error(message, code) for a failure; true for "ready", false
// when nothing came (execve succeeded, or the sender died without a word).
bool wait(int fd);

} // namespace koker::start_report
