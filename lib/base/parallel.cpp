// SPDX-License-Identifier: MIT
#include "base/parallel.hpp"
#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace koker::parallel {

void for_each(size_t count, size_t max_threads,
              const std::function<void(size_t, const std::atomic<bool> &)> &job,
              const std::function<void(size_t)> &failed) {
  std::atomic<size_t> next{0};
  std::atomic<bool> cancelled{false};
  std::mutex error_mutex;
  std::exception_ptr first_error;
  auto worker = [&] {
    for (size_t i; (i = next++) < count;) {
      if (cancelled)
        return;
      try {
        job(i, cancelled);
      } catch (...) {
        std::lock_guard<std::mutex> g(error_mutex);
        if (!first_error)
          first_error = std::current_exception();
        cancelled = true;
        if (failed)
          failed(i);
      }
    }
  };
  size_t n = std::min(max_threads, count);
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t)
    threads.emplace_back(worker);
  worker();
  for (auto &t : threads)
    t.join();
  if (first_error)
    std::rethrow_exception(first_error);
}

size_t threads_for(size_t count) {
  return count < 64 ? 1 : std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
}

} // namespace koker::parallel
