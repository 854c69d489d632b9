// SPDX-License-Identifier: MIT
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace koker {

// Per-layer progress on stderr: a redrawn bar per layer when stderr is a terminal, else one
// line when a layer starts and one when it ends. Silent with --quiet. Thread-safe.
class Progress {
public:
  // push: "Pushing"/"pushing" where a pull says "Downloading"/"pulling".
  explicit Progress(size_t items, bool push = false);
  ~Progress();
  void start(size_t item, const std::string &label, uint64_t total);
  void advance(size_t item, uint64_t bytes);
  void finish(size_t item, const std::string &label, const std::string &state);

private:
  struct Item {
    std::string label, state;
    uint64_t done = 0, total = 0;
    std::chrono::steady_clock::time_point started;
  };
  void redraw(bool force);

  std::mutex m_mutex;
  std::vector<Item> m_items;
  bool m_tty;
  bool m_push;
  bool m_drawn = false;
  std::chrono::steady_clock::time_point m_last_draw;
};

} // namespace koker
