#include "zonegen/compile.hh"

#include <algorithm>
#include <limits>

namespace dnsxl::zonegen {

namespace {

// Keeps disjoint intervals; assign() overwrites whatever lay under [lo, hi].
template <typename Addr>
class Painter {
public:
  void assign(Addr lo, Addr hi, uint32_t set) {
    auto it = d_segs.upper_bound(lo);
    if (it != d_segs.begin()) {
      auto prev = std::prev(it);
      if (prev->second.hi >= lo) it = prev;
    }
    std::optional<std::pair<Addr, Seg>> tail;
    while (it != d_segs.end() && it->first <= hi) {
      Addr sLo = it->first;
      Seg s = it->second;
      it = d_segs.erase(it);
      if (sLo < lo) d_segs.emplace(sLo, Seg{lo - 1, s.set});
      if (s.hi > hi) tail = std::pair{hi + 1, Seg{s.hi, s.set}};
    }
    if (tail) d_segs.emplace(tail->first, tail->second);
    if (set != kNoSet) d_segs.emplace(lo, Seg{hi, set});
  }

  std::vector<Interval<Addr>> intervals() const {
    std::vector<Interval<Addr>> out;
    for (const auto& [lo, s] : d_segs) {
      if (!out.empty() && out.back().set == s.set && out.back().hi != static_cast<Addr>(~Addr{0}) &&
          out.back().hi + 1 == lo)
        out.back().hi = s.hi;
      else
        out.push_back({lo, s.hi, s.set});
    }
    return out;
  }

private:
  struct Seg {
    Addr hi;
    uint32_t set;
  };
  std::map<Addr, Seg> d_segs;
};

struct Cell {
  bool excluded = false;
  std::vector<uint32_t> values;
  void add(uint32_t v) {
    if (v == feeds::kExclusion)
      excluded = true;
    else if (std::find(values.begin(), values.end(), v) == values.end())
      values.push_back(v);
  }
};

uint32_t setFor(CompiledDataset& ds, const Cell& c) {
  if (c.excluded || c.values.empty()) return kNoSet;
  return ds.internSet(c.values);
}

// Sorted disjoint intervals: top wins where the two overlap. kNoSet intervals are kept (holes
// that a less specific level must not fill); the caller drops them at the end. Linear.
std::vector<Interval<uint32_t>> overlay(const std::vector<Interval<uint32_t>>& base,
                                        const std::vector<Interval<uint32_t>>& top) {
  std::vector<Interval<uint32_t>> rest; // base minus the union of top
  size_t j = 0;
  for (const auto& b : base) {
    while (j < top.size() && top[j].hi < b.lo)
      ++j;
    uint32_t lo = b.lo;
    for (size_t k = j;; ++k) {
      if (k == top.size() || top[k].lo > b.hi) {
        rest.push_back({lo, b.hi, b.set});
        break;
      }
      if (top[k].lo > lo) rest.push_back({lo, top[k].lo - 1, b.set});
      if (top[k].hi >= b.hi) break;
      lo = top[k].hi + 1;
    }
  }
  std::vector<Interval<uint32_t>> out(rest.size() + top.size());
  std::merge(rest.begin(), rest.end(), top.begin(), top.end(), out.begin(),
             [](const auto& a, const auto& b) { return a.lo < b.lo; });
  return out;
}

// rbldnsd's ip4set: every entry is split into octet-aligned blocks (/8, /16, /24, /32); the most
// specific level with a block containing an address decides, with all values of that block.
// Flat and sorted rather than a map per level: 1M entries compile in a fraction of a second.
void compileIp4set(const feeds::Feed& feed, CompiledDataset& ds) {
  struct Block {
    uint32_t start;
    uint8_t level; // 0..3 = /8, /16, /24, /32
    uint32_t value;
  };
  std::vector<Block> blocks;
  blocks.reserve(feed.ip4.size());
  for (const auto& e : feed.ip4) {
    uint64_t lo = e.lo;
    const uint64_t hi = e.hi;
    while (lo <= hi) {
      uint8_t level = 3;
      for (uint8_t l = 0; l < 3; ++l) {
        uint64_t size = uint64_t{1} << (24 - 8 * l);
        if (lo % size == 0 && hi - lo + 1 >= size) {
          level = l;
          break;
        }
      }
      blocks.push_back({static_cast<uint32_t>(lo), level, e.value});
      lo += uint64_t{1} << (24 - 8 * level);
    }
  }
  // stable: a block's values keep the order of the file
  std::stable_sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) {
    return a.level != b.level ? a.level < b.level : a.start < b.start;
  });
  std::vector<Interval<uint32_t>> result;
  std::vector<Interval<uint32_t>> level;
  Cell cell, last;
  uint32_t lastSet = kNoSet;
  bool haveLast = false;
  for (size_t i = 0; i < blocks.size();) {
    const uint8_t l = blocks[i].level;
    level.clear();
    for (; i < blocks.size() && blocks[i].level == l;) {
      const uint32_t start = blocks[i].start;
      cell.excluded = false;
      cell.values.clear();
      for (; i < blocks.size() && blocks[i].level == l && blocks[i].start == start; ++i)
        cell.add(blocks[i].value);
      // consecutive blocks mostly carry the same values: intern once
      if (!haveLast || cell.excluded != last.excluded || cell.values != last.values) {
        lastSet = setFor(ds, cell);
        last = cell;
        haveLast = true;
      }
      const uint32_t span = l == 3 ? 0 : (uint32_t{1} << (24 - 8 * l)) - 1;
      level.push_back({start, start + span, lastSet});
    }
    result = result.empty() ? level : overlay(result, level);
  }
  ds.ip4.clear();
  for (const auto& iv : result) {
    if (iv.set == kNoSet) continue;
    if (!ds.ip4.empty() && ds.ip4.back().set == iv.set && ds.ip4.back().hi + 1 == iv.lo)
      ds.ip4.back().hi = iv.hi;
    else
      ds.ip4.push_back(iv);
  }
}

// Longest prefix / smallest range wins. mergeEqual: equal ranges merge their values (list);
// otherwise the first entry of a range wins (tries).
template <typename Addr, typename Entry>
std::vector<Interval<Addr>> compileRanges(const std::vector<Entry>& entries, bool mergeEqual,
                                          CompiledDataset& ds) {
  std::map<std::pair<Addr, Addr>, Cell> cells;
  for (const auto& e : entries) {
    auto [it, inserted] = cells.try_emplace({e.lo, e.hi});
    if (inserted || mergeEqual) it->second.add(e.value);
  }
  std::vector<std::pair<Addr, std::pair<Addr, Addr>>> order; // (size, range)
  order.reserve(cells.size());
  for (const auto& [range, cell] : cells)
    order.push_back({range.second - range.first, range});
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  Painter<Addr> p;
  for (const auto& [size, range] : order)
    p.assign(range.first, range.second, setFor(ds, cells[range]));
  return p.intervals();
}

template <typename Addr>
uint32_t find(const std::vector<Interval<Addr>>& v, Addr a) {
  auto it = std::upper_bound(v.begin(), v.end(), a,
                             [](Addr x, const Interval<Addr>& iv) { return x < iv.lo; });
  if (it == v.begin()) return kNoSet;
  --it;
  return it->hi >= a ? it->set : kNoSet;
}

std::string keyOf(const std::string& dotted) {
  std::string k;
  size_t end = dotted.size();
  for (;;) {
    size_t dot = dotted.rfind('.', end - 1);
    size_t start = dot == std::string::npos ? 0 : dot + 1;
    k.append(dotted, start, end - start);
    k.push_back('\0');
    if (dot == std::string::npos) break;
    end = dot;
  }
  return k;
}

} // namespace

uint32_t CompiledDataset::internSet(const std::vector<uint32_t>& values) {
  auto [it, inserted] = d_setIndex.try_emplace(values, static_cast<uint32_t>(sets.size()));
  if (inserted) sets.push_back(values);
  return it->second;
}

CompiledDataset compile(const feeds::Feed& feed, feeds::Format format) {
  CompiledDataset ds;
  // Names are compiled below for every format; generic records go to the store as they are and
  // a combined dataset's sections are compiled one by one (import.cc).
  const auto& t = feeds::traitsOf(format);
  switch (t.overlap) {
  case feeds::FormatTraits::Ip4set:
    compileIp4set(feed, ds);
    break;
  case feeds::FormatTraits::LongestPrefix:  // tries, tsets, acl: the longest prefix decides
  case feeds::FormatTraits::SmallestMerged: // the smallest range wins, equal ones merge
    if (t.ip4)
      ds.ip4 =
          compileRanges<uint32_t>(feed.ip4, t.overlap == feeds::FormatTraits::SmallestMerged, ds);
    if (t.ip6)
      ds.ip6 = compileRanges<U128>(feed.ip6, t.overlap == feeds::FormatTraits::SmallestMerged, ds);
    break;
  case feeds::FormatTraits::None:
    break;
  }
  std::map<std::string, std::pair<Cell, Cell>> names;
  for (const auto& e : feed.domains) {
    auto& [exact, below] = names[keyOf(e.name)];
    if (e.scope != feeds::Scope::Below) exact.add(e.value);
    if (e.scope != feeds::Scope::Exact) below.add(e.value);
  }
  auto setOf = [&](const Cell& c, bool present) {
    if (!present) return kNoSet;
    if (c.excluded) return kExcludedSet;
    return c.values.empty() ? kNoSet : ds.internSet(c.values);
  };
  for (const auto& [key, cells] : names) {
    DomainSets s;
    s.exact = setOf(cells.first, cells.first.excluded || !cells.first.values.empty());
    s.wild = setOf(cells.second, cells.second.excluded || !cells.second.values.empty());
    ds.domains.emplace(key, s);
  }
  return ds;
}

uint32_t findIp4(const CompiledDataset& ds, uint32_t addr) {
  return find(ds.ip4, addr);
}
uint32_t findIp6(const CompiledDataset& ds, U128 addr) {
  return find(ds.ip6, addr);
}

} // namespace dnsxl::zonegen
