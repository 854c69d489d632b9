// SPDX-License-Identifier: MIT
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>

// Work on a few threads: how pull fetches layers and push sends blobs, each a stream of its
// own, so the network and both cores stay busy while one of them waits.
namespace koker::parallel {

// Runs job(i, cancelled) for every i below count, on at most max_threads threads (this one
// among them), each taking the next i in turn. The first job to throw sets cancelled, which
// keeps the others from starting new work (a long job may read it to stop early); failed(i)
// runs for each job that threw. Returns once every thread is done, rethrowing the first
// exception.
// How many threads count small jobs are worth (a record to read, a /proc file): one below
// 64, else the cores, at most 4.
size_t threads_for(size_t count);

void for_each(size_t count, size_t max_threads,
              const std::function<void(size_t, const std::atomic<bool> &)> &job,
              const std::function<void(size_t)> &failed = {});

} // namespace koker::parallel
