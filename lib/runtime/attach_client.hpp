// SPDX-License-Identifier: MIT
#pragma once
#include <optional>
#include <string>
#include <string_view>

// The attacher's side of the attach socket (runtime/attach_socket.hpp): koker-attach and
// koker-start -a/-i relay the user's terminal to a detached container through its supervisor,
// as docker attach does.
namespace koker::attach {

struct ClientOptions {
  bool stdin = false;      // send stdin (the container was made with -i; no --no-stdin)
  bool tty = false;        // the container has a pty: raw mode here, window sizes sent
  bool sig_proxy = true;   // without a tty, pass SIGINT, SIGTERM, ... on to the container
  std::string detach_keys; // the bytes that detach (with a tty), from parse_detach_keys
};

// docker's --detach-keys: "ctrl-p,ctrl-q" (the default) or any comma-separated list of
// ctrl-<a-z, @, [, \, ], ^, _> and single characters; "" disables detaching. Throws Error
// (usage) naming a bad key.
std::string parse_detach_keys(std::string_view spec);

// Relays until the container's run ends (its exit code), or the user detaches or the
// supervisor lets go of this attacher while the container runs on (nullopt).
std::optional<int> relay(int sock, const ClientOptions &o);

// Attaches to the container id of the store root as docker attach does: through sock, its
// attach socket (a -i or -t container), or else by following its log (output only, with
// sig_proxy's signals sent to its process). Returns the run's exit code; after a detach, or
// once let go, the container's code if it ended meanwhile, else 0.
int attach_and_wait(const std::string &root, const std::string &id, int sock,
                    const ClientOptions &o);

} // namespace koker::attach
