// Response rate limiting for UDP answers, budgeted by client network (an IPv4 /24, an IPv6 /56),
// not by name: a mail server asks about many different names and gets as many NXDOMAINs, which is
// normal DNSBL traffic, so only the volume per client counts (unlike BIND's and Knot's RRL, which
// budget per client and answer). Over the budget a response is dropped, or every slip-th one is
// sent truncated (TC, no records) so that a real client behind a spoofed flood asks again over
// TCP (where no limit applies). Shared by the workers: one table of per-second counters, one
// relaxed atomic per answer; a collision of two networks in a slot only shares their budget.
#pragma once

#include "server/answer/responder.hh"

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

namespace dnsxl::net {

class RateLimiter {
public:
  enum Verdict { Send, Drop, Slip };
  static constexpr size_t kSlots = size_t{1} << 16;

  // The verdict for one more response to client in second now, with perSecond responses a
  // second per network and every slip-th limited one slipped (0: none).
  Verdict check(const answer::Client& client, uint32_t now, uint32_t perSecond, uint32_t slip) {
    const uint64_t n = answer::countInWindow(d_slots[slot(client)], now, 32);
    if (n <= perSecond) return Send;
    if (slip != 0 && (n - perSecond) % slip == 0) {
      slipped.fetch_add(1, std::memory_order_relaxed);
      return Slip;
    }
    dropped.fetch_add(1, std::memory_order_relaxed);
    return Drop;
  }

  std::atomic<uint64_t> dropped{0}, slipped{0};

private:
  static size_t slot(const answer::Client& c) {
    uint64_t h = 0;
    if (c.v6) {
      for (size_t i = 0; i < 7; ++i) // the /56
        h = h << 8 | c.addr6[i];
      h ^= 0x9e3779b97f4a7c15ULL;
    } else {
      h = c.v4 >> 8; // the /24
    }
    h *= 0xff51afd7ed558ccdULL;
    return static_cast<size_t>(h >> 48) & (kSlots - 1);
  }
  std::unique_ptr<std::atomic<uint64_t>[]> d_slots { new std::atomic<uint64_t>[kSlots] {} };
};

// A reply cut to its header and question, with TC set: "ask again over TCP". Returns its length.
size_t slipReply(std::span<uint8_t> reply);

} // namespace dnsxl::net
