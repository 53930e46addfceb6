// Internal to store/: names in blocks (schema 2) — the layout of the dom table's records and
// how a writer packs and edits them.
#pragma once

#include "store/interval_block.hh"

#include <algorithm>
#include <span>
#include <string>
#include <vector>

namespace dnsxl::store::detail {

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
inline uint64_t prefixOf(const char* p, size_t len) {
  uint64_t v = 0;
  std::memcpy(&v, p, 8);
  v = __builtin_bswap64(v);
  return len >= 8 ? v : v & ~(~uint64_t{0} >> (8 * len));
}
inline uint64_t prefixOf(std::string_view k) {
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
inline Prefix16 prefix16Of(std::string_view k) {
  return {prefixOf(k), k.size() > 8 ? prefixOf(k.substr(8)) : 0};
}

// Whether a <= b, for keys with prefixes pa and pb.
inline bool atOrBelow(uint64_t pa, std::string_view a, uint64_t pb, std::string_view b) {
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

inline size_t putNameBlocks(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset,
                            std::span<const NameEntry> names, bool append, bool keepTail = false) {
  return putBlocksOf<NameBlock, NameEntry>(txn, dbi, dataset, names, append, keepTail);
}

// Schema 1 → 2 of the dom table: one record per name (key dataset ‖ name, value exact ‖ below).
inline void convertNamesToBlocks(MDB_txn* txn, MDB_dbi dbi) {
  convertTable<NameBlock, NameEntry>(
      txn, dbi, "name", [](std::string_view k, std::string_view v) -> std::optional<NameEntry> {
        if (k.size() > kMaxNameKey || v.size() != 8) return std::nullopt;
        return NameEntry{std::string(k),
                         DomainEntry{bytes::get32(v.data()), bytes::get32(v.data() + 4)}};
      });
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

} // namespace dnsxl::store::detail
