// SPDX-License-Identifier: MIT
#include "base/progress.hpp"
#include "base/error.hpp"
#include "base/humanize.hpp"
#include "base/log.hpp"
#include <cstdio>
#include <unistd.h>

namespace koker {

Progress::Progress(size_t items, bool push)
    : m_items(items), m_tty(log::info_on() && ::isatty(2) && !log::debug_on()), m_push(push) {}

Progress::~Progress() {
  std::lock_guard<std::mutex> g(m_mutex);
  if (m_tty && m_drawn)
    redraw(true);
}

void Progress::start(size_t item, const std::string &label, uint64_t total) {
  std::lock_guard<std::mutex> g(m_mutex);
  Item &it = m_items.at(item);
  it.label = label;
  it.total = total;
  it.state = m_push ? "Pushing" : "Downloading";
  it.started = std::chrono::steady_clock::now();
  if (m_tty)
    redraw(false);
  else
    log::info(label, m_push ? ": pushing " : ": pulling ", human_size(total));
}

void Progress::advance(size_t item, uint64_t bytes) {
  std::lock_guard<std::mutex> g(m_mutex);
  m_items.at(item).done += bytes;
  if (m_tty)
    redraw(false);
}

void Progress::finish(size_t item, const std::string &label, const std::string &state) {
  std::lock_guard<std::mutex> g(m_mutex);
  Item &it = m_items.at(item);
  it.label = label;
  it.state = state;
  if (m_tty) {
    redraw(true);
    return;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - it.started)
                .count();
  log::info(it.label, ": ", state, it.done ? cat(" (", human_size(it.done), " in ", ms, " ms)") : "");
}

void Progress::redraw(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && m_drawn && now - m_last_draw < std::chrono::milliseconds(100))
    return;
  m_last_draw = now;
  std::string s;
  if (m_drawn)
    s += cat("\x1b[", m_items.size(), "A"); // back to the first bar
  for (const auto &it : m_items) {
    s += "\r\x1b[2K";
    if (!it.label.empty()) {
      const int width = 30;
      int filled = it.total ? static_cast<int>(width * std::min<uint64_t>(it.done, it.total) /
                                               it.total)
                            : 0;
      s += cat(it.label, ": ", it.state, " [", std::string(static_cast<size_t>(filled), '='),
               std::string(static_cast<size_t>(width - filled), ' '), "] ",
               human_size(it.done), "/", human_size(it.total));
    }
    s += "\n";
  }
  m_drawn = true;
  ssize_t ignored = ::write(2, s.data(), s.size());
  (void)ignored;
}

} // namespace koker
