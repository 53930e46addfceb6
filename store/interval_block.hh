// Internal to store/: intervals in blocks (schema 2) — the layout of the ip4 and ip6 tables'
// records, how a writer packs them and how a reader indexes them.
#pragma once

#include "store/lmdb.hh"

#include <algorithm>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

namespace dnsxl::store::detail {

// ---- Interval blocks (schema 2) ----
// The ip4 and ip6 tables hold each dataset's intervals in blocks: key dataset ‖ the start of the
// block's first interval; value the block's n intervals as three arrays, big-endian: n starts,
// n ends, n value sets. A lookup is one seek to the block and a binary search over its starts
// (a few cache lines); a record per interval cost ~4× the memory and one more tree level.
// Blocks hold at most what keeps a value inside its leaf page: LMDB moves a node bigger than
// about half a 4 KiB page to overflow pages (mdb.c, me_nodemax = 2,038 bytes with the node
// header; 8 of them, and the key, are ours to spend). Intervals never overlap and blocks are in
// key order, so the interval holding an address is in the last block starting at or below it.

// The address types of the interval tables: uint32_t (ip4) and Ip6, big-endian in keys.
inline void putAddr(std::string& out, uint32_t a) {
  bytes::put32(out, a);
}
inline void putAddr(std::string& out, const Ip6& a) {
  out.append(reinterpret_cast<const char*>(a.data()), 16);
}
inline void getAddr(const char* p, uint32_t& a) {
  a = bytes::get32(p);
}
inline void getAddr(const char* p, Ip6& a) {
  std::memcpy(a.data(), p, 16);
}
inline uint32_t next(uint32_t a) {
  return a + 1;
}
inline uint32_t prev(uint32_t a) {
  return a - 1;
}
inline Ip6 next(Ip6 a) {
  for (size_t i = 16; i-- > 0;)
    if (++a[i] != 0) break;
  return a;
}
inline Ip6 prev(Ip6 a) {
  for (size_t i = 16; i-- > 0;)
    if (a[i]-- != 0) break;
  return a;
}
// Whether the big-endian address at p is <= a.
inline bool atOrBelow(const char* p, uint32_t a) {
  return bytes::get32(p) <= a;
}
inline bool atOrBelow(const char* p, const Ip6& a) {
  return std::memcmp(p, a.data(), 16) <= 0;
}

template <typename Addr>
using Piece = std::conditional_t<std::is_same_v<Addr, uint32_t>, IpInterval4, IpInterval6>;

template <typename Addr>
struct Block {
  // Header: u16 n, u8 m (palette size, 0 = none), u8 flags. Then n starts; n ends unless every
  // interval is one address (kSingle); then either m value sets and n u8 indexes into them
  // (when m > 1; m == 1 needs no indexes), or n value sets.
  static constexpr size_t kAddr = sizeof(Addr);
  static constexpr size_t kBytes = 2038 - 8 - (4 + kAddr); // 2,022 ip4, 2,010 ip6
  static constexpr uint8_t kSingle = 1;
  static constexpr size_t kMaxPalette = 64;

  const char* p = nullptr;
  size_t n = 0;
  const char* ends = nullptr;
  const char* sets = nullptr;   // n value sets, or the palette
  const uint8_t* idx = nullptr; // with a palette of 2+ sets
  size_t m = 0;

  // False for a value that is not a block (a corrupt record).
  bool read(const MDB_val& v) {
    p = static_cast<const char*>(v.mv_data);
    if (v.mv_size < 4) return false;
    const bool single = (p[3] & kSingle) != 0;
    shape(p, bytes::get16(p), static_cast<uint8_t>(p[2]), single);
    const size_t size =
        4 + kAddr * n * (single ? 1 : 2) + (m == 0 ? 4 * n : 4 * m + (m > 1 ? n : 0));
    return n != 0 && size == v.mv_size;
  }
  // Where the arrays of a block of n intervals and a palette of m lie: from its header
  // (read()), or from what an index kept of it, without reading the block again.
  void shape(const char* data, size_t n2, size_t m2, bool single) {
    p = data + 4;
    n = n2;
    m = m2;
    ends = single ? p : p + kAddr * n;
    sets = p + kAddr * n * (single ? 1 : 2);
    idx = m > 1 ? reinterpret_cast<const uint8_t*>(sets + 4 * m) : nullptr;
  }
  // The last interval starting at or below a, of those in [base, base + len); the first of
  // them must.
  size_t find(const Addr& a, size_t base = 0, size_t len = SIZE_MAX) const {
    len = std::min(len, n - base);
    for (; len > 1;) {
      const size_t half = len / 2;
      if (atOrBelow(p + kAddr * (base + half), a)) base += half;
      len -= half;
    }
    return base;
  }
  const char* startAt(size_t i) const { return p + kAddr * i; }
  const char* endAt(size_t i) const { return ends + kAddr * i; }
  uint32_t setAt(size_t i) const {
    if (m == 0) return bytes::get32(sets + 4 * i);
    const size_t j = idx ? idx[i] : 0;
    return j < m ? bytes::get32(sets + 4 * j) : kNoValue;
  }
  Piece<Addr> at(size_t i) const {
    Piece<Addr> out;
    getAddr(startAt(i), out.start);
    getAddr(endAt(i), out.end);
    out.valueSet = setAt(i);
    return out;
  }

  // What a block of some intervals takes, as they are added one by one.
  struct Sizer {
    size_t n = 0;
    bool single = true;
    bool paletteOk = true;
    std::vector<uint32_t> palette;

    static size_t plainBytes(size_t n, bool single) {
      return 4 + kAddr * n * (single ? 1 : 2) + 4 * n;
    }
    static size_t paletteBytes(size_t n, bool single, size_t m) {
      return 4 + kAddr * n * (single ? 1 : 2) + 4 * m + (m > 1 ? n : 0);
    }
    bool usePalette() const {
      return paletteOk && paletteBytes(n, single, palette.size()) < plainBytes(n, single);
    }
    // Adds x if the block still fits with it.
    bool add(const Piece<Addr>& x) {
      const bool single2 = single && x.start == x.end;
      const bool isNew =
          paletteOk && std::find(palette.begin(), palette.end(), x.valueSet) == palette.end();
      const bool ok2 = paletteOk && !(isNew && palette.size() == kMaxPalette);
      const size_t m2 = palette.size() + (isNew && ok2 ? 1 : 0);
      size_t bytes = plainBytes(n + 1, single2);
      if (ok2) bytes = std::min(bytes, paletteBytes(n + 1, single2, m2));
      if (bytes > kBytes || n + 1 > 0xffff) return false;
      ++n;
      single = single2;
      paletteOk = ok2;
      if (isNew && ok2) palette.push_back(x.valueSet);
      return true;
    }
  };

  static void appendKey(std::string& key, const Piece<Addr>& first) { putAddr(key, first.start); }
  static void encode(std::string& out, std::span<const Piece<Addr>> pieces) {
    Sizer s;
    for (const auto& x : pieces)
      s.add(x);
    const bool pal = s.usePalette();
    out.clear();
    bytes::put16(out, static_cast<uint16_t>(pieces.size()));
    out.push_back(static_cast<char>(pal ? s.palette.size() : 0));
    out.push_back(static_cast<char>(s.single ? kSingle : 0));
    for (const auto& x : pieces)
      putAddr(out, x.start);
    if (!s.single)
      for (const auto& x : pieces)
        putAddr(out, x.end);
    if (!pal) {
      for (const auto& x : pieces)
        bytes::put32(out, x.valueSet);
      return;
    }
    for (uint32_t set : s.palette)
      bytes::put32(out, set);
    if (s.palette.size() > 1)
      for (const auto& x : pieces)
        out.push_back(static_cast<char>(std::find(s.palette.begin(), s.palette.end(), x.valueSet) -
                                        s.palette.begin()));
  }
};

// Writes items (intervals, or names: in order, no overlaps) as blocks of type B, each as full as
// it can be. With append, the keys are past every key of the table (an import): LMDB then fills
// its pages instead of splitting them in half. With keepTail, the last block is written only if
// it is full; returns how many items were written.
template <typename B, typename Item>
size_t putBlocksOf(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset, std::span<const Item> items,
                   bool append, bool keepTail) {
  std::string key, value;
  size_t from = 0;
  while (from < items.size()) {
    typename B::Sizer s;
    size_t to = from;
    while (to < items.size() && s.add(items[to]))
      ++to;
    if (keepTail && to == items.size()) break;
    key.clear();
    bytes::put32(key, dataset);
    B::appendKey(key, items[from]);
    B::encode(value, items.subspan(from, to - from));
    MDB_val k = val(key.data(), key.size()), v = val(value.data(), value.size());
    int rc = mdb_put(txn, dbi, &k, &v, append ? MDB_APPEND : 0U);
    if (rc == MDB_KEYEXIST && append) rc = mdb_put(txn, dbi, &k, &v, 0); // not the last key
    check("mdb_put block", rc);
    from = to;
  }
  return from;
}

// Schema 1 → 2 of one table: reads every record (decode: the key without its dataset, and the
// value, to an item; nullopt for a record of another shape), then writes each dataset's items
// as blocks of type B in their place.
template <typename B, typename Item, typename Decode>
void convertTable(MDB_txn* txn, MDB_dbi dbi, const char* what, Decode decode) {
  std::vector<std::pair<uint32_t, Item>> all;
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(txn, dbi, &c));
  MDB_val k, v;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    std::optional<Item> item;
    if (k.mv_size >= 4) item = decode(view(k).substr(4), view(v));
    if (!item) {
      mdb_cursor_close(c);
      throw StoreError(std::string("schema 1 ") + what + " record of unexpected size");
    }
    all.emplace_back(bytes::get32(k.mv_data), std::move(*item));
  }
  mdb_cursor_close(c);
  check("mdb_drop", mdb_drop(txn, dbi, 0));
  std::vector<Item> run;
  for (size_t i = 0; i < all.size(); ++i) {
    run.push_back(std::move(all[i].second));
    if (i + 1 == all.size() || all[i + 1].first != all[i].first) {
      putBlocksOf<B, Item>(txn, dbi, all[i].first, run, true, false);
      run.clear();
    }
  }
}

template <typename Addr>
size_t putBlocks(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset, std::span<const Piece<Addr>> pieces,
                 bool append, bool keepTail = false) {
  return putBlocksOf<Block<Addr>, Piece<Addr>>(txn, dbi, dataset, pieces, append, keepTail);
}

// Writes the intervals a Writer collected (putIp4/putIp6) as blocks; all of them, or (keepTail)
// only the full blocks, keeping the rest for the next intervals.
template <typename Interval>
void flushPending(MDB_txn* txn, MDB_dbi dbi, Writer::Pending<Interval>& p, bool keepTail = false) {
  if (p.run.empty()) return;
  const size_t written =
      putBlocks<decltype(Interval::start)>(txn, dbi, p.dataset, p.run, true, keepTail);
  p.run.erase(p.run.begin(), p.run.begin() + static_cast<std::ptrdiff_t>(written));
}

// Schema 1 → 2: one record per interval (key dataset ‖ start, value end ‖ set) into blocks.
template <typename Addr>
void convertToBlocks(MDB_txn* txn, MDB_dbi dbi) {
  constexpr size_t kAddr = sizeof(Addr);
  convertTable<Block<Addr>, Piece<Addr>>(
      txn, dbi, "interval",
      [](std::string_view k, std::string_view v) -> std::optional<Piece<Addr>> {
        if (k.size() != kAddr || v.size() != kAddr + 4) return std::nullopt;
        Piece<Addr> x;
        getAddr(k.data(), x.start);
        getAddr(v.data(), x.end);
        x.valueSet = bytes::get32(v.data() + kAddr);
        return x;
      });
}

// The blocks of one dataset's intervals in a read transaction: their first starts (the keys),
// and for each block two cache lines with where it lies in the map, its counts and, once a
// lookup has read it, the starts of kPoints intervals spread evenly over it. Valid while the
// transaction reads that committed state: LMDB reuses no page of the newest state, nor of one a
// reader still holds. A binary search over a block's ~465 starts in the map missed the cache at
// nearly every step (perf: most of dnsxld's own time on XBL-like data); over the samples in
// memory and then ~17 starts (one or two cache lines), it does not. Kept in separate arrays
// (the block as read, where its samples are, the samples), they were a miss each.
template <typename Addr>
struct BlockIndex {
  static constexpr size_t kPoints = (128 - 16) / sizeof(Addr); // 28 IPv4 starts, 7 IPv6
  struct alignas(64) Entry {
    const char* data = nullptr; // the block in the map
    uint16_t n = 0;             // intervals; 0: a corrupt block, where nothing is found
    uint8_t m = 0;
    uint8_t single = 0;         // every interval one address: no ends
    uint8_t sampled = 0;        // samples taken
    Addr samples[kPoints] = {}; // the starts of intervals 0, stride, 2 * stride, ... below n
    size_t stride() const { return (n + kPoints - 1) / kPoints; }
    size_t count() const { return (n + stride() - 1) / stride(); }
  };
  static_assert(sizeof(Entry) == 128);
  uint32_t dataset = 0;
  std::vector<Addr> starts;
  std::vector<Entry> blocks;

  // The block holding the last interval starting at or below a, if any (as out), and its
  // index there.
  bool find(const Addr& a, Block<Addr>& out, size_t& i) {
    if (starts.empty() || a < starts[0]) return false;
    Entry& x = blocks[lastAtOrBelow(starts.data(), starts.size(), a)];
    if (x.n == 0) return false;
    out.shape(x.data, x.n, x.m, x.single);
    const size_t stride = x.stride(), count = x.count();
    if (!x.sampled) {
      for (size_t j = 0; j < count; ++j)
        getAddr(out.startAt(j * stride), x.samples[j]);
      x.sampled = 1;
    }
    const size_t k = lastAtOrBelow(x.samples, count, a) * stride;
    // The end and value set the caller reads next lie in other arrays of the block: start
    // loading them now, alongside the starts (perf: the end's cache miss was most of ip4()).
    if (out.ends != out.p) __builtin_prefetch(out.endAt(k));
    if (out.idx)
      __builtin_prefetch(out.idx + k);
    else if (out.m == 0)
      __builtin_prefetch(out.sets + 4 * k);
    if (out.m > 0) __builtin_prefetch(out.sets);
    i = out.find(a, k, stride);
    return true;
  }
  // In xs[0, n) (xs[0] <= a), the last at or below a.
  static size_t lastAtOrBelow(const Addr* xs, size_t n, const Addr& a) {
    size_t base = 0;
    for (size_t len = n; len > 1;) {
      const size_t half = len / 2;
      if (!(a < xs[base + half])) base += half;
      len -= half;
    }
    return base;
  }
};

template <typename Addr>
void buildIndex(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset, BlockIndex<Addr>& ix) {
  ix.dataset = dataset;
  ix.starts.reserve(recordsOfDataset(txn, dbi, dataset));
  ix.blocks.reserve(ix.starts.capacity());
  forEachOfDataset(txn, dbi, dataset, [&](std::string_view first, std::string_view block) {
    if (first.size() != sizeof(Addr)) throw StoreError("corrupt interval block key");
    Addr start;
    getAddr(first.data(), start);
    ix.starts.push_back(start);
    Block<Addr> b;
    typename BlockIndex<Addr>::Entry x;
    if (b.read(val(block.data(), block.size())) && b.n <= UINT16_MAX) {
      x.data = block.data();
      x.n = static_cast<uint16_t>(b.n);
      x.m = static_cast<uint8_t>(b.m);
      x.single = b.ends == b.p;
    }
    ix.blocks.push_back(x);
  });
}

} // namespace dnsxl::store::detail
