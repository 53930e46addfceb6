#include "store/store.hh"

#include "dns/byte_order.hh"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <lmdb.h>
#include <string>
#include <sys/mman.h>
#include <tuple>
#include <type_traits>
#include <unordered_map>

namespace dnsxl::store {

namespace {

enum Table : int {
  kMeta = 0,
  kZones,
  kIp4Table,
  kIp6Table,
  kDom,
  kValues,
  kGen,
  // Added after schema 1's first stores (read-only opens of older stores find them missing):
  kEnt,     // the imported entries with their provenance
  kMan,     // the manual changes (dnsxl add / delist), re-applied by every import
  kLog,     // the audit trail
  kJournal, // the IXFR journal
  kFilter,  // the name filters (schema 3)
  kTableCount
};
constexpr std::array<const char*, kTableCount> kTableNames = {
    "meta", "zones", "ip4",    "ip6",   "dom",     "values",
    "gen",  "ent",   "manual", "audit", "journal", "filter"};
static_assert(kTableCount <= 13, "Env::d_dbi holds 13 tables");

[[noreturn]] void fail(const char* call, int rc) {
  throw StoreError(std::string("LMDB ") + call + ": " + mdb_strerror(rc));
}
void check(const char* call, int rc) {
  if (rc != MDB_SUCCESS) fail(call, rc);
}

MDB_val val(const void* data, size_t size) {
  return MDB_val{size, const_cast<void*>(data)};
}
std::string_view view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// A bounds-checked reader for our own encodings; throws StoreError on corrupt records.
class Decoder {
public:
  explicit Decoder(std::string_view b) : d_b(b) {}
  uint32_t u32() {
    need(4);
    auto v = bytes::get32(d_b.data() + d_pos);
    d_pos += 4;
    return v;
  }
  uint16_t u16() {
    need(2);
    auto v = bytes::get16(d_b.data() + d_pos);
    d_pos += 2;
    return v;
  }
  uint64_t u64() {
    uint64_t hi = u32();
    return hi << 32 | u32();
  }
  size_t remaining() const { return d_b.size() - d_pos; }
  uint8_t u8() {
    need(1);
    return static_cast<uint8_t>(d_b[d_pos++]);
  }
  std::string str() {
    auto n = u16();
    need(n);
    std::string s(d_b.substr(d_pos, n));
    d_pos += n;
    return s;
  }

private:
  void need(size_t n) const {
    if (d_b.size() - d_pos < n)
      throw StoreError("unreadable zone record in the store (corrupt, or written by an "
                       "incompatible dnsxl build): move the store away and import again");
  }
  std::string_view d_b;
  size_t d_pos = 0;
};

void putStr(std::string& out, std::string_view s) {
  if (s.size() > 0xffff) throw StoreError("string too long for the store: " + std::string(s));
  bytes::put16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}

std::vector<ZoneRecord> readZones(MDB_txn* txn, MDB_dbi dbi) {
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(txn, dbi, &c));
  struct Close {
    MDB_cursor* c;
    ~Close() { mdb_cursor_close(c); }
  } closer{c};
  std::vector<ZoneRecord> out;
  MDB_val k, v;
  int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
    out.push_back(decodeZone(view(v)));
  if (rc != MDB_NOTFOUND) fail("mdb_cursor_get zones", rc);
  return out;
}

uint64_t readGeneration(MDB_txn* txn, MDB_dbi dbi) {
  MDB_val k = val("generation", 10), v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return 0;
  check("mdb_get generation", rc);
  return v.mv_size == 8 ? bytes::get64(v.mv_data) : 0;
}

// Calls f(key without the dataset prefix, value) for every key of one dataset in a table.
void forEachOfDataset(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset,
                      const std::function<void(std::string_view, std::string_view)>& f) {
  std::string prefix;
  bytes::put32(prefix, dataset);
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(txn, dbi, &c));
  MDB_val k = val(prefix.data(), 4), v;
  try {
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (k.mv_size < 4 || std::memcmp(k.mv_data, prefix.data(), 4) != 0) break;
      f(view(k).substr(4), view(v));
    }
  } catch (...) {
    mdb_cursor_close(c);
    throw;
  }
  mdb_cursor_close(c);
}

// How many records a dataset has in a table: what an index of its blocks reserves, so that it
// is not copied as it grows (the copies' fresh pages cost a page fault each: ~5 ms before the
// first answer of each store state for 1M names, here; counting first costs less).
size_t recordsOfDataset(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset) {
  size_t n = 0;
  forEachOfDataset(txn, dbi, dataset, [&](std::string_view, std::string_view) { ++n; });
  return n;
}

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
void putAddr(std::string& out, uint32_t a) {
  bytes::put32(out, a);
}
void putAddr(std::string& out, const Ip6& a) {
  out.append(reinterpret_cast<const char*>(a.data()), 16);
}
void getAddr(const char* p, uint32_t& a) {
  a = bytes::get32(p);
}
void getAddr(const char* p, Ip6& a) {
  std::memcpy(a.data(), p, 16);
}
uint32_t next(uint32_t a) {
  return a + 1;
}
uint32_t prev(uint32_t a) {
  return a - 1;
}
Ip6 next(Ip6 a) {
  for (size_t i = 16; i-- > 0;)
    if (++a[i] != 0) break;
  return a;
}
Ip6 prev(Ip6 a) {
  for (size_t i = 16; i-- > 0;)
    if (a[i]-- != 0) break;
  return a;
}
// Whether the big-endian address at p is <= a.
bool atOrBelow(const char* p, uint32_t a) {
  return bytes::get32(p) <= a;
}
bool atOrBelow(const char* p, const Ip6& a) {
  return std::memcmp(p, a.data(), 16) <= 0;
}

// Positions c on the last block at or below key (dataset ‖ start or first name) of key's
// dataset, else on the first block after key (of whichever dataset: callers check); returns
// the cursor's result.
int seekBlock(MDB_cursor* c, std::string_view key, MDB_val& k, MDB_val& v) {
  k = val(key.data(), key.size());
  const int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  if (rc == MDB_SUCCESS && view(k) == key) return rc;
  MDB_val pk, pv;
  const int prc = rc == MDB_SUCCESS    ? mdb_cursor_get(c, &pk, &pv, MDB_PREV)
                  : rc == MDB_NOTFOUND ? mdb_cursor_get(c, &pk, &pv, MDB_LAST)
                                       : rc;
  if (prc == MDB_SUCCESS && pk.mv_size >= 4 && std::memcmp(pk.mv_data, key.data(), 4) == 0) {
    k = pk;
    v = pv;
    return MDB_SUCCESS;
  }
  if (rc != MDB_SUCCESS) return rc;
  k = val(key.data(), key.size());
  return mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
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

// ---- Name blocks (schema 2) ----
// The dom table holds each dataset's names in blocks too: key dataset ‖ the block's first name
// key; value: u16 n, n u16 offsets of the entries (from the end of the offsets), then per name
// in key order: u8 length, the name key, its exact and below value sets (big-endian). A block
// holds at most what keeps it, with its key (the dataset and its first name), inside its leaf
// page, as interval blocks do: 2,038 - 8 - 4 - the first name's length, ~2,010 bytes, so that
// an import fills each 4 KiB page with two blocks. (A fixed 1,700, which fit the longest first
// name, left 15% of every page empty: 6,290 pages for 1M DBL-like names, 5,307 now.)

constexpr size_t kMaxNameKey = 255;
constexpr size_t nameBlockBytes(size_t firstKey) {
  return 2038 - 8 - 4 - firstKey;
}

using NameEntry = std::pair<std::string, DomainEntry>;

// The first 8 bytes of a name key as a big-endian number, zero-padded: keys whose prefixes
// differ compare as their prefixes do, so a binary search compares numbers and calls memcmp
// only on a tie. p must have 8 readable bytes (a key in a block is followed by its 8 bytes of
// value sets).
uint64_t prefixOf(const char* p, size_t len) {
  uint64_t v = 0;
  std::memcpy(&v, p, 8);
  v = __builtin_bswap64(v);
  return len >= 8 ? v : v & ~(~uint64_t{0} >> (8 * len));
}
uint64_t prefixOf(std::string_view k) {
  char buf[8] = {};
  if (!k.empty()) std::memcpy(buf, k.data(), std::min<size_t>(k.size(), 8));
  return prefixOf(buf, k.size());
}
// The first 16 bytes of a name key, as prefixOf's two numbers: what the search over a dataset's
// blocks compares. Eight are too few there: names under a long suffix share it ("online\0",
// "uk\0co\0"), so the blocks' first names tie on 8 bytes and each tie reads a block.
struct Prefix16 {
  uint64_t hi = 0, lo = 0;
  auto operator<=>(const Prefix16&) const = default;
  // whether the first c (≤ 16) bytes are equal
  bool sameFirst(const Prefix16& o, size_t c) const {
    if (c == 0) return true;
    if (c <= 8) return (hi ^ o.hi) >> (64 - 8 * c) == 0;
    return hi == o.hi && (c == 16 || (lo ^ o.lo) >> (64 - 8 * (c - 8)) == 0);
  }
};
Prefix16 prefix16Of(std::string_view k) {
  return {prefixOf(k), k.size() > 8 ? prefixOf(k.substr(8)) : 0};
}

// Whether a <= b, for keys with prefixes pa and pb.
bool atOrBelow(uint64_t pa, std::string_view a, uint64_t pb, std::string_view b) {
  if (pa != pb) return pa < pb;
  const size_t common = std::min(a.size(), b.size());
  const int c = common == 0 ? 0 : std::memcmp(a.data(), b.data(), common);
  return c < 0 || (c == 0 && a.size() <= b.size());
}

struct NameBlock {
  const uint8_t* p = nullptr;
  const uint8_t* entries = nullptr;
  const uint8_t* palette = nullptr;
  size_t n = 0, m = 0, entriesSize = 0;

  bool read(const MDB_val& v) {
    p = static_cast<const uint8_t*>(v.mv_data);
    if (v.mv_size < 4 + 8) return false;
    shape(v, bytes::get16(p), p[2]);
    return n != 0 && 4 + 2 * n + 4 * m + 8 <= v.mv_size;
  }
  size_t setBytes() const { return m ? 2 : 8; }
  // Where the parts of a block of n names and a palette of m lie: from its header (read()),
  // or from what an index kept of it, without reading the block again. The padding after
  // the entries is not theirs.
  void shape(const MDB_val& v, size_t n2, size_t m2) {
    p = static_cast<const uint8_t*>(v.mv_data);
    n = n2;
    m = m2;
    const size_t head = 4 + 2 * n + 4 * m;
    palette = p + 4 + 2 * n;
    entries = p + head;
    entriesSize = head + 8 <= v.mv_size ? v.mv_size - head - 8 : 0;
  }
  // Starts loading what a search over entries [base, base + len) reads: their offsets, and
  // the entries themselves, which lie in order from offset `from` to `to` — so the search
  // waits for one round of cache misses instead of one a step.
  void prefetch(size_t base, size_t len, size_t from, size_t to) const {
    __builtin_prefetch(p + 4 + 2 * base);
    __builtin_prefetch(p + 4 + 2 * (base + len) - 1);
    for (size_t off = from; off < to && off < entriesSize; off += 64)
      __builtin_prefetch(entries + off);
  }
  // Entry i: where it starts, or nullptr for one that does not fit the block (a corrupt store).
  const uint8_t* at(size_t i) const {
    const size_t off = bytes::get16(p + 4 + 2 * i);
    if (off >= entriesSize || off + 1 + entries[off] + setBytes() > entriesSize) return nullptr;
    return entries + off;
  }
  static std::string_view key(const uint8_t* e) {
    return {reinterpret_cast<const char*>(e + 1), e[0]};
  }
  DomainEntry entry(const uint8_t* e) const {
    const uint8_t* s = e + 1 + e[0];
    if (!m) return {bytes::get32(s), bytes::get32(s + 4)};
    auto pal = [&](uint8_t j) { return j < m ? bytes::get32(palette + 4 * j) : kNoValue; };
    return {pal(s[0]), pal(s[1])};
  }
  // The last entry whose key is at or below k (its prefix: kp), of those in [base, base + len)
  // (the first of them must be); nullptr if the block is corrupt. Reads 8 bytes at each key:
  // the block ends in 8 bytes of padding.
  const uint8_t* find(uint64_t kp, std::string_view k, size_t& index, size_t base = 0,
                      size_t len = SIZE_MAX) const {
    for (len = std::min(len, n - base); len > 1;) {
      const size_t half = len / 2;
      const uint8_t* e = at(base + half);
      if (!e) return nullptr;
      const auto ek = key(e);
      if (atOrBelow(prefixOf(ek.data(), ek.size()), ek, kp, k)) base += half;
      len -= half;
    }
    index = base;
    return at(base);
  }

  // What a block of some names takes, as they are added one by one. Header: u16 n, u8 m (the
  // palette's size, 0 = none), u8 0; n u16 offsets of the entries; m value sets; per name: u8
  // length, the key, and either two u8 indexes into the palette or the two value sets; 8 bytes
  // of padding.
  struct Sizer {
    static constexpr size_t kMaxPalette = 64;
    size_t n = 0, keys = 0, limit = 0;
    bool paletteOk = true;
    std::vector<uint32_t> palette;

    static size_t bytes(size_t n, size_t keys, bool withPalette, size_t m) {
      return 4 + 2 * n + keys + (withPalette ? 4 * m + 2 * n : 8 * n) + 8;
    }
    bool usePalette() const {
      return paletteOk && bytes(n, keys, true, palette.size()) < bytes(n, keys, false, 0);
    }
    bool add(const NameEntry& x) {
      const size_t keys2 = keys + 1 + x.first.size();
      size_t m2 = palette.size();
      bool ok2 = paletteOk;
      uint32_t fresh[2];
      size_t nFresh = 0;
      for (uint32_t s : {x.second.exact, x.second.wild})
        if (ok2 && std::find(palette.begin(), palette.end(), s) == palette.end() &&
            !(nFresh == 1 && fresh[0] == s))
          fresh[nFresh++] = s;
      if (ok2 && m2 + nFresh > kMaxPalette) ok2 = false;
      m2 += ok2 ? nFresh : 0;
      size_t b = bytes(n + 1, keys2, false, 0);
      if (ok2) b = std::min(b, bytes(n + 1, keys2, true, m2));
      if (n == 0) limit = nameBlockBytes(std::min(x.first.size(), kMaxNameKey));
      if (n > 0 && b > limit) return false; // a first name always fits
      ++n;
      keys = keys2;
      paletteOk = ok2;
      if (ok2) palette.insert(palette.end(), fresh, fresh + nFresh);
      return true;
    }
  };

  static void appendKey(std::string& key, const NameEntry& first) { key.append(first.first); }
  static void encode(std::string& out, std::span<const NameEntry> names) {
    Sizer s;
    for (const auto& x : names)
      s.add(x);
    const bool pal = s.usePalette();
    out.clear();
    bytes::put16(out, static_cast<uint16_t>(names.size()));
    out.push_back(static_cast<char>(pal ? s.palette.size() : 0));
    out.push_back(0);
    size_t off = 0;
    for (const auto& [k, e] : names) {
      bytes::put16(out, static_cast<uint16_t>(off));
      off += 1 + k.size() + (pal ? 2 : 8);
    }
    if (pal)
      for (uint32_t set : s.palette)
        bytes::put32(out, set);
    auto indexOf = [&](uint32_t set) {
      return static_cast<char>(std::find(s.palette.begin(), s.palette.end(), set) -
                               s.palette.begin());
    };
    for (const auto& [k, e] : names) {
      out.push_back(static_cast<char>(k.size()));
      out.append(k);
      if (pal) {
        out.push_back(indexOf(e.exact));
        out.push_back(indexOf(e.wild));
      } else {
        bytes::put32(out, e.exact);
        bytes::put32(out, e.wild);
      }
    }
    out.append(8, '\0');
  }
};

// Calls f(key, entry) for each name of a block in key order; StoreError for a corrupt block.
template <typename F>
void forEachNameIn(const MDB_val& block, F&& f) {
  NameBlock b;
  if (!b.read(block)) throw StoreError("corrupt name block");
  for (size_t i = 0; i < b.n; ++i) {
    const uint8_t* e = b.at(i);
    if (!e) throw StoreError("corrupt name block");
    f(NameBlock::key(e), b.entry(e));
  }
}

size_t putNameBlocks(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset, std::span<const NameEntry> names,
                     bool append, bool keepTail = false) {
  return putBlocksOf<NameBlock, NameEntry>(txn, dbi, dataset, names, append, keepTail);
}

// Schema 1 → 2 of the dom table: one record per name (key dataset ‖ name, value exact ‖ below).
void convertNamesToBlocks(MDB_txn* txn, MDB_dbi dbi) {
  convertTable<NameBlock, NameEntry>(
      txn, dbi, "name", [](std::string_view k, std::string_view v) -> std::optional<NameEntry> {
        if (k.size() > kMaxNameKey || v.size() != 8) return std::nullopt;
        return NameEntry{std::string(k),
                         DomainEntry{bytes::get32(v.data()), bytes::get32(v.data() + 4)}};
      });
}

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

uint64_t nameHash(std::string_view k) {
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
void buildIndex(MDB_txn* txn, MDB_dbi dbi, std::optional<MDB_dbi> filter, uint32_t dataset,
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

NameSpot findName(NameIndex* ix, MDB_cursor* c, uint32_t dataset, std::string_view name) {
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
void writeNameFilter(MDB_txn* txn, MDB_dbi dom, MDB_dbi filter, uint32_t dataset) {
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
std::vector<uint32_t> datasetsWithNames(MDB_txn* txn, MDB_dbi dom) {
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

// Writer::putDomain, deleteDomain, deleteDomainsBelow: reads the block where name belongs (the
// last starting at or below it, else the dataset's first) and, with below, the blocks after it
// that hold names below it; deletes them; lets edit change their names; writes them back.
// Returns whether edit changed them.
template <typename Edit>
bool editNames(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset, std::string_view name, bool below,
               Edit edit) {
  if (name.size() > kMaxNameKey) throw StoreError("domain name too long for the store");
  std::string key;
  bytes::put32(key, dataset);
  key.append(name);
  auto ours = [&](const MDB_val& k) {
    return k.mv_size >= 4 && std::memcmp(k.mv_data, key.data(), 4) == 0;
  };
  std::vector<NameEntry> names;
  std::vector<std::string> oldKeys;
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(txn, dbi, &c));
  try {
    MDB_val k, v;
    int rc = seekBlock(c, key, k, v);
    for (bool first = true; rc == MDB_SUCCESS && ours(k);
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), first = false) {
      const std::string_view bk = view(k).substr(4);
      // after the first block, only those starting at or below name, or below it
      if (!first && !(below && (bk <= name || bk.starts_with(name)))) break;
      forEachNameIn(v, [&](std::string_view nk, DomainEntry e) { names.emplace_back(nk, e); });
      oldKeys.emplace_back(view(k));
      if (!below) break;
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) check("mdb_cursor_get", rc);
  } catch (...) {
    mdb_cursor_close(c);
    throw;
  }
  mdb_cursor_close(c);
  if (!edit(names)) return false;
  for (const auto& dk : oldKeys) {
    MDB_val k = val(dk.data(), dk.size());
    check("mdb_del", mdb_del(txn, dbi, &k, nullptr));
  }
  putNameBlocks(txn, dbi, dataset, names, false);
  return true;
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

} // namespace

std::string
encodeValueSet(std::span<const std::pair<uint32_t, std::optional<std::string>>> values) {
  std::string out;
  for (const auto& [a, txt] : values)
    appendValue(out, a, txt, 0);
  return out;
}

size_t expandTemplate(std::string_view tmpl, std::string_view subject,
                      const std::array<std::string, 10>& vars, char* out, size_t cap) {
  size_t n = 0;
  auto put = [&](std::string_view s) {
    size_t k = std::min(s.size(), cap - n);
    std::memcpy(out + n, s.data(), k);
    n += k;
  };
  for (size_t i = 0; i < tmpl.size() && n < cap; ++i) {
    char c = tmpl[i];
    if (c != '$') {
      out[n++] = c;
      continue;
    }
    char next = i + 1 < tmpl.size() ? tmpl[i + 1] : '\0';
    if (next == '$') {
      out[n++] = '$';
      ++i;
    } else if (next >= '0' && next <= '9') {
      const auto& var = vars[static_cast<size_t>(next - '0')];
      put(var.empty() ? tmpl.substr(i, 2) : std::string_view(var));
      ++i;
    } else {
      put(subject);
    }
  }
  return n;
}

// Per value: u32 A, a flags byte (1: a TXT follows as u16 length + bytes, 2: an expiry follows
// as u64 Unix time, after the TXT).
void appendValue(std::string& out, uint32_t a, const std::optional<std::string>& txt,
                 int64_t expires) {
  bytes::put32(out, a);
  out.push_back(static_cast<char>((txt ? 1 : 0) | (expires != 0 ? 2 : 0)));
  if (txt) {
    if (txt->size() > 0xffff) throw StoreError("TXT template longer than 65535 bytes");
    bytes::put16(out, static_cast<uint16_t>(txt->size()));
    out.append(*txt);
  }
  if (expires != 0) bytes::put64(out, static_cast<uint64_t>(expires));
}

bool ValueSetReader::next(ValueView& out) {
  if (d_bytes.size() - d_pos < 5) return false;
  out.a = bytes::get32(d_bytes.data() + d_pos);
  const auto flags = static_cast<uint8_t>(d_bytes[d_pos + 4]);
  out.hasTxt = (flags & 1) != 0;
  d_pos += 5;
  out.txt = {};
  out.expires = 0;
  if (out.hasTxt) {
    if (d_bytes.size() - d_pos < 2) return false;
    size_t n = bytes::get16(d_bytes.data() + d_pos);
    d_pos += 2;
    if (d_bytes.size() - d_pos < n) return false;
    out.txt = d_bytes.substr(d_pos, n);
    d_pos += n;
  }
  if (flags & 2) {
    if (d_bytes.size() - d_pos < 8) return false;
    uint64_t t = 0;
    for (int i = 0; i < 8; ++i)
      t = t << 8 | static_cast<uint8_t>(d_bytes[d_pos + static_cast<size_t>(i)]);
    out.expires = static_cast<int64_t>(t);
    d_pos += 8;
  }
  return true;
}

constexpr uint8_t kZoneTrailerVersion = 1;

std::string encodeZone(const ZoneRecord& z) {
  std::string out;
  putStr(out, z.name);
  putStr(out, z.soa.mname);
  putStr(out, z.soa.rname);
  for (uint32_t v :
       {z.soa.serial, z.soa.refresh, z.soa.retry, z.soa.expire, z.soa.minimum, z.soa.ttl, z.nsTtl})
    bytes::put32(out, v);
  bytes::put16(out, static_cast<uint16_t>(z.ns.size()));
  for (const auto& n : z.ns)
    putStr(out, n);
  bytes::put16(out, static_cast<uint16_t>(z.datasets.size()));
  for (const auto& d : z.datasets) {
    bytes::put32(out, d.id);
    putStr(out, d.name);
    out.push_back(static_cast<char>(d.kinds));
    bytes::put32(out, d.ttl);
    for (const auto& v : d.vars)
      putStr(out, v);
    bytes::put64(out, static_cast<uint64_t>(d.expires));
    bytes::put16(out, static_cast<uint16_t>(d.subzones.size()));
    for (const auto& s : d.subzones)
      putStr(out, s);
  }
  // Added after schema 1's records, which end above: read only when present, and only when its
  // version byte is one this build knows.
  out.push_back(static_cast<char>(kZoneTrailerVersion));
  for (const auto& d : z.datasets) {
    bytes::put64(out, d.entries);
    bytes::put16(out, static_cast<uint16_t>(d.files.size()));
    for (const auto& f : d.files)
      putStr(out, f);
  }
  return out;
}

std::string entryKey(uint32_t dataset, uint32_t seq) {
  std::string k;
  bytes::put32(k, dataset);
  bytes::put32(k, seq);
  return k;
}

std::string encodeEntry(const EntryRecord& e) {
  std::string out;
  encodeEntry(out, e, {});
  return out;
}

void encodeEntry(std::string& out, const EntryRecord& e, std::string_view packedFields) {
  out.clear();
  out.push_back(static_cast<char>(e.kind));
  if (e.kind == EntryRecord::V4) {
    bytes::put32(out, e.lo4);
    bytes::put32(out, e.hi4);
  } else if (e.kind == EntryRecord::V6) {
    out.append(reinterpret_cast<const char*>(e.lo6.data()), 16);
    out.append(reinterpret_cast<const char*>(e.hi6.data()), 16);
  } else {
    putStr(out, e.name);
    out.push_back(static_cast<char>(e.scope));
  }
  out.push_back(static_cast<char>(e.excluded ? 1 : 0));
  bytes::put32(out, e.value);
  bytes::put16(out, e.file);
  bytes::put32(out, e.line);
  if (!packedFields.empty()) {
    out.append(packedFields);
    return;
  }
  for (const auto& f : e.fields)
    putStr(out, f);
}

EntryRecord decodeEntry(std::string_view bytes) {
  Decoder d(bytes);
  EntryRecord e;
  e.kind = static_cast<EntryRecord::Kind>(d.u8());
  if (e.kind == EntryRecord::V4) {
    e.lo4 = d.u32();
    e.hi4 = d.u32();
  } else if (e.kind == EntryRecord::V6) {
    for (auto* a : {&e.lo6, &e.hi6})
      for (auto& b : *a)
        b = d.u8();
  } else if (e.kind == EntryRecord::Name) {
    e.name = d.str();
    e.scope = d.u8();
  } else {
    throw StoreError("corrupt entry record (unknown kind)");
  }
  e.excluded = d.u8() != 0;
  e.value = d.u32();
  e.file = d.u16();
  e.line = d.u32();
  for (auto& f : e.fields)
    f = d.str();
  return e;
}

namespace {
constexpr uint8_t kChangeVersion = 1;
}

std::string encodeChange(const ChangeRecord& c) {
  std::string out, entry;
  encodeEntry(entry, c.entry, {});
  encodeChange(out, c, entry);
  return out;
}

void encodeChange(std::string& out, const ChangeRecord& c, std::string_view encodedEntry) {
  out.clear();
  out.push_back(static_cast<char>(kChangeVersion));
  out.push_back(static_cast<char>(c.action));
  bytes::put64(out, static_cast<uint64_t>(c.when));
  putStr(out, c.zone);
  putStr(out, c.dataset);
  putStr(out, c.by);
  putStr(out, c.source);
  putStr(out, c.value);
  out.append(encodedEntry);
}

std::string_view entryIdentity(std::string_view bytes, std::string& buf, uint32_t* valueId) {
  size_t at = 0; // where the excluded flag is
  if (bytes.empty()) return {};
  switch (static_cast<uint8_t>(bytes[0])) {
  case EntryRecord::V4:
    at = 9;
    break;
  case EntryRecord::V6:
    at = 33;
    break;
  case EntryRecord::Name:
    if (bytes.size() < 3) return {};
    at = 3 + bytes::get16(bytes.data() + 1) + 1;
    break;
  default:
    return {};
  }
  if (bytes.size() < at + 11) return {};
  buf.assign(bytes);
  if (valueId) *valueId = bytes::get32(buf.data() + at + 1);
  std::memset(buf.data() + at + 1, 0, 10); // value id (4), file (2), line (4)
  return buf;
}

ChangeRecord decodeChange(std::string_view bytes) {
  Decoder d(bytes);
  if (d.u8() != kChangeVersion)
    throw StoreError("change record of an unknown version (written by a newer dnsxl?)");
  ChangeRecord c;
  const auto action = d.u8();
  if (action < ChangeRecord::Listed || action > ChangeRecord::Expired)
    throw StoreError("corrupt change record (unknown action)");
  c.action = static_cast<ChangeRecord::Action>(action);
  c.when = static_cast<int64_t>(d.u64());
  c.zone = d.str();
  c.dataset = d.str();
  c.by = d.str();
  c.source = d.str();
  c.value = d.str();
  c.entry = decodeEntry(bytes.substr(bytes.size() - d.remaining()));
  return c;
}

std::string_view actionName(ChangeRecord::Action a) {
  switch (a) {
  case ChangeRecord::Listed:
    return "listed";
  case ChangeRecord::Unlisted:
    return "unlisted";
  case ChangeRecord::Added:
    return "added";
  case ChangeRecord::Delisted:
    return "delisted";
  case ChangeRecord::Expired:
    return "expired";
  }
  return "?";
}

ZoneRecord decodeZone(std::string_view bytes) {
  Decoder d(bytes);
  ZoneRecord z;
  z.name = d.str();
  z.soa.mname = d.str();
  z.soa.rname = d.str();
  z.soa.serial = d.u32();
  z.soa.refresh = d.u32();
  z.soa.retry = d.u32();
  z.soa.expire = d.u32();
  z.soa.minimum = d.u32();
  z.soa.ttl = d.u32();
  z.nsTtl = d.u32();
  for (auto n = d.u16(); n > 0; --n)
    z.ns.push_back(d.str());
  for (auto n = d.u16(); n > 0; --n) {
    DatasetRecord ds;
    ds.id = d.u32();
    ds.name = d.str();
    ds.kinds = d.u8();
    ds.ttl = d.u32();
    for (auto& v : ds.vars)
      v = d.str();
    ds.expires = static_cast<int64_t>(d.u64());
    for (auto k = d.u16(); k > 0; --k)
      ds.subzones.push_back(d.str());
    z.datasets.push_back(std::move(ds));
  }
  if (d.remaining() > 0 && d.u8() == kZoneTrailerVersion)
    for (auto& ds : z.datasets) {
      ds.entries = d.u64();
      for (auto n = d.u16(); n > 0; --n)
        ds.files.push_back(d.str());
    }
  return z;
}

bool domainKey(std::string_view name, std::string& out) {
  out.clear();
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return true;
  size_t end = name.size();
  for (;;) {
    size_t dot = name.rfind('.', end - 1);
    size_t start = dot == std::string_view::npos ? 0 : dot + 1;
    if (start == end) return false;
    for (size_t i = start; i < end; ++i) {
      char c = name[i];
      if (c == '\0') return false;
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    out.push_back('\0');
    if (dot == std::string_view::npos) return true;
    end = dot;
    if (end == 0) return false;
  }
}

namespace {

// Processes with a reader slot in the store (stale slots of dead processes cleared first).
// LMDB tells only through mdb_reader_list's text: a header line, then one line per reader.
size_t activeReaders(MDB_env* env) {
  int dead = 0;
  mdb_reader_check(env, &dead);
  size_t lines = 0;
  bool none = false;
  struct Ctx {
    size_t* lines;
    bool* none;
  } ctx{&lines, &none};
  mdb_reader_list(
      env,
      [](const char* msg, void* p) -> int {
        auto* c = static_cast<Ctx*>(p);
        if (std::strstr(msg, "no active readers")) *c->none = true;
        ++*c->lines;
        return 0;
      },
      &ctx);
  return none || lines == 0 ? 0 : lines - 1;
}

} // namespace

Env::Env(const std::filesystem::path& dir, Options options) : d_readOnly(options.readOnly) {
  if (!options.readOnly) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw StoreError("cannot create store directory " + dir.string() + ": " + ec.message());
  } else if (!std::filesystem::exists(dir / "data.mdb")) {
    throw StoreError("no store at " + dir.string() + " (run `dnsxl import` first)");
  }
  auto open = [&](unsigned flags) {
    check("mdb_env_create", mdb_env_create(&d_env));
    try {
      check("mdb_env_set_maxdbs", mdb_env_set_maxdbs(d_env, 16));
      check("mdb_env_set_mapsize", mdb_env_set_mapsize(d_env, options.mapSize));
      check("mdb_env_set_maxreaders", mdb_env_set_maxreaders(d_env, 512));
      int rc = mdb_env_open(d_env, dir.c_str(), flags, 0644);
      if (rc != MDB_SUCCESS)
        throw StoreError("LMDB mdb_env_open " + dir.string() + ": " + mdb_strerror(rc));
    } catch (...) {
      mdb_env_close(d_env);
      d_env = nullptr;
      throw;
    }
  };
  open(MDB_NOTLS | (options.readOnly ? MDB_RDONLY : 0U));
  std::error_code canon;
  d_file = std::filesystem::canonical(dir / "data.mdb", canon);
  if (options.writeMapIfAlone && activeReaders(d_env) == 0) {
    // Nobody reads the store: write through a writable map (no copy of each page through
    // write(2)). With readers (a running dnsxld) it is not used: the writeback of pages that
    // are mapped in the reader too stalls its queries (p99 ×4 during a 1M-entry import).
    mdb_env_close(d_env);
    d_env = nullptr;
    open(MDB_NOTLS | MDB_WRITEMAP);
    d_writeMap = true;
  }
  try {

    MDB_txn* txn = nullptr;
    check("mdb_txn_begin", mdb_txn_begin(d_env, nullptr, options.readOnly ? MDB_RDONLY : 0, &txn));
    try {
      for (int t = 0; t < kTableCount; ++t) {
        unsigned f = options.readOnly ? 0U : MDB_CREATE;
        int r = mdb_dbi_open(txn, kTableNames[static_cast<size_t>(t)], f,
                             &d_dbi[static_cast<size_t>(t)]);
        if (r == MDB_NOTFOUND && t >= kEnt) { // a store written before the table existed
          d_missing |= 1U << t;
          continue;
        }
        if (r == MDB_NOTFOUND)
          throw StoreError("store at " + dir.string() + " has no table " +
                           kTableNames[static_cast<size_t>(t)] + " (not a dnsxl store?)");
        check("mdb_dbi_open", r);
      }
      MDB_val k = val("schema", 6), v;
      int r = mdb_get(txn, d_dbi[kMeta], &k, &v);
      if (r == MDB_NOTFOUND) {
        if (options.readOnly)
          throw StoreError("store at " + dir.string() + " has no schema version");
        std::string ver;
        bytes::put32(ver, kSchemaVersion);
        MDB_val nv = val(ver.data(), ver.size());
        check("mdb_put", mdb_put(txn, d_dbi[kMeta], &k, &nv, 0));
      } else {
        check("mdb_get", r);
        uint32_t found = v.mv_size == 4 ? bytes::get32(v.mv_data) : 0;
        if (found == 1 && options.readOnly)
          throw StoreError("store at " + dir.string() +
                           " has schema version 1; the next `dnsxl import` upgrades it to " +
                           std::to_string(kSchemaVersion));
        // schema 2 without the filters: readable as it is (every lookup searches)
        const bool readable = found == kSchemaVersion || (found == 2 && options.readOnly);
        if (!options.readOnly && (found == 1 || found == 2)) {
          if (found == 1) { // schema 2: intervals and names in blocks
            convertToBlocks<uint32_t>(txn, d_dbi[kIp4Table]);
            convertToBlocks<Ip6>(txn, d_dbi[kIp6Table]);
            convertNamesToBlocks(txn, d_dbi[kDom]);
          }
          // schema 3: a filter of each dataset's names
          for (uint32_t ds : datasetsWithNames(txn, d_dbi[kDom]))
            writeNameFilter(txn, d_dbi[kDom], d_dbi[kFilter], ds);
          std::string ver;
          bytes::put32(ver, kSchemaVersion);
          MDB_val nv = val(ver.data(), ver.size());
          check("mdb_put", mdb_put(txn, d_dbi[kMeta], &k, &nv, 0));
        } else if (!readable)
          throw StoreError("store at " + dir.string() + " has schema version " +
                           std::to_string(found) + "; this dnsxl reads version " +
                           std::to_string(kSchemaVersion));
      }
      check("mdb_txn_commit", mdb_txn_commit(txn));
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
  } catch (...) {
    mdb_env_close(d_env);
    throw;
  }
}

Env::~Env() {
  mdb_env_close(d_env);
}

void Env::releaseResidentPages(uint64_t generation) {
  uint64_t seen = d_released.load();
  if (seen >= generation || !d_released.compare_exchange_strong(seen, generation)) return;
  std::call_once(d_mapFound, [this] {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    const std::string file = d_file.string();
    while (std::getline(maps, line)) {
      if (line.size() <= file.size() || line.compare(line.size() - file.size(), file.size(), file))
        continue;
      uintptr_t lo = 0, hi = 0;
      if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2) continue;
      if (hi - lo > d_mapLength) { // the map itself, not a smaller mapping of the file
        d_mapBase = reinterpret_cast<void*>(lo);
        d_mapLength = hi - lo;
      }
    }
  });
  if (d_mapBase) ::madvise(d_mapBase, d_mapLength, MADV_DONTNEED);
}

void Env::copyCompact(const std::filesystem::path& dir) {
  check("mdb_env_copy2", mdb_env_copy2(d_env, dir.c_str(), MDB_CP_COMPACT));
}

bool Env::hasEntries() const {
  return has(kEnt);
}

namespace {

void forEachChange(MDB_txn* txn, MDB_dbi dbi,
                   const std::function<void(uint64_t, const ChangeRecord&)>& f) {
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(txn, dbi, &c));
  MDB_val k, v;
  try {
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
      if (k.mv_size == 8) f(bytes::get64(k.mv_data), decodeChange(view(v)));
  } catch (...) {
    mdb_cursor_close(c);
    throw;
  }
  mdb_cursor_close(c);
}

} // namespace

// ---- Writer ----

Writer::Writer(Env& env) : d_env(env) {
  if (env.readOnly()) throw StoreError("store opened read-only");
  check("mdb_txn_begin", mdb_txn_begin(env.raw(), nullptr, 0, &d_txn));
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(d_txn, env.dbi(kValues), &c));
  MDB_val k, v;
  if (mdb_cursor_get(c, &k, &v, MDB_LAST) == MDB_SUCCESS && k.mv_size == 4)
    d_nextValueId = bytes::get32(k.mv_data) + 1;
  mdb_cursor_close(c);
}

Writer::~Writer() {
  if (d_txn) mdb_txn_abort(d_txn);
}

std::vector<ZoneRecord> Writer::zones() {
  return readZones(d_txn, d_env.dbi(kZones));
}

void Writer::clearData() {
  for (int t : {kZones, kIp4Table, kIp6Table, kDom, kValues, kGen, kEnt, kFilter})
    check("mdb_drop", mdb_drop(d_txn, d_env.dbi(t), 0));
  d_nextValueId = 1;
  d_valueIds.clear();
  d_pending4 = {};
  d_pending6 = {};
  d_pendingNames = {};
}

void Writer::putEntry(std::string_view key, std::string_view record) {
  MDB_val k = val(key.data(), key.size()), v = val(record.data(), record.size());
  check("mdb_put ent", mdb_put(d_txn, d_env.dbi(kEnt), &k, &v, MDB_APPEND));
}

void Writer::putZone(const ZoneRecord& zone) {
  auto bytes = encodeZone(zone);
  // LMDB keys cannot be empty: the pseudo zone "" (the global acl) is kept under ".".
  std::string_view key = zone.name.empty() ? std::string_view(".") : zone.name;
  MDB_val k = val(key.data(), key.size()), v = val(bytes.data(), bytes.size());
  check("mdb_put zones", mdb_put(d_txn, d_env.dbi(kZones), &k, &v, 0));
}

uint32_t Writer::internValueSet(std::string_view encoded) {
  auto [it, inserted] = d_valueIds.try_emplace(std::string(encoded), d_nextValueId);
  if (!inserted) return it->second;
  std::string key;
  bytes::put32(key, d_nextValueId);
  MDB_val k = val(key.data(), key.size()), v = val(encoded.data(), encoded.size());
  check("mdb_put values", mdb_put(d_txn, d_env.dbi(kValues), &k, &v, MDB_APPEND));
  return d_nextValueId++;
}

namespace {

// Writer::putIp4/putIp6: collects one dataset's intervals, written as blocks fill.
template <typename Interval>
void putInterval(MDB_txn* txn, MDB_dbi dbi, Writer::Pending<Interval>& p, uint32_t dataset,
                 const Interval& iv) {
  if (iv.end < iv.start) throw StoreError("interval ends before it starts");
  if (p.any && p.dataset == dataset && !(p.lastEnd < iv.start))
    throw StoreError("intervals put out of order or overlapping");
  if (!p.run.empty() && p.dataset != dataset) flushPending(txn, dbi, p);
  if (p.run.size() >= 2048) flushPending(txn, dbi, p, true);
  p.any = true;
  p.dataset = dataset;
  p.lastEnd = iv.end;
  p.run.push_back(iv);
}

} // namespace

void Writer::putIp4(uint32_t dataset, const IpInterval4& iv) {
  putInterval(d_txn, d_env.dbi(kIp4Table), d_pending4, dataset, iv);
}

void Writer::putIp6(uint32_t dataset, const IpInterval6& iv) {
  putInterval(d_txn, d_env.dbi(kIp6Table), d_pending6, dataset, iv);
}

void Writer::flushIntervals() {
  flushPending(d_txn, d_env.dbi(kIp4Table), d_pending4);
  flushPending(d_txn, d_env.dbi(kIp6Table), d_pending6);
}

void Writer::appendDomain(uint32_t dataset, std::string_view dkey, DomainEntry entry) {
  auto& p = d_pendingNames;
  if (dkey.size() > kMaxNameKey) throw StoreError("domain name too long for the store");
  if (p.any && p.dataset == dataset && !(p.last < dkey))
    throw StoreError("names appended out of order");
  if (!p.run.empty() && p.dataset != dataset) flushNames();
  if (p.run.size() >= 2048) { // the full blocks; the rest waits for more names
    const size_t written = putNameBlocks(d_txn, d_env.dbi(kDom), p.dataset, p.run, true, true);
    p.run.erase(p.run.begin(), p.run.begin() + static_cast<std::ptrdiff_t>(written));
  }
  p.any = true;
  p.dataset = dataset;
  p.last.assign(dkey);
  p.run.emplace_back(std::string(dkey), entry);
  d_staleFilters.insert(dataset);
}

void Writer::flushNames() {
  auto& p = d_pendingNames;
  if (p.run.empty()) return;
  putNameBlocks(d_txn, d_env.dbi(kDom), p.dataset, p.run, true);
  p.run.clear();
}

void Writer::putDomain(uint32_t dataset, std::string_view dkey, DomainEntry entry) {
  flushNames();
  d_staleFilters.insert(dataset); // a put always changes (or rewrites) a name
  editNames(d_txn, d_env.dbi(kDom), dataset, dkey, false, [&](std::vector<NameEntry>& names) {
    auto it = std::lower_bound(names.begin(), names.end(), dkey,
                               [](const NameEntry& e, std::string_view k) { return e.first < k; });
    if (it != names.end() && it->first == dkey)
      it->second = entry;
    else
      names.emplace(it, std::string(dkey), entry);
    return true;
  });
}

void Writer::putGeneric(uint32_t dataset, std::string_view dkey, std::string_view records) {
  std::string key;
  bytes::put32(key, dataset);
  key.append(dkey);
  if (key.size() > 511) throw StoreError("domain name too long for the store");
  MDB_val k = val(key.data(), key.size()), v = val(records.data(), records.size());
  check("mdb_put gen", mdb_put(d_txn, d_env.dbi(kGen), &k, &v, 0));
}

void Writer::deleteEntry(std::string_view key) {
  MDB_val k = val(key.data(), key.size());
  int rc = mdb_del(d_txn, d_env.dbi(kEnt), &k, nullptr);
  if (rc != MDB_NOTFOUND) check("mdb_del ent", rc);
}

void Writer::forEachEntry(uint32_t dataset,
                          const std::function<void(std::string_view, std::string_view)>& f) {
  std::string prefix;
  bytes::put32(prefix, dataset);
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(d_txn, d_env.dbi(kEnt), &c));
  MDB_val k = val(prefix.data(), 4), v;
  try {
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (k.mv_size < 4 || std::memcmp(k.mv_data, prefix.data(), 4) != 0) break;
      f(view(k), view(v));
    }
  } catch (...) {
    mdb_cursor_close(c);
    throw;
  }
  mdb_cursor_close(c);
}

std::string Writer::valueSet(uint32_t id) {
  return std::string(valueSetView(id));
}

std::string_view Writer::valueSetView(uint32_t id) {
  uint8_t key[4] = {static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
                    static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
  MDB_val k = val(key, 4), v;
  int rc = mdb_get(d_txn, d_env.dbi(kValues), &k, &v);
  if (rc == MDB_NOTFOUND) return {};
  check("mdb_get values", rc);
  return view(v);
}

std::string Writer::entry(std::string_view key) {
  MDB_val k = val(key.data(), key.size()), v;
  int rc = mdb_get(d_txn, d_env.dbi(kEnt), &k, &v);
  if (rc == MDB_NOTFOUND) return {};
  check("mdb_get ent", rc);
  return std::string(view(v));
}

namespace {

// Writer::paintIp4/paintIp6: read the blocks that may hold intervals meeting [lo, hi], delete
// them, and write their intervals back — those outside [lo, hi] unchanged, the parts inside
// (gaps included) as f says — as blocks again.
template <typename Addr>
bool paint(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset, const Addr& lo, const Addr& hi,
           const std::function<uint32_t(uint32_t)>& f) {
  using B = Block<Addr>;
  std::string key;
  bytes::put32(key, dataset);
  putAddr(key, lo);
  auto ours = [&](const MDB_val& k) {
    return k.mv_size == key.size() && std::memcmp(k.mv_data, key.data(), 4) == 0;
  };
  std::vector<Piece<Addr>> old;
  std::vector<std::string> oldKeys;
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(txn, dbi, &c));
  try {
    // From the last block starting at or below lo (else the first after it) to the last block
    // starting at or below hi.
    MDB_val k, v;
    int rc = seekBlock(c, key, k, v);
    for (; rc == MDB_SUCCESS && ours(k); rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (!atOrBelow(static_cast<const char*>(k.mv_data) + 4, hi)) break;
      B b;
      if (!b.read(v)) throw StoreError("corrupt interval block");
      for (size_t i = 0; i < b.n; ++i)
        old.push_back(b.at(i));
      oldKeys.emplace_back(view(k));
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) check("mdb_cursor_get", rc);
  } catch (...) {
    mdb_cursor_close(c);
    throw;
  }
  mdb_cursor_close(c);
  for (const auto& dk : oldKeys) {
    MDB_val k = val(dk.data(), dk.size());
    check("mdb_del", mdb_del(txn, dbi, &k, nullptr));
  }

  std::vector<Piece<Addr>> out;
  out.reserve(old.size() + 2);
  auto emit = [&](const Addr& s, const Addr& e, uint32_t set) {
    if (set == kNoValue) return;
    if (!out.empty() && out.back().valueSet == set && next(out.back().end) == s)
      out.back().end = e;
    else
      out.push_back({s, e, set});
  };
  bool wasListed = false;
  Addr cur = lo;
  bool done = false; // cur went past hi
  size_t i = 0;
  for (; i < old.size() && old[i].end < lo; ++i)
    out.push_back(old[i]);
  for (; i < old.size() && !(hi < old[i].start); ++i) {
    const auto& p = old[i];
    if (p.valueSet != kNoValue) wasListed = true;
    if (p.start < lo) emit(p.start, prev(lo), p.valueSet);
    const Addr s = p.start < lo ? lo : p.start;
    const Addr e = hi < p.end ? hi : p.end;
    if (!done && cur < s) emit(cur, prev(s), f(kNoValue));
    emit(s, e, f(p.valueSet));
    if (e == hi)
      done = true;
    else
      cur = next(e);
    if (hi < p.end) emit(next(hi), p.end, p.valueSet);
  }
  if (!done) emit(cur, hi, f(kNoValue));
  for (; i < old.size(); ++i)
    out.push_back(old[i]);
  putBlocks<Addr>(txn, dbi, dataset, out, false);
  return wasListed;
}
} // namespace

bool Writer::paintIp4(uint32_t dataset, uint32_t lo, uint32_t hi,
                      const std::function<uint32_t(uint32_t)>& f) {
  flushIntervals();
  return paint(d_txn, d_env.dbi(kIp4Table), dataset, lo, hi, f);
}

bool Writer::paintIp6(uint32_t dataset, const Ip6& lo, const Ip6& hi,
                      const std::function<uint32_t(uint32_t)>& f) {
  flushIntervals();
  return paint(d_txn, d_env.dbi(kIp6Table), dataset, lo, hi, f);
}

std::optional<DomainEntry> Writer::domain(uint32_t dataset, std::string_view dkey) {
  flushNames();
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(d_txn, d_env.dbi(kDom), &c));
  std::optional<DomainEntry> out;
  try {
    out = findName(nullptr, c, dataset, dkey).exact;
  } catch (...) {
    mdb_cursor_close(c);
    throw;
  }
  mdb_cursor_close(c);
  return out;
}

void Writer::deleteDomain(uint32_t dataset, std::string_view dkey) {
  flushNames();
  if (dkey.size() > kMaxNameKey) return;
  const bool changed =
      editNames(d_txn, d_env.dbi(kDom), dataset, dkey, false, [&](std::vector<NameEntry>& names) {
        auto it =
            std::lower_bound(names.begin(), names.end(), dkey,
                             [](const NameEntry& e, std::string_view k) { return e.first < k; });
        if (it == names.end() || it->first != dkey) return false;
        names.erase(it);
        return true;
      });
  if (changed) d_staleFilters.insert(dataset);
}

size_t Writer::deleteDomainsBelow(uint32_t dataset, std::string_view dkey) {
  flushNames();
  if (dkey.size() > kMaxNameKey) return 0;
  size_t gone = 0;
  editNames(d_txn, d_env.dbi(kDom), dataset, dkey, true, [&](std::vector<NameEntry>& names) {
    gone = static_cast<size_t>(std::erase_if(names, [&](const NameEntry& e) {
      return e.first.size() > dkey.size() && e.first.starts_with(dkey);
    }));
    return gone > 0;
  });
  if (gone > 0) d_staleFilters.insert(dataset);
  return gone;
}

namespace {

// The next sequence number of a change table: one after its last key.
uint64_t nextSeq(MDB_txn* txn, MDB_dbi dbi) {
  MDB_cursor* cur = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(txn, dbi, &cur));
  MDB_val k, v;
  uint64_t seq = 1;
  if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == MDB_SUCCESS && k.mv_size == 8)
    seq = bytes::get64(k.mv_data) + 1;
  mdb_cursor_close(cur);
  return seq;
}

void putChange(MDB_txn* txn, MDB_dbi dbi, uint64_t seq, std::string_view bytes) {
  uint8_t key[8];
  for (int i = 0; i < 8; ++i)
    key[i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
  MDB_val nk = val(key, 8), nv = val(bytes.data(), bytes.size());
  check("mdb_put", mdb_put(txn, dbi, &nk, &nv, MDB_APPEND));
}

} // namespace

uint64_t Writer::putManual(const ChangeRecord& c) {
  const auto seq = nextSeq(d_txn, d_env.dbi(kMan));
  putChange(d_txn, d_env.dbi(kMan), seq, encodeChange(c));
  return seq;
}

void Writer::deleteManual(uint64_t seq) {
  std::string key;
  bytes::put64(key, seq);
  MDB_val k = val(key.data(), key.size());
  int rc = mdb_del(d_txn, d_env.dbi(kMan), &k, nullptr);
  if (rc != MDB_NOTFOUND) check("mdb_del manual", rc);
}

std::vector<std::pair<uint64_t, ChangeRecord>> Writer::manualChanges() {
  std::vector<std::pair<uint64_t, ChangeRecord>> out;
  forEachChange(d_txn, d_env.dbi(kMan),
                [&](uint64_t seq, const ChangeRecord& c) { out.emplace_back(seq, c); });
  return out;
}

namespace {
std::string journalPrefix(std::string_view zone) {
  std::string k(zone.empty() ? std::string_view(".") : zone);
  k.push_back('\0');
  return k;
}
} // namespace

void Writer::putJournal(std::string_view zone, uint32_t from, uint32_t to, int64_t when,
                        std::string_view payload) {
  const auto prefix = journalPrefix(zone);
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(d_txn, d_env.dbi(kJournal), &c));
  uint64_t seq = 1;
  // the last key of this zone: seek past the prefix, step back
  std::string past = prefix;
  past.back() = '\1';
  MDB_val k = val(past.data(), past.size()), v;
  int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  rc =
      rc == MDB_SUCCESS ? mdb_cursor_get(c, &k, &v, MDB_PREV) : mdb_cursor_get(c, &k, &v, MDB_LAST);
  if (rc == MDB_SUCCESS && k.mv_size == prefix.size() + 8 &&
      std::memcmp(k.mv_data, prefix.data(), prefix.size()) == 0)
    seq = bytes::get64(static_cast<const char*>(k.mv_data) + prefix.size()) + 1;
  mdb_cursor_close(c);
  std::string key = prefix;
  bytes::put64(key, seq);
  std::string value;
  bytes::put32(value, from);
  bytes::put32(value, to);
  bytes::put64(value, static_cast<uint64_t>(when));
  value.append(payload);
  MDB_val nk = val(key.data(), key.size()), nv = val(value.data(), value.size());
  check("mdb_put journal", mdb_put(d_txn, d_env.dbi(kJournal), &nk, &nv, 0));
}

void Writer::pruneJournal(std::string_view zone, size_t maxBytes, int64_t before) {
  const auto prefix = journalPrefix(zone);
  std::vector<std::tuple<std::string, size_t, int64_t>> entries;
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(d_txn, d_env.dbi(kJournal), &c));
  MDB_val k = val(prefix.data(), prefix.size()), v;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size < prefix.size() || std::memcmp(k.mv_data, prefix.data(), prefix.size()) != 0)
      break;
    const int64_t when =
        v.mv_size >= 16
            ? static_cast<int64_t>(bytes::get64(static_cast<const char*>(v.mv_data) + 8))
            : 0;
    entries.emplace_back(std::string(view(k)), v.mv_size, when);
  }
  mdb_cursor_close(c);
  size_t total = 0;
  for (const auto& e : entries)
    total += std::get<1>(e);
  for (const auto& [key, size, when] : entries) {
    if (total <= maxBytes && when >= before) break;
    MDB_val dk = val(key.data(), key.size());
    check("mdb_del journal", mdb_del(d_txn, d_env.dbi(kJournal), &dk, nullptr));
    total -= size;
  }
}

void Writer::putAudit(const ChangeRecord& c) {
  putAuditEncoded(encodeChange(c));
}

void Writer::putAuditEncoded(std::string_view bytes) {
  if (d_nextAudit == 0) d_nextAudit = nextSeq(d_txn, d_env.dbi(kLog));
  putChange(d_txn, d_env.dbi(kLog), d_nextAudit++, bytes);
}

size_t Writer::pruneAudit(int64_t before) {
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(d_txn, d_env.dbi(kLog), &c));
  std::vector<std::string> doomed;
  MDB_val k, v;
  int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    // The time follows the version and action bytes: no full decode needed.
    if (v.mv_size < 10 ||
        static_cast<int64_t>(bytes::get64(static_cast<const char*>(v.mv_data) + 2)) >= before)
      break;
    doomed.emplace_back(view(k));
  }
  mdb_cursor_close(c);
  // The newest line stays, so that sequence numbers keep growing.
  if (rc == MDB_NOTFOUND && !doomed.empty()) doomed.pop_back();
  for (const auto& d : doomed) {
    MDB_val dk = val(d.data(), d.size());
    check("mdb_del audit", mdb_del(d_txn, d_env.dbi(kLog), &dk, nullptr));
  }
  return doomed.size();
}

void Writer::commit() {
  flushIntervals();
  flushNames();
  // the filters of the datasets whose names changed, from all their names: right-sized, and
  // without the bits of names deleted
  for (uint32_t ds : d_staleFilters)
    writeNameFilter(d_txn, d_env.dbi(kDom), d_env.dbi(kFilter), ds);
  d_staleFilters.clear();
  MDB_val k = val("generation", 10);
  std::string g;
  bytes::put64(g, readGeneration(d_txn, d_env.dbi(kMeta)) + 1);
  MDB_val nv = val(g.data(), g.size());
  check("mdb_put meta", mdb_put(d_txn, d_env.dbi(kMeta), &k, &nv, 0));
  int rc = mdb_txn_commit(d_txn);
  d_txn = nullptr;
  check("mdb_txn_commit", rc);
}

// ---- Snapshot ----

namespace {

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

} // namespace

struct Snapshot::Index {
  std::vector<BlockIndex<uint32_t>> ip4;
  std::vector<BlockIndex<Ip6>> ip6;

  // The dataset's index (built now if it is not yet); nullptr without an index (a writer's).
  template <typename Addr>
  static BlockIndex<Addr>* of(Index* self, MDB_txn* txn, MDB_dbi dbi, uint32_t dataset) {
    if (!self) return nullptr;
    auto& all = [&]() -> std::vector<BlockIndex<Addr>>& {
      if constexpr (std::is_same_v<Addr, uint32_t>)
        return self->ip4;
      else
        return self->ip6;
    }();
    for (auto& ix : all)
      if (ix.dataset == dataset) return &ix;
    buildIndex(txn, dbi, dataset, all.emplace_back());
    return &all.back();
  }
  std::vector<NameIndex> names;
  // The value sets with small ids, as found (mv_data null: not looked up yet).
  static constexpr size_t kValues = 4096;
  std::vector<MDB_val> values = std::vector<MDB_val>(kValues);

  static NameIndex* ofNames(Index* self, MDB_txn* txn, const Env& env, uint32_t dataset) {
    if (!self) return nullptr;
    for (auto& ix : self->names)
      if (ix.dataset == dataset) return &ix;
    buildIndex(txn, env.dbi(kDom),
               env.has(kFilter) ? std::optional<MDB_dbi>(env.dbi(kFilter)) : std::nullopt, dataset,
               self->names.emplace_back());
    return &self->names.back();
  }
  void clear() {
    ip4.clear();
    ip6.clear();
    names.clear();
    std::fill(values.begin(), values.end(), MDB_val{});
  }
};

Snapshot::Snapshot(Env& env) : d_env(env) {
  check("mdb_txn_begin", mdb_txn_begin(env.raw(), nullptr, MDB_RDONLY, &d_txn));
  const int tables[4] = {kIp4Table, kIp6Table, kDom, kGen};
  for (size_t i = 0; i < 4; ++i)
    check("mdb_cursor_open", mdb_cursor_open(d_txn, env.dbi(tables[i]), &d_cursors[i]));
  d_live = true;
  d_index = std::make_unique<Index>();
  d_indexTxn = mdb_txn_id(d_txn);
}

Snapshot::Snapshot(Env& env, Writer& writer) : d_env(env) {
  writer.flushIntervals();
  writer.flushNames();
  d_txn = writer.rawTxn();
  d_borrowed = true;
  const int tables[4] = {kIp4Table, kIp6Table, kDom, kGen};
  for (size_t i = 0; i < 4; ++i)
    check("mdb_cursor_open", mdb_cursor_open(d_txn, env.dbi(tables[i]), &d_cursors[i]));
  d_live = true;
}

Snapshot::~Snapshot() {
  for (auto* c : d_cursors)
    mdb_cursor_close(c);
  if (!d_borrowed) mdb_txn_abort(d_txn);
}

void Snapshot::renew() {
  if (d_borrowed) return; // a writer's transaction is always current
  if (d_live) mdb_txn_reset(d_txn);
  check("mdb_txn_renew", mdb_txn_renew(d_txn));
  for (auto* c : d_cursors)
    check("mdb_cursor_renew", mdb_cursor_renew(d_txn, c));
  d_live = true;
  if (const size_t id = mdb_txn_id(d_txn); id != d_indexTxn) {
    d_index->clear();
    d_indexTxn = id;
  }
}

void Snapshot::reset() {
  if (d_borrowed) return;
  if (d_live) mdb_txn_reset(d_txn);
  d_live = false;
}

uint64_t Snapshot::generation() {
  return readGeneration(d_txn, d_env.dbi(kMeta));
}

namespace {} // namespace

namespace {

template <typename Addr>
void forEachInterval(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset,
                     const std::function<void(const Piece<Addr>&)>& f) {
  forEachOfDataset(txn, dbi, dataset, [&](std::string_view k, std::string_view v) {
    Block<Addr> b;
    if (k.size() != sizeof(Addr) || !b.read(val(v.data(), v.size())))
      throw StoreError("corrupt interval block");
    for (size_t i = 0; i < b.n; ++i)
      f(b.at(i));
  });
}

} // namespace

void Snapshot::forEachIp4(uint32_t dataset, const std::function<void(const IpInterval4&)>& f) {
  forEachInterval<uint32_t>(d_txn, d_env.dbi(kIp4Table), dataset, f);
}

void Snapshot::forEachIp6(uint32_t dataset, const std::function<void(const IpInterval6&)>& f) {
  forEachInterval<Ip6>(d_txn, d_env.dbi(kIp6Table), dataset, f);
}

void Snapshot::forEachDomain(uint32_t dataset,
                             const std::function<void(std::string_view, DomainEntry)>& f) {
  forEachOfDataset(d_txn, d_env.dbi(kDom), dataset, [&](std::string_view, std::string_view v) {
    forEachNameIn(val(v.data(), v.size()), f);
  });
}

void Snapshot::forEachGeneric(uint32_t dataset,
                              const std::function<void(std::string_view, std::string_view)>& f) {
  forEachOfDataset(d_txn, d_env.dbi(kGen), dataset, f);
}

std::vector<Snapshot::JournalEntry> Snapshot::journal(std::string_view zone) {
  std::vector<JournalEntry> out;
  if (!d_env.has(kJournal)) return out;
  const auto prefix = journalPrefix(zone);
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(d_txn, d_env.dbi(kJournal), &c));
  MDB_val k = val(prefix.data(), prefix.size()), v;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size < prefix.size() || std::memcmp(k.mv_data, prefix.data(), prefix.size()) != 0)
      break;
    if (v.mv_size < 16) continue;
    const auto* p = static_cast<const char*>(v.mv_data);
    out.push_back({bytes::get32(p), bytes::get32(p + 4), static_cast<int64_t>(bytes::get64(p + 8)),
                   view(v).substr(16)});
  }
  mdb_cursor_close(c);
  return out;
}

void Snapshot::forEachManual(const std::function<void(uint64_t, const ChangeRecord&)>& f) {
  if (d_env.has(kMan)) forEachChange(d_txn, d_env.dbi(kMan), f);
}

void Snapshot::forEachAudit(const std::function<void(uint64_t, const ChangeRecord&)>& f) {
  if (d_env.has(kLog)) forEachChange(d_txn, d_env.dbi(kLog), f);
}

void Snapshot::forEachEntry(uint32_t dataset,
                            const std::function<void(std::string_view, std::string_view)>& f) {
  if (!d_env.hasEntries()) return;
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(d_txn, d_env.dbi(kEnt), &c));
  const uint8_t prefix[4] = {static_cast<uint8_t>(dataset >> 24),
                             static_cast<uint8_t>(dataset >> 16),
                             static_cast<uint8_t>(dataset >> 8), static_cast<uint8_t>(dataset)};
  MDB_val k = val(prefix, 4), v;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size < 4 || std::memcmp(k.mv_data, prefix, 4) != 0) break;
    f(view(k), view(v));
  }
  mdb_cursor_close(c);
}

std::vector<ZoneRecord> Snapshot::zones() {
  return readZones(d_txn, d_env.dbi(kZones));
}

namespace {

// Positions c on the greatest key <= (prefix ‖ addr) that has the same 4-byte dataset prefix.
bool seekLessOrEqual(MDB_cursor* c, const uint8_t* key, size_t keyLen, MDB_val& k, MDB_val& v) {
  k = val(key, keyLen);
  int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
  if (rc == MDB_SUCCESS) {
    if (k.mv_size == keyLen && std::memcmp(k.mv_data, key, keyLen) == 0) return true;
    rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
  } else if (rc == MDB_NOTFOUND) {
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  }
  if (rc == MDB_NOTFOUND) return false;
  check("mdb_cursor_get", rc);
  return k.mv_size == keyLen && std::memcmp(k.mv_data, key, 4) == 0;
}

} // namespace

namespace {

// The interval of a dataset starting at or below a, nearest to it: its block, and its index
// there. Through the snapshot's index of the blocks when it has one, else one LMDB seek.
template <typename Addr>
bool findInterval(BlockIndex<Addr>* ix, MDB_cursor* c, uint32_t dataset, const Addr& a,
                  Block<Addr>& b, size_t& i) {
  if (ix) {
    return ix->find(a, b, i);
  }
  uint8_t key[4 + sizeof(Addr)];
  bytes::set32(key, dataset);
  if constexpr (std::is_same_v<Addr, uint32_t>)
    bytes::set32(key + 4, a);
  else
    std::memcpy(key + 4, a.data(), 16);
  MDB_val k, v;
  if (!seekLessOrEqual(c, key, sizeof key, k, v) || !b.read(v)) return false;
  i = b.find(a);
  return true;
}

} // namespace

std::optional<IpInterval4> Snapshot::ip4(uint32_t dataset, uint32_t addr) {
  Block<uint32_t> b;
  size_t i = 0;
  if (!findInterval(Index::of<uint32_t>(d_index.get(), d_txn, d_env.dbi(kIp4Table), dataset),
                    d_cursors[0], dataset, addr, b, i) ||
      bytes::get32(b.endAt(i)) < addr)
    return std::nullopt;
  return IpInterval4{bytes::get32(b.startAt(i)), bytes::get32(b.endAt(i)), b.setAt(i)};
}

bool Snapshot::ip4Any(uint32_t dataset, uint32_t lo, uint32_t hi) {
  Block<uint32_t> b;
  size_t i = 0;
  return findInterval(Index::of<uint32_t>(d_index.get(), d_txn, d_env.dbi(kIp4Table), dataset),
                      d_cursors[0], dataset, hi, b, i) &&
         bytes::get32(b.endAt(i)) >= lo;
}

std::optional<IpInterval6> Snapshot::ip6(uint32_t dataset, const Ip6& addr) {
  Block<Ip6> b;
  size_t i = 0;
  if (!findInterval(Index::of<Ip6>(d_index.get(), d_txn, d_env.dbi(kIp6Table), dataset),
                    d_cursors[1], dataset, addr, b, i) ||
      std::memcmp(b.endAt(i), addr.data(), 16) < 0)
    return std::nullopt;
  return b.at(i);
}

bool Snapshot::ip6Any(uint32_t dataset, const Ip6& lo, const Ip6& hi) {
  Block<Ip6> b;
  size_t i = 0;
  return findInterval(Index::of<Ip6>(d_index.get(), d_txn, d_env.dbi(kIp6Table), dataset),
                      d_cursors[1], dataset, hi, b, i) &&
         std::memcmp(b.endAt(i), lo.data(), 16) >= 0;
}

std::optional<DomainEntry> Snapshot::domain(uint32_t dataset, std::string_view dkey) {
  return findName(Index::ofNames(d_index.get(), d_txn, d_env, dataset), d_cursors[2], dataset, dkey)
      .exact;
}

bool Snapshot::below(size_t cursor, uint32_t dataset, std::string_view dkey) {
  uint8_t key[512];
  if (dkey.size() + 4 > sizeof key) return false;
  bytes::set32(key, dataset);
  if (!dkey.empty()) std::memcpy(key + 4, dkey.data(), dkey.size());
  size_t len = dkey.size() + 4;
  MDB_val k = val(key, len), v;
  int rc = mdb_cursor_get(d_cursors[cursor], &k, &v, MDB_SET_RANGE);
  if (rc == MDB_SUCCESS && k.mv_size == len && std::memcmp(k.mv_data, key, len) == 0)
    rc = mdb_cursor_get(d_cursors[cursor], &k, &v, MDB_NEXT);
  if (rc == MDB_NOTFOUND) return false;
  check("mdb_cursor_get", rc);
  return k.mv_size > len && std::memcmp(k.mv_data, key, len) == 0;
}

std::optional<DomainEntry> Snapshot::domainAndBelow(uint32_t dataset, std::string_view dkey,
                                                    bool& below) {
  const auto spot =
      findName(Index::ofNames(d_index.get(), d_txn, d_env, dataset), d_cursors[2], dataset, dkey);
  below = spot.next && spot.next->size() > dkey.size() && spot.next->starts_with(dkey);
  return spot.exact;
}

bool Snapshot::domainBelow(uint32_t dataset, std::string_view dkey) {
  bool below = false;
  domainAndBelow(dataset, dkey, below);
  return below;
}

bool Snapshot::nameFilterPasses(uint32_t dataset, std::string_view dkey) {
  const NameIndex* ix = Index::ofNames(d_index.get(), d_txn, d_env, dataset);
  return !ix || ix->mayHold(dkey);
}

bool Snapshot::genericBelow(uint32_t dataset, std::string_view dkey) {
  return below(3, dataset, dkey);
}

std::string_view Snapshot::generic(uint32_t dataset, std::string_view dkey) {
  uint8_t key[512];
  if (dkey.size() + 4 > sizeof key) return {};
  bytes::set32(key, dataset);
  if (!dkey.empty()) std::memcpy(key + 4, dkey.data(), dkey.size());
  MDB_val k = val(key, dkey.size() + 4), v;
  int rc = mdb_get(d_txn, d_env.dbi(kGen), &k, &v);
  if (rc == MDB_NOTFOUND) return {};
  check("mdb_get gen", rc);
  return view(v);
}

std::string_view Snapshot::valueSet(uint32_t id) {
  MDB_val* cached = d_index && id < Index::kValues ? &d_index->values[id] : nullptr;
  if (cached && cached->mv_data) return view(*cached);
  uint8_t key[4];
  bytes::set32(key, id);
  MDB_val k = val(key, 4), v;
  int rc = mdb_get(d_txn, d_env.dbi(kValues), &k, &v);
  if (rc == MDB_NOTFOUND) return {};
  check("mdb_get", rc);
  if (cached) *cached = v;
  return view(v);
}

} // namespace dnsxl::store
