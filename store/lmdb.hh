// Internal to store/: the LMDB tables, error checks, and the cursor and record helpers that
// every part of the store uses. Not for code outside store/ (store.hh is the interface).
#pragma once

#include "dns/byte_order.hh"
#include "store/store.hh"

#include <lmdb.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace dnsxl::store::detail {

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
  kSrc,     // the entries' index: which entries cover an address or name (entry_index.cc)
  kKeys,    // the access keys of keyed zones
  kTableCount
};
constexpr std::array<const char*, kTableCount> kTableNames = {
    "meta", "zones",  "ip4",   "ip6",     "dom",    "values", "gen",
    "ent",  "manual", "audit", "journal", "filter", "src",    "keys"};
static_assert(kTableCount <= kMaxTables, "Env::d_dbi holds kMaxTables tables");

[[noreturn]] inline void fail(const char* call, int rc) {
  throw StoreError(std::string("LMDB ") + call + ": " + mdb_strerror(rc));
}
inline void check(const char* call, int rc) {
  if (rc != MDB_SUCCESS) fail(call, rc);
}
// For the calls that write a file: LMDB reports a write cut short by a full disk as EIO ("short
// write"), so on EIO the file system holding `file` is asked whether it is full (env.cc).
[[noreturn]] void failWrite(const char* call, int rc, const std::filesystem::path& file);
inline void checkWrite(const char* call, int rc, const std::filesystem::path& file) {
  if (rc != MDB_SUCCESS) failWrite(call, rc, file);
}

inline MDB_val val(const void* data, size_t size) {
  return MDB_val{size, const_cast<void*>(data)};
}
inline std::string_view view(const MDB_val& v) {
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

inline void putStr(std::string& out, std::string_view s) {
  if (s.size() > 0xffff) throw StoreError("string too long for the store: " + std::string(s));
  bytes::put16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}

inline uint64_t readGeneration(MDB_txn* txn, MDB_dbi dbi) {
  MDB_val k = val("generation", 10), v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return 0;
  check("mdb_get generation", rc);
  return v.mv_size == 8 ? bytes::get64(v.mv_data) : 0;
}

// Calls f(whole key, value) for every key of a table that starts with prefix (empty: every
// key), in key order.
inline void forEachWithPrefix(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix,
                              const std::function<void(std::string_view, std::string_view)>& f) {
  MDB_cursor* c = nullptr;
  check("mdb_cursor_open", mdb_cursor_open(txn, dbi, &c));
  MDB_val k = val(prefix.data(), prefix.size()), v;
  try {
    // (LMDB refuses a zero-length key to MDB_SET_RANGE: the whole table starts at MDB_FIRST)
    int rc = mdb_cursor_get(c, &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
    for (; rc == MDB_SUCCESS && view(k).starts_with(prefix);
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
      f(view(k), view(v));
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) fail("mdb_cursor_get", rc);
  } catch (...) {
    mdb_cursor_close(c);
    throw;
  }
  mdb_cursor_close(c);
}

inline std::vector<ZoneRecord> readZones(MDB_txn* txn, MDB_dbi dbi) {
  std::vector<ZoneRecord> out;
  forEachWithPrefix(txn, dbi, {},
                    [&](std::string_view, std::string_view v) { out.push_back(decodeZone(v)); });
  return out;
}

// Calls f(key without the dataset prefix, value) for every key of one dataset in a table.
inline void forEachOfDataset(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset,
                             const std::function<void(std::string_view, std::string_view)>& f) {
  std::string prefix;
  bytes::put32(prefix, dataset);
  forEachWithPrefix(txn, dbi, prefix,
                    [&](std::string_view k, std::string_view v) { f(k.substr(4), v); });
}

// How many records a dataset has in a table: what an index of its blocks reserves, so that it
// is not copied as it grows (the copies' fresh pages cost a page fault each: ~5 ms before the
// first answer of each store state for 1M names, here; counting first costs less).
inline size_t recordsOfDataset(MDB_txn* txn, MDB_dbi dbi, uint32_t dataset) {
  size_t n = 0;
  forEachOfDataset(txn, dbi, dataset, [&](std::string_view, std::string_view) { ++n; });
  return n;
}

// Positions c on the last block at or below key (dataset ‖ start or first name) of key's
// dataset, else on the first block after key (of whichever dataset: callers check); returns
// the cursor's result.
inline int seekBlock(MDB_cursor* c, std::string_view key, MDB_val& k, MDB_val& v) {
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

inline void forEachChange(MDB_txn* txn, MDB_dbi dbi,
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

inline std::string journalPrefix(std::string_view zone) {
  std::string k(zone.empty() ? std::string_view(".") : zone);
  k.push_back('\0');
  return k;
}

} // namespace dnsxl::store::detail
