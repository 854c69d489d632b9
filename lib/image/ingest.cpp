// SPDX-License-Identifier: MIT
#include "image/ingest.hpp"
#include "image/archive.hpp"
#include "image/gunzip.hpp"
#include "base/clock.hpp"
#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/parallel.hpp"
#include "base/progress.hpp"
#include <atomic>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace koker::ingest {

namespace {

// Layers fetched at once: enough to keep the network and both cores busy while one layer
// decompresses, few enough not to thrash a small machine.
constexpr size_t max_parallel_layers = 4;

// The pipe to the unpacker holds this much (Linux's default is 64 KiB): a block of inflated
// tar in one write, and fewer switches between the two threads.
constexpr int pipe_bytes = 1 << 20;

std::string seconds(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", double(ns) / 1e9);
  return buf;
}

struct LayerJob {
  size_t index;
  const image::Descriptor *desc;
  std::string diff_id;
};

// Fetches one layer and unpacks it while it streams: the source writes into a pipe that an
// extractor thread reads, so decompression overlaps the download and nothing but the
// unpacked tree touches the disk. Both the blob digest (by the source) and the diff_id (by
// the extractor) are checked before the layer is renamed into the store.
// The layer is unpacked already (another image has it) but this manifest names it by a blob
// the store lacks (compressed otherwise): only the blob is fetched, for push and save.
void fetch_blob_only(const store::Store &store, Source &source, const LayerJob &job,
                     Progress &progress, const std::atomic<bool> &cancelled) {
  std::string short_id = job.desc->digest.substr(7, 12);
  progress.start(job.index, short_id, job.desc->size);
  std::string tmp = store.make_tmp_dir();
  sys::Rollback undo;
  undo.add(cat("rm -rf ", tmp), [tmp] { sys::rm_rf(tmp); });
  Fd blob(check(::open((tmp + "/blob").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
                "unable to create ", tmp, "/blob"));
  log::debug("fetch ", job.desc->digest, " into ", tmp, "/blob (its layer is unpacked already)");
  source.stream_blob(*job.desc, [&](const char *p, size_t n) {
    if (cancelled)
      fail("cancelled");
    sys::write_fd(blob.get(), std::string_view(p, n), "layer blob");
    progress.advance(job.index, n);
  });
  blob.reset();
  store.commit_blob(tmp + "/blob", job.desc->digest);
  progress.finish(job.index, short_id, "already exists");
}

void fetch_layer(const store::Store &store, Source &source, const LayerJob &job,
                 Progress &progress, const std::atomic<bool> &cancelled) {
  std::string short_id = job.desc->digest.substr(7, 12);
  auto lock = store.lock_layer(job.diff_id);
  if (store.has_layer(job.diff_id)) {
    if (store.has_blob(job.desc->digest))
      progress.finish(job.index, short_id, "already exists");
    else
      fetch_blob_only(store, source, job, progress, cancelled);
    return;
  }
  progress.start(job.index, short_id, job.desc->size);
  std::string tmp = store.make_tmp_dir();
  sys::Rollback undo;
  undo.add(cat("rm -rf ", tmp), [tmp] { sys::rm_rf(tmp); });
  std::string diff = tmp + "/diff";
  check(::mkdir(diff.c_str(), 0755), "unable to create ", diff);
  // The compressed blob is kept as it arrives, beside the unpacked tree: push and save send
  // it unchanged, so the manifest and its digest stay the registry's (containerd keeps both).
  Fd blob(check(::open((tmp + "/blob").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
                "unable to create ", tmp, "/blob"));

  int fds[2];
  check(::pipe2(fds, O_CLOEXEC), "unable to create a pipe");
  Fd read_end(fds[0]), write_end(fds[1]);
  ::fcntl(write_end.get(), F_SETPIPE_SZ, pipe_bytes); // best effort (pipe-max-size)
  archive::LayerInfo info;
  std::exception_ptr extract_error;
  uint64_t extract_ns = 0;
  log::debug("unpack ", job.desc->digest, " (", job.desc->media_type, ") into ", diff);
  std::thread extractor([&] {
    uint64_t t0 = clock::monotonic_ns();
    try {
      info = archive::extract_layer(read_end.get(), diff, archive::Limits::from_env());
    } catch (...) {
      extract_error = std::current_exception();
    }
    extract_ns = clock::monotonic_ns() - t0;
    read_end.reset(); // the writer now gets EPIPE instead of blocking forever
  });
  // A gzip layer (told by its first bytes, as libarchive tells it: media types may lie) is
  // inflated here by ISA-L, on the downloading thread, and the unpacker reads a plain tar: it
  // decompresses while the other thread writes files (issue 21). zstd and plain tar go
  // through as they came, for libarchive. Both are timed for the -D split of the layer.
  std::optional<gunzip::Stream> gz;
  bool sniffed = false;
  uint64_t unpacker_wait_ns = 0;
  auto to_unpacker = [&](const char *p, size_t n) {
    uint64_t t0 = clock::monotonic_ns();
    sys::write_fd(write_end.get(), std::string_view(p, n), "layer to the unpacker");
    unpacker_wait_ns += clock::monotonic_ns() - t0;
  };
  uint64_t fetch_start = clock::monotonic_ns();
  std::exception_ptr fetch_error;
  bool pipe_closed = false; // the unpacker stopped reading (it failed first)
  try {
    source.stream_blob(*job.desc, [&](const char *p, size_t n) {
      if (cancelled)
        fail("cancelled");
      sys::write_fd(blob.get(), std::string_view(p, n), "layer blob");
      progress.advance(job.index, n);
      if (!sniffed && n > 0) {
        sniffed = true;
        if (gunzip::starts_gzip(std::string_view(p, n)))
          gz.emplace(cat("layer ", job.desc->digest), to_unpacker);
      }
      if (gz)
        gz->feed(p, n);
      else
        to_unpacker(p, n);
    });
    if (gz)
      gz->finish();
  } catch (const Error &e) {
    pipe_closed = e.sys_errno() == EPIPE;
    fetch_error = std::current_exception();
  } catch (...) {
    fetch_error = std::current_exception();
  }
  uint64_t fetch_ns = clock::monotonic_ns() - fetch_start;
  write_end.reset();
  extractor.join();
  // A failed fetch explains a failed unpack (a truncated stream), not the other way round,
  // unless the unpacker stopped first and the writer only saw the closed pipe.
  if (extract_error && (!fetch_error || pipe_closed))
    std::rethrow_exception(extract_error);
  if (fetch_error)
    std::rethrow_exception(fetch_error);
  if (extract_error)
    std::rethrow_exception(extract_error);
  if (info.diff_id != job.diff_id)
    fail("unable to pull layer ", job.desc->digest, ": its content (", info.diff_id,
         ") does not match the diff_id in the image config (", job.diff_id, ")");
  log::debug("verified layer ", job.desc->digest, ": diff_id ", info.diff_id, ", ", info.entries,
             " entries, ", info.size, " bytes");
  // Each stage's busy time (bench/pull.sh reads this line): the download without the time
  // spent inflating and waiting for the unpacker, the inflating, and the unpacker's time
  // (reading the tar, hashing it, creating the files) without its waits for input.
  uint64_t inflate_ns = gz ? gz->busy_ns() : 0;
  uint64_t busy_fetch = fetch_ns - std::min(fetch_ns, inflate_ns + unpacker_wait_ns);
  log::debug("layer ", job.desc->digest, ": timing: download ", seconds(busy_fetch),
             " s, decompress ", seconds(inflate_ns), " s, write ",
             seconds(extract_ns - std::min(extract_ns, info.input_wait_ns)), " s (",
             gz ? "gzip inflated by ISA-L" : "decompressed by libarchive, if at all", ")");
  sys::write_file_atomic(tmp + "/size", std::to_string(info.size), 0444);
  blob.reset();
  // The blob first: a kill between the two leaves a blob no image names, which the next
  // clean-up removes, never a layer whose blob push would miss.
  store.commit_blob(tmp + "/blob", job.desc->digest);
  store.commit_layer(tmp, job.diff_id);
  undo.dismiss();
  progress.finish(job.index, short_id, "pull complete");
}

void fetch_layers(const store::Store &store, Source &source, const std::vector<LayerJob> &jobs) {
  Progress progress(jobs.size());
  parallel::for_each(
      jobs.size(), max_parallel_layers,
      [&](size_t i, const std::atomic<bool> &cancelled) {
        fetch_layer(store, source, jobs[i], progress, cancelled);
      },
      [&](size_t i) {
        progress.finish(jobs[i].index, jobs[i].desc->digest.substr(7, 12), "failed");
      });
}

} // namespace

std::string pull_image(const store::Store &store, Source &source, const Manifest &manifest,
                       const Names &names, const image::Platform &want, std::string_view shown) {
  image::Manifest m = image::parse_manifest(manifest.body, manifest.media_type);
  // Refused before any blob is fetched: nothing of an image that could not run is stored.
  if (m.layers.size() > image::max_layers)
    fail("unable to pull ", shown, ": the image has ", m.layers.size(), " layers, more than the ",
         image::max_layers, " a container can run");
  log::debug("manifest ", manifest.digest, ": config ", m.config.digest, ", ", m.layers.size(),
             " layers");
  std::string config_body = source.small_blob(m.config, image::max_config_size);
  image::Config config = image::parse_config(config_body);
  if (config.diff_ids.size() != m.layers.size())
    fail("invalid image: the manifest has ", m.layers.size(), " layers but the config lists ",
         config.diff_ids.size(), " diff_ids");
  if (!config.arch.empty() && (config.os != want.os || config.arch != want.arch))
    log::warn("the image is for ", config.os, "/", config.arch, ", not ", want.str());

  std::vector<LayerJob> jobs;
  for (size_t i = 0; i < m.layers.size(); ++i)
    jobs.push_back({i, &m.layers[i], config.diff_ids[i]});
  fetch_layers(store, source, jobs);

  store.put_blob(m.config.digest, config_body);
  store.put_blob(manifest.digest, manifest.body);
  store::ImageRecord rec;
  rec.id = m.config.digest;
  rec.manifest_digest = manifest.digest;
  rec.manifest_media_type = manifest.media_type;
  rec.repo_tags = names.repo_tags;
  rec.repo_digests = names.repo_digests;
  rec.layers = config.diff_ids;
  for (const auto &l : m.layers)
    rec.layer_blobs.push_back(l.digest);
  for (const auto &l : config.diff_ids)
    rec.size += store.layer_size(l);
  rec.created = config.created;
  rec.pulled = sys::now_rfc3339();
  store.add_image(rec);
  log::debug("image ", rec.id, " registered in ", store.root(), "/images.json");
  return rec.id;
}

} // namespace koker::ingest
