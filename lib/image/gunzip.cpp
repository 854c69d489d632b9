// SPDX-License-Identifier: MIT
#include "image/gunzip.hpp"
#include "base/clock.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include <algorithm>
#include <isa-l/igzip_lib.h>
#include <string>
#include <vector>

namespace koker::gunzip {

namespace {

constexpr size_t OUT_BLOCK = 1 << 20;

const char *reason(int r) {
  switch (r) {
  case ISAL_INVALID_BLOCK:
    return "invalid deflate block";
  case ISAL_INVALID_SYMBOL:
    return "invalid deflate symbol";
  case ISAL_INVALID_LOOKBACK:
    return "invalid deflate distance";
  case ISAL_INVALID_WRAPPER:
    return "invalid gzip header";
  case ISAL_UNSUPPORTED_METHOD:
    return "unsupported compression method";
  case ISAL_INCORRECT_CHECKSUM:
    return "CRC mismatch";
  case ISAL_NEED_DICT:
    return "preset dictionary";
  default:
    return "corrupt data";
  }
}

} // namespace

bool starts_gzip(std::string_view head) {
  return head.size() >= 2 && uint8_t(head[0]) == 0x1f && uint8_t(head[1]) == 0x8b;
}

struct Stream::Impl {
  std::string shown;
  Out out;
  struct inflate_state state {};
  std::vector<uint8_t> buf = std::vector<uint8_t>(OUT_BLOCK);
  size_t used = 0;       // bytes of buf filled
  bool member = false;   // inside a member (its header seen or awaited)
  bool trailing = false; // past the last member: the rest is ignored
  std::string head;      // the first bytes after a member, until two tell whether one follows
  uint64_t busy = 0;

  void start_member() {
    isal_inflate_init(&state);
    state.crc_flag = ISAL_GZIP;
    member = true;
  }

  void flush() {
    if (used > 0)
      out(reinterpret_cast<const char *>(buf.data()), used);
    used = 0;
  }

  // Inflates [p, p + n) of the current member; returns how many bytes it took (less than n
  // when the member ended inside them).
  size_t inflate(const uint8_t *p, size_t n) {
    size_t taken = 0;
    while (taken < n) {
      // avail_in is 32 bits: feed at most 1 GiB at a time.
      uint32_t chunk = uint32_t(std::min<size_t>(n - taken, size_t(1) << 30));
      state.next_in = const_cast<uint8_t *>(p + taken);
      state.avail_in = chunk;
      for (;;) {
        state.next_out = buf.data() + used;
        state.avail_out = uint32_t(buf.size() - used);
        uint64_t t0 = clock::monotonic_ns();
        int r = isal_inflate(&state);
        busy += clock::monotonic_ns() - t0;
        used = size_t(state.next_out - buf.data());
        if (r != ISAL_DECOMP_OK)
          fail("unable to extract ", shown, ": gzip decompression failed: ", reason(r));
        if (state.block_state == ISAL_BLOCK_FINISH) {
          member = false;
          return taken + (chunk - state.avail_in);
        }
        if (used == buf.size()) {
          flush();
          continue;
        }
        if (state.avail_in == 0)
          break;
      }
      taken += chunk;
    }
    return taken;
  }

  void feed(const uint8_t *p, size_t n) {
    while (n > 0 && !trailing) {
      if (!member) {
        // Between members: another starts only if the next two bytes are gzip's magic.
        size_t need = 2 - head.size();
        size_t take = std::min(need, n);
        head.append(reinterpret_cast<const char *>(p), take);
        p += take;
        n -= take;
        if (head.size() < 2)
          return;
        if (!starts_gzip(head)) {
          trailing = true;
          return;
        }
        start_member();
        const std::string magic = std::move(head);
        head.clear();
        inflate(reinterpret_cast<const uint8_t *>(magic.data()), magic.size());
        continue;
      }
      size_t took = inflate(p, n);
      p += took;
      n -= took;
    }
  }
};

Stream::Stream(std::string_view shown, Out out) : m_impl(std::make_unique<Impl>()) {
  m_impl->shown = std::string(shown);
  m_impl->out = std::move(out);
  m_impl->start_member();
}

Stream::~Stream() = default;

void Stream::feed(const char *p, size_t n) { m_impl->feed(reinterpret_cast<const uint8_t *>(p), n); }

void Stream::finish() {
  Impl &m = *m_impl;
  if (m.member)
    fail("unable to extract ", m.shown, ": gzip decompression failed: truncated stream");
  m.flush();
}

uint64_t Stream::busy_ns() const { return m_impl->busy; }

} // namespace koker::gunzip
