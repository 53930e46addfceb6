// Compiles parsed feed entries into what the store keeps: non-overlapping address intervals
// and domain keys, each with a value set, following each format's overlap rule once at import
// time so that a lookup is one seek. Knows nothing about LMDB or the wire.
#pragma once

#include "feeds/feed.hh"

#include <map>
#include <string>
#include <vector>

namespace dnsxl::zonegen {

using feeds::U128;

inline constexpr uint32_t kNoSet = 0;
inline constexpr uint32_t kExcludedSet = 0xffffffffU;

template <typename Addr>
struct Interval {
  Addr lo, hi;
  uint32_t set; // index into CompiledDataset::sets
  bool operator==(const Interval&) const = default;
};

struct DomainSets {
  uint32_t exact = kNoSet; // kNoSet, kExcludedSet or a set index
  uint32_t wild = kNoSet;
};

struct CompiledDataset {
  // sets[i] = indices into Feed::values, in the order the values first appeared; sets[0] unused.
  std::vector<std::vector<uint32_t>> sets{{}};
  std::vector<Interval<uint32_t>> ip4;
  std::vector<Interval<U128>> ip6;
  std::map<std::string, DomainSets> domains; // key: store::domainKey form

  uint32_t internSet(const std::vector<uint32_t>& values);

private:
  std::map<std::vector<uint32_t>, uint32_t> d_setIndex;
};

// Applies the format's overlap rule:
//  ip4set  — the most specific octet level (/32, /24, /16, /8) with an entry decides; all values
//            at that level are returned; an exclusion at that level wins (rbldnsd ip4set);
//  ip4trie, ip6trie — longest prefix; a duplicate prefix keeps its first value;
//  ip4tset, ip6tset — membership (an ip6tset /128 exclusion inside a /64);
//  list    — the smallest range containing the address decides; equal ranges merge values;
//  dnset   — per name an exact entry and a "below" entry; values of equal keys merge.
CompiledDataset compile(const feeds::Feed& feed, feeds::Format format);

// The value set answering for addr, or kNoSet.
uint32_t findIp4(const CompiledDataset& ds, uint32_t addr);
uint32_t findIp6(const CompiledDataset& ds, U128 addr);

} // namespace dnsxl::zonegen
