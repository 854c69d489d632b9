// SPDX-License-Identifier: MIT
#include "image/parallel_writes.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include <archive.h>
#include <archive_entry.h>
#include <clocale>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <locale.h>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace koker::archive {

namespace {

// Bytes of file content queued at most: enough to keep the workers fed, small for memory.
constexpr size_t max_queued = size_t(16) << 20;

struct Job {
  archive_entry *entry;
  std::string data, path, shown;
};

// The ancestors of path ("a", "a/b" for "a/b/c").
std::vector<std::string> ancestors(const std::string &path) {
  std::vector<std::string> out;
  for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1))
    out.push_back(path.substr(0, i));
  return out;
}

} // namespace

struct ParallelWrites::Impl {
  std::string what;
  std::mutex mu;
  std::condition_variable work, done;
  std::deque<Job> queue;
  size_t queued_bytes = 0, busy = 0;
  bool stopping = false;
  std::exception_ptr failure;
  std::unordered_set<std::string> files;          // queued or being written
  std::unordered_map<std::string, size_t> parents; // their ancestors, counted
  std::vector<struct archive *> writers;
  std::vector<std::thread> threads;

  void forget(const Job &j) { // with mu held
    files.erase(j.path);
    for (const auto &a : ancestors(j.path))
      if (--parents[a] == 0)
        parents.erase(a);
    queued_bytes -= j.data.size();
    archive_entry_free(j.entry);
  }

  void write(struct archive *w, const Job &j) {
    // As the unpacker's own messages: libarchive's text, with strerror when a system call
    // failed ("Write failed" alone would hide ENOSPC).
    auto failed = [&] {
      const char *s = archive_error_string(w);
      std::string msg = s ? s : "unknown error";
      int e = archive_errno(w);
      bool sys_errno = e > 0 && e != EILSEQ && e != EINVAL; // not libarchive's private codes
      if (sys_errno && msg.find(std::strerror(e)) == std::string::npos)
        msg = cat(msg, ": ", std::strerror(e));
      throw Error(cat("unable to extract ", what, " entry ", printable(j.shown), ": ",
                      printable(msg, 400)),
                  125, sys_errno ? e : 0);
    };
    if (archive_write_header(w, j.entry) != ARCHIVE_OK)
      failed();
    if (!j.data.empty() &&
        archive_write_data(w, j.data.data(), j.data.size()) != la_ssize_t(j.data.size()))
      failed();
    if (archive_write_finish_entry(w) != ARCHIVE_OK)
      failed();
  }

  void run(struct archive *w) {
    // Names as the parser read them (pax UTF-8), whatever the locale (see Utf8Locale).
    locale_t loc = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(nullptr));
    if (loc)
      ::uselocale(loc);
    std::unique_lock lock(mu);
    for (;;) {
      work.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping)
        break;
      Job j = std::move(queue.front());
      queue.pop_front();
      ++busy;
      bool skip = failure != nullptr; // after a failure the rest is dropped
      lock.unlock();
      std::exception_ptr err;
      if (!skip) {
        try {
          write(w, j);
        } catch (...) {
          err = std::current_exception();
        }
      }
      lock.lock();
      if (err && !failure)
        failure = err;
      forget(j);
      --busy;
      done.notify_all();
    }
    lock.unlock();
    archive_write_free(w);
    if (loc) {
      ::uselocale(LC_GLOBAL_LOCALE);
      ::freelocale(loc);
    }
  }
};

ParallelWrites::ParallelWrites(size_t workers, const std::function<struct archive *()> &make_writer,
                               std::string what)
    : m_impl(std::make_unique<Impl>()) {
  Impl &m = *m_impl;
  m.what = std::move(what);
  for (size_t i = 0; i < workers; ++i)
    m.writers.push_back(make_writer());
  for (struct archive *w : m.writers)
    m.threads.emplace_back([&m, w] { m.run(w); });
}

ParallelWrites::~ParallelWrites() {
  Impl &m = *m_impl;
  {
    std::lock_guard lock(m.mu);
    m.stopping = true;
    for (Job &j : m.queue)
      archive_entry_free(j.entry);
    m.queue.clear();
  }
  m.work.notify_all();
  for (auto &t : m.threads)
    t.join();
}

bool ParallelWrites::conflicts(const std::string &path, bool dir) const {
  Impl &m = *m_impl;
  std::lock_guard lock(m.mu);
  if (m.files.empty())
    return false;
  if (m.files.count(path) || (!dir && m.parents.count(path)))
    return true;
  for (const auto &a : ancestors(path))
    if (m.files.count(a))
      return true;
  return false;
}

void ParallelWrites::submit(archive_entry *e, std::string data, const std::string &path,
                            std::string shown) {
  Impl &m = *m_impl;
  std::unique_lock lock(m.mu);
  m.done.wait(lock, [&] {
    return m.failure || m.queue.empty() || m.queued_bytes + data.size() <= max_queued;
  });
  if (m.failure)
    std::rethrow_exception(m.failure);
  m.files.insert(path);
  for (const auto &a : ancestors(path))
    ++m.parents[a];
  m.queued_bytes += data.size();
  m.queue.push_back({archive_entry_clone(e), std::move(data), path, std::move(shown)});
  lock.unlock();
  m.work.notify_one();
}

void ParallelWrites::barrier() {
  Impl &m = *m_impl;
  std::unique_lock lock(m.mu);
  m.done.wait(lock, [&] { return m.queue.empty() && m.busy == 0; });
  if (m.failure)
    std::rethrow_exception(m.failure);
}

} // namespace koker::archive
