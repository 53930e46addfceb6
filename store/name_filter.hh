// Internal to store/: the name filters (schema 3) — a blocked Bloom filter of each dataset's
// names and the names above them — and the index of a dataset's name blocks that a reader builds.
#pragma once

#include "store/name_block.hh"

#include <optional>
#include <string_view>
#include <vector>

namespace dnsxl::store::detail {

// ---- Name filters (schema 3) ----
// A dataset's names, and every name above them (what RFC 8020 needs: "do names exist below
// this one?"), in a blocked Bloom filter: each key sets one bit in each of the eight 64-bit
// words of one 64-byte line (the split-block Bloom filter of Apache Parquet's format spec,
// with its eight salts), so a lookup reads one cache line. 70% of the names a DNSBL is asked
// about are not listed; for those the filter answers instead of the search over the blocks
// (its ~14 steps, the block's index line and 2-3 of its lines). At 10 bits a key it passes
// ~1% of the keys it does not hold, which then take the search. The words are stored a byte
// at a time (bit b of word w: byte 8w + b / 8, bit b % 8), so the store reads the same on any
// machine; the hash, too, is defined here on bytes.

inline uint64_t nameHash(std::string_view k) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  uint64_t h = kMul ^ k.size();
  for (size_t i = 0; i < k.size(); i += 8) {
    uint64_t w = 0;
    for (size_t j = 0; j < 8 && i + j < k.size(); ++j)
      w |= uint64_t{static_cast<uint8_t>(k[i + j])} << (8 * j);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  // MurmurHash3's 64-bit finaliser: every bit of the input moves every bit of the output
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  h ^= h >> 33;
  return h;
}

struct NameFilter {
  static constexpr size_t kLine = 64;
  static constexpr size_t kBitsPerKey = 10;
  static constexpr uint32_t kSalt[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                        0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};
  const uint8_t* lines = nullptr; // nullptr: no filter (every key may be there)
  size_t count = 0;               // lines

  static size_t linesFor(size_t keys) { return std::max<size_t>(1, keys * kBitsPerKey / 512 + 1); }
  // The line of hash h: the high 32 bits scaled to the count (no modulo).
  static size_t lineOf(uint64_t h, size_t count) { return ((h >> 32) * count) >> 32; }
  static unsigned bitOf(uint64_t h, size_t w) {
    return (static_cast<uint32_t>(h) * kSalt[w]) >> 26; // 0..63
  }
  static void set(uint8_t* lines, size_t count, uint64_t h) {
    uint8_t* line = lines + kLine * lineOf(h, count);
    for (size_t w = 0; w < 8; ++w) {
      const unsigned b = bitOf(h, w);
      line[8 * w + b / 8] = static_cast<uint8_t>(line[8 * w + b / 8] | (1U << (b % 8)));
    }
  }
  // The filter of a dataset as the filter table holds it (key: the dataset, big-endian): a
  // 48-byte header (u32 lines, u32 keys, big-endian; zeros), then the lines. A value that big
  // lies in overflow pages, 16 bytes into the first: the lines start on a cache line.
  static constexpr size_t kHeader = 48;
  static NameFilter of(std::string_view v) {
    NameFilter f;
    if (v.size() < kHeader) return f;
    const size_t n = bytes::get32(v.data());
    if (n == 0 || v.size() != kHeader + kLine * n) return f; // not ours: no filter
    f.lines = reinterpret_cast<const uint8_t*>(v.data()) + kHeader;
    f.count = n;
    return f;
  }
  bool mayContain(uint64_t h) const {
    if (!lines) return true;
    const uint8_t* line = lines + kLine * lineOf(h, count);
    unsigned all = 1;
    for (size_t w = 0; w < 8; ++w) {
      const unsigned b = bitOf(h, w);
      all &= static_cast<unsigned>(line[8 * w + b / 8]) >> (b % 8);
    }
    return all & 1;
  }
  // Calls f with the hash of k and of each name above it that the name before k (prev, in key
  // order; empty for the first) is not below too: a sorted run of names hashes each name above
  // them once. The names above k are its prefixes that end a label (at a \0).
  template <typename F>
  static void forNameAndAbove(std::string_view prev, std::string_view k, F f) {
    const size_t common = static_cast<size_t>(
        std::mismatch(prev.begin(), prev.end(), k.begin(), k.end()).first - prev.begin());
    for (size_t i = common; i + 1 < k.size(); ++i)
      if (k[i] == '\0') f(nameHash(k.substr(0, i + 1)));
    f(nameHash(k));
  }
  // Whether the filter speaks for key k: the empty key and keys that end a label (the keys a
  // query asks about). For others (a key cut within a label) it cannot say whether names lie
  // below k.
  static bool covers(std::string_view k) { return k.empty() || k.back() == '\0'; }
};

// The blocks of one dataset's names in a read transaction: their first names' 16-byte prefixes
// (the search over blocks), and one cache line per block with where it lies in the map (valid
// as BlockIndex's are) and, once a lookup has read the block, its counts and 4 bytes and the
// entry offset of kPoints names spread evenly over it (name 0 and every stride-th after it). A
// binary search over a block's ~80 names in the map misses the cache twice a step (offset, then
// name: perf put a third of dnsxld's time on DBL-like data there); the samples narrow it to
// one stride (~10 names) first. Their bytes are those after the ones all the block's names
// share (up to 16): from byte 0, the names under "online." would tie on all of them and narrow
// nothing; after them, 4 bytes tell names apart about as well as 8, and take half the room. The
// line holds all an answer needs of the index beyond the prefixes: kept in separate arrays (map
// address, counts, samples, offsets), they cost a miss each. 64 bytes a block: 0.8 MB for 1M
// names, which RSS here pays against rbldnsd's. Read lazily: building them for every block would
// read nearly all the data before the first answer of each new store state.
struct NameIndex {
  static constexpr size_t kPoints = 8;
  struct alignas(64) Block {
    const uint8_t* data = nullptr; // the block in the map
    uint32_t size = 0;
    uint16_t n = 0;     // names; 0 until a lookup has read the block
    uint8_t m = 0;      // palette entries
    uint8_t common = 0; // bytes all its names share, at most 16
    // of names 0, stride, 2 * stride, ... below n: their 4 bytes from byte `common` on, as a
    // big-endian number (zero-padded)
    uint32_t prefix[kPoints] = {};
    uint16_t offsets[kPoints - 1] = {}; // where each sampled name's entry starts, after name 0's
    size_t stride() const { return (n + kPoints - 1) / kPoints; }
    size_t count() const { return n ? (n + stride() - 1) / stride() : 0; }
    size_t offset(size_t j) const { return j ? offsets[j - 1] : 0; }
  };
  static_assert(sizeof(Block) == 64);
  uint32_t dataset = 0;
  std::vector<Prefix16> prefixes; // of the blocks' first names
  std::vector<Block> blocks;
  NameFilter filter; // of the dataset's names (none in a store of schema 2)

  static MDB_val where(const Block& x) { return val(x.data, x.size); }

  // Whether name, or a name below it, may be in the dataset: false only where the filter
  // speaks for name and does not hold it.
  bool mayHold(std::string_view name) const {
    return !NameFilter::covers(name) || filter.mayContain(nameHash(name));
  }

  // Reads block blk, which find() chose for key k (16-byte prefix kp), as b, and where in it
  // the last name at or below k lies: [base, base + len). Prefixes order as their names do;
  // equal prefixes tell nothing. A block with samples is read from what the index knows (no
  // touch of its header), and the lines the search will read, its offsets and entries, are
  // requested together. False for a corrupt block.
  bool open(size_t blk, NameBlock& b, const Prefix16& kp, std::string_view k, size_t& base,
            size_t& len) {
    Block& x = blocks[blk];
    if (x.n == 0) {
      if (!b.read(where(x))) return false;
      base = 0;
      len = b.n;
      const uint8_t* e0 = b.at(0);
      const uint8_t* last = b.at(b.n - 1);
      if (!e0 || !last) return true; // corrupt: search all of it, as without samples
      const auto k0 = NameBlock::key(e0), kl = NameBlock::key(last);
      size_t c = 0;
      while (c < 16 && c < k0.size() && c < kl.size() && k0[c] == kl[c])
        ++c;
      Block y = x;
      y.n = static_cast<uint16_t>(b.n);
      y.m = static_cast<uint8_t>(b.m);
      y.common = static_cast<uint8_t>(c);
      for (size_t j = 0; j < y.count(); ++j) {
        const uint8_t* e = b.at(j * y.stride());
        const auto ek = e ? NameBlock::key(e) : std::string_view();
        if (!e || ek.size() < c) return true; // sorted names between k0 and kl share their c
        if (j) y.offsets[j - 1] = static_cast<uint16_t>(e - b.entries);
        y.prefix[j] = static_cast<uint32_t>(prefixOf(ek.data() + c, ek.size() - c) >> 32);
      }
      x = y;
    } else {
      b.shape(where(x), x.n, x.m);
    }
    const size_t count = x.count(), stride = x.stride();
    // k is at or above the block's first name: if it differs from it in the shared bytes, it is
    // above all the block's names (the last sample's range); if it is shorter than they are,
    // it differs
    const uint32_t skp = k.size() >= x.common && kp.sameFirst(prefixes[blk], x.common)
                             ? static_cast<uint32_t>(prefixOf(k.substr(x.common)) >> 32)
                             : UINT32_MAX;
    const uint32_t* s = x.prefix;
    const size_t below = static_cast<size_t>(std::lower_bound(s, s + count, skp) - s);
    const size_t atOrBelow = static_cast<size_t>(std::upper_bound(s + below, s + count, skp) - s);
    // sample below - 1 is below the name; sample atOrBelow (if any) above it
    const size_t first = below == 0 ? 0 : below - 1;
    base = first * stride;
    const size_t end = atOrBelow < count ? atOrBelow * stride : b.n;
    len = end > base ? end - base : 1;
    const size_t to = atOrBelow < count ? x.offset(atOrBelow) : b.entriesSize;
    b.prefetch(base, len, x.offset(first), to);
    return true;
  }

  // Block blk's first name (its key), read from the block: rarely needed (prefixes decide most
  // comparisons), so not kept. Empty for a corrupt block.
  std::string_view first(size_t blk) const {
    NameBlock b;
    const uint8_t* e = b.read(where(blocks[blk])) ? b.at(0) : nullptr;
    return e ? NameBlock::key(e) : std::string_view();
  }
  // The last block whose first name is at or below k (its prefix: kp); npos if none.
  size_t find(const Prefix16& kp, std::string_view k) const {
    auto atOrBelowK = [&](size_t blk) {
      return prefixes[blk] != kp ? prefixes[blk] < kp : first(blk) <= k;
    };
    if (blocks.empty() || !atOrBelowK(0)) return std::string_view::npos;
    size_t base = 0;
    for (size_t len = blocks.size(); len > 1;) {
      const size_t half = len / 2;
      if (atOrBelowK(base + half)) base += half;
      len -= half;
    }
    return base;
  }
};

// filter: the filter table, or nullopt in a store without one (schema 2, read only).
inline void buildIndex(MDB_txn* txn, MDB_dbi dbi, std::optional<MDB_dbi> filter, uint32_t dataset,
                       NameIndex& ix) {
  ix.dataset = dataset;
  if (filter) {
    uint8_t key[4];
    bytes::set32(key, dataset);
    MDB_val k = val(key, 4), v;
    const int rc = mdb_get(txn, *filter, &k, &v);
    if (rc != MDB_NOTFOUND) check("mdb_get filter", rc);
    if (rc == MDB_SUCCESS) ix.filter = NameFilter::of(view(v));
  }
  ix.prefixes.reserve(recordsOfDataset(txn, dbi, dataset));
  ix.blocks.reserve(ix.prefixes.capacity());
  forEachOfDataset(txn, dbi, dataset, [&](std::string_view first, std::string_view block) {
    ix.prefixes.push_back(prefix16Of(first));
    NameIndex::Block x;
    x.data = reinterpret_cast<const uint8_t*>(block.data());
    x.size = static_cast<uint32_t>(block.size());
    ix.blocks.push_back(x);
  });
}

// What a dataset's names say about one name key: its entry, and the next name in key order
// (what tells whether names exist below it; left empty where the filter shows that none do).
struct NameSpot {
  std::optional<DomainEntry> exact;
  std::optional<std::string_view> next;
};

inline NameSpot findName(NameIndex* ix, MDB_cursor* c, uint32_t dataset, std::string_view name) {
  const Prefix16 prefix16 = prefix16Of(name);
  const uint64_t namePrefix = prefix16.hi;
  NameSpot out;
  // neither the name nor names below it (the filter does not hold it): no entry, and no next
  // name (the one next in order, if any, is not below it)
  if (ix && !ix->mayHold(name)) return out;
  auto inBlock = [&](const MDB_val& v, size_t blk = std::string_view::npos) {
    NameBlock b;
    size_t i = 0, base = 0, len = SIZE_MAX;
    if (blk != std::string_view::npos ? !ix->open(blk, b, prefix16, name, base, len) : !b.read(v))
      return true; // corrupt: nothing found
    const uint8_t* e = b.find(namePrefix, name, i, base, len);
    if (!e) return true; // corrupt: nothing found
    if (NameBlock::key(e) == name) out.exact = b.entry(e);
    if (i + 1 < b.n) {
      if (const uint8_t* nx = b.at(i + 1)) out.next = NameBlock::key(nx);
      return true;
    }
    return false; // the next name starts the next block
  };
  if (ix) {
    const size_t blk = ix->find(prefix16, name);
    if (blk != std::string_view::npos && inBlock(NameIndex::where(ix->blocks[blk]), blk))
      return out;
    const size_t nextBlk = blk == std::string_view::npos ? 0 : blk + 1;
    if (nextBlk < ix->blocks.size()) out.next = ix->first(nextBlk);
    return out;
  }
  if (name.size() > kMaxNameKey) return out;
  uint8_t key[4 + kMaxNameKey];
  bytes::set32(key, dataset);
  if (!name.empty()) std::memcpy(key + 4, name.data(), name.size());
  const size_t len = 4 + name.size();
  auto ours = [&](const MDB_val& k) {
    return k.mv_size >= 4 && std::memcmp(k.mv_data, key, 4) == 0;
  };
  const std::string_view whole(reinterpret_cast<const char*>(key), len);
  MDB_val k, v;
  int rc = seekBlock(c, whole, k, v);
  if (rc == MDB_SUCCESS && ours(k) && view(k) <= whole) { // the block where name belongs
    if (inBlock(v)) return out;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  if (rc == MDB_SUCCESS && ours(k))
    out.next = view(k).substr(4);
  else if (rc != MDB_NOTFOUND && rc != MDB_SUCCESS)
    check("mdb_cursor_get", rc);
  return out;
}

// Writes a dataset's name filter from its names as txn sees them; deletes it if it has none.
inline void writeNameFilter(MDB_txn* txn, MDB_dbi dom, MDB_dbi filter, uint32_t dataset) {
  std::vector<uint64_t> hashes;
  std::string prev;
  forEachOfDataset(txn, dom, dataset, [&](std::string_view, std::string_view block) {
    forEachNameIn(val(block.data(), block.size()), [&](std::string_view k, DomainEntry) {
      NameFilter::forNameAndAbove(prev, k, [&](uint64_t h) { hashes.push_back(h); });
      prev.assign(k);
    });
  });
  uint8_t key[4];
  bytes::set32(key, dataset);
  MDB_val k = val(key, 4);
  if (hashes.empty()) {
    const int rc = mdb_del(txn, filter, &k, nullptr);
    if (rc != MDB_NOTFOUND) check("mdb_del filter", rc);
    return;
  }
  hashes.push_back(nameHash({})); // the dataset's top: names exist below it
  const size_t lines = NameFilter::linesFor(hashes.size());
  MDB_val v = val(nullptr, NameFilter::kHeader + NameFilter::kLine * lines);
  check("mdb_put filter", mdb_put(txn, filter, &k, &v, MDB_RESERVE));
  auto* out = static_cast<uint8_t*>(v.mv_data);
  std::memset(out, 0, v.mv_size);
  bytes::set32(out, static_cast<uint32_t>(lines));
  bytes::set32(out + 4, static_cast<uint32_t>(std::min<size_t>(hashes.size(), UINT32_MAX)));
  for (uint64_t h : hashes)
    NameFilter::set(out + NameFilter::kHeader, lines, h);
}

// The datasets that have names in the dom table.
inline std::vector<uint32_t> datasetsWithNames(MDB_txn* txn, MDB_dbi dom) {
  std::vector<uint32_t> out;
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(txn, dom, &c));
  uint8_t key[4] = {};
  MDB_val k = val(key, 4), v;
  int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && k.mv_size >= 4) {
    const uint32_t ds = bytes::get32(k.mv_data);
    out.push_back(ds);
    if (ds == UINT32_MAX) break;
    bytes::set32(key, ds + 1);
    k = val(key, 4);
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  }
  mdb_cursor_close(c);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) check("mdb_cursor_get", rc);
  return out;
}

} // namespace dnsxl::store::detail
