// Who may ask a zone: its access rules ([[zone.access]]), by the client's longest matching
// prefix — allow (answer), deny (no reply, rbldnsd's acl :ignore), refuse (REFUSED), empty (the
// lists look empty: rbldnsd's :empty), answer (a fixed A and TXT for every name below the apex:
// "blocked via a public resolver", as large lists answer queries from public resolvers).
// The prefixes are flattened into disjoint sorted ranges once, so a match is a binary search.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace dnsxl::answer {

struct Client;

enum class AccessAction : uint8_t { Allow, Deny, Refuse, Empty, Answer };
inline constexpr std::array<const char*, 5> kAccessActionNames = {"allow", "deny", "refuse",
                                                                  "empty", "answer"};

struct AccessRule {
  AccessAction action = AccessAction::Allow;
  uint32_t a = 0;     // Answer: the A record's address (host order)
  std::string txt;    // Answer: the TXT (empty: none)
  uint32_t ttl = 300; // Answer: the records' TTL
};

class AccessTable {
public:
  // A prefix of rule (an index into rules): 4 or 16 address bytes in network order.
  void add(bool v6, const uint8_t* address, unsigned length, uint16_t rule);
  // Flattens what was added (longest prefix wins; of equal ones, the first added).
  void build();
  // The rule of client's longest matching prefix, or -1.
  int match(const Client& client) const;
  bool empty() const { return d_prefixes.empty(); }

  std::vector<AccessRule> rules;

private:
  __extension__ typedef unsigned __int128 U128;
  struct Prefix {
    bool v6;
    U128 lo, hi;
    unsigned length;
    uint16_t rule;
  };
  struct Range {
    U128 lo, hi;
    uint16_t rule;
  };
  std::vector<Prefix> d_prefixes;
  std::vector<Range> d_v4, d_v6;
};

struct ZoneAccess {
  std::string zone;
  AccessTable table;
};

// A keyed zone (responder: `<query>.<key>.<zone>`, the keys in the store): the answers for a key
// that is unknown or revoked, and for one over its quota.
struct KeyedZone {
  std::string zone;
  AccessRule unknown, overQuota;
};
inline constexpr std::array<const char*, 3> kKeyResultNames = {"ok", "unknown", "over_quota"};

// One more event in the current window (a second, a day) of a counter packed as
// window << bits | count; returns the count with it. When the window has moved on the counter
// is reset with a relaxed store (two threads may both reset it at a boundary: a few more go
// through). The key quotas' and the rate limiter's counters.
inline uint64_t countInWindow(std::atomic<uint64_t>& a, uint64_t window, unsigned bits) {
  const uint64_t v = a.load(std::memory_order_relaxed);
  if (v >> bits != window) {
    a.store(window << bits | 1, std::memory_order_relaxed);
    return 1;
  }
  return (a.fetch_add(1, std::memory_order_relaxed) & ((uint64_t{1} << bits) - 1)) + 1;
}

// Per-key query counters, shared by every worker and kept across reloads (not across restarts):
// the current second's and UTC day's.
class KeyQuotas {
public:
  struct Counter {
    std::atomic<uint64_t> second{0}, day{0}; // (second << 32 | n), (day << 40 | n)
  };
  static KeyQuotas& global();
  Counter* counter(const std::string& key); // a stable address, made at the first use
  // Counts one more query at now; false when it is past perSecond or perDay (0: no limit).
  static bool take(Counter& c, int64_t now, uint32_t perSecond, uint64_t perDay);

private:
  std::mutex d_mutex;
  std::unordered_map<std::string, std::unique_ptr<Counter>> d_counters;
};

} // namespace dnsxl::answer
