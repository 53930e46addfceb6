// The entries' index (table `src`): from an address or a name to the imported entries that cover
// it, for `dnsxl why` and the public lookup. An address range is stored as the CIDR blocks that
// make it up, so the entries covering an address are found with one seek per prefix length (33
// for IPv4, 129 for IPv6), whatever the size of the dataset; a name under its own key and, for
// `*.name` entries, looked up from each name above the subject.
#include "store/lmdb.hh"
#include "store/store.hh"

#include <algorithm>
#include <cstring>

namespace dnsxl::store {

using namespace detail;

namespace {

constexpr char kV4 = 4, kV6 = 6, kName = 'n';

__extension__ typedef unsigned __int128 U128;

U128 toU128(const Ip6& a) {
  U128 v = 0;
  for (uint8_t b : a)
    v = v << 8 | b;
  return v;
}

Ip6 fromU128(U128 v) {
  Ip6 a{};
  for (int i = 15; i >= 0; --i) {
    a[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
    v >>= 8;
  }
  return a;
}

// The CIDR blocks of [lo, hi] (bits: 32 or 128), as (network, prefix length).
std::vector<std::pair<U128, unsigned>> blocks(U128 lo, U128 hi, unsigned bits) {
  std::vector<std::pair<U128, unsigned>> out;
  for (;;) {
    unsigned size = 0; // log2 of the block: as large as lo's alignment and hi allow
    while (size < bits) {
      if (size + 1 == 128) { // the whole IPv6 space: 1 << 128 does not fit
        if (lo == 0 && hi == ~U128{0}) ++size;
        break;
      }
      const U128 span = U128{1} << (size + 1);
      if ((lo & (span - 1)) != 0 || lo + (span - 1) > hi || lo + (span - 1) < lo) break;
      ++size;
    }
    out.emplace_back(lo, bits - size);
    const U128 last = size == bits ? ~U128{0} : lo + ((U128{1} << size) - 1);
    if (last >= hi) break;
    lo = last + 1;
  }
  return out;
}

std::string prefixKey(uint32_t dataset, char family, unsigned len, U128 net) {
  std::string k;
  bytes::put32(k, dataset);
  k.push_back(family);
  k.push_back(static_cast<char>(len));
  if (family == kV4) {
    bytes::put32(k, static_cast<uint32_t>(net));
  } else {
    const Ip6 a = fromU128(net);
    k.append(reinterpret_cast<const char*>(a.data()), a.size());
  }
  return k;
}

std::string nameKey(uint32_t dataset, std::string_view dkey) {
  std::string k;
  bytes::put32(k, dataset);
  k.push_back(kName);
  bytes::put16(k, static_cast<uint16_t>(dkey.size()));
  k.append(dkey);
  return k;
}

} // namespace

void forEachIndexKey(uint32_t dataset, uint32_t seq, const EntryRecord& e,
                     const std::function<void(std::string_view, uint8_t)>& f) {
  std::string k;
  auto add = [&](std::string key, uint8_t v) {
    bytes::put32(key, seq);
    f(key, v);
  };
  switch (e.kind) {
  case EntryRecord::V4:
    if (e.lo4 > e.hi4) break;
    for (const auto& [net, len] : blocks(e.lo4, e.hi4, 32))
      add(prefixKey(dataset, kV4, len, net), 0);
    break;
  case EntryRecord::V6:
    if (toU128(e.lo6) > toU128(e.hi6)) break;
    for (const auto& [net, len] : blocks(toU128(e.lo6), toU128(e.hi6), 128))
      add(prefixKey(dataset, kV6, len, net), 0);
    break;
  case EntryRecord::Name:
    if (domainKey(e.name, k)) add(nameKey(dataset, k), e.scope);
    break;
  }
}

std::vector<std::pair<std::string, uint8_t>> entryIndexKeys(uint32_t dataset, uint32_t seq,
                                                            const EntryRecord& e) {
  std::vector<std::pair<std::string, uint8_t>> out;
  forEachIndexKey(dataset, seq, e,
                  [&](std::string_view k, uint8_t v) { out.emplace_back(std::string(k), v); });
  return out;
}

bool Snapshot::hasEntryIndex() {
  if (!d_env->has(kSrc)) return false;
  MDB_val k = val("entry_index", 11), v;
  const int rc = mdb_get(d_txn, d_env->dbi(kMeta), &k, &v);
  if (rc == MDB_NOTFOUND) return false;
  check("mdb_get entry_index", rc);
  return true;
}

namespace {

// Calls f(entry key, record) for each index key under prefix whose value passes keep.
void entriesUnder(MDB_txn* txn, MDB_dbi src, MDB_dbi ent, uint32_t dataset,
                  const std::string& prefix, const std::function<bool(uint8_t)>& keep,
                  const std::function<void(std::string_view, std::string_view)>& f) {
  forEachWithPrefix(txn, src, prefix, [&](std::string_view key, std::string_view value) {
    if (key.size() != prefix.size() + 4 || value.size() != 1) return;
    if (!keep(static_cast<uint8_t>(value[0]))) return;
    const auto ek = entryKey(dataset, bytes::get32(key.data() + prefix.size()));
    MDB_val k = val(ek.data(), ek.size()), v;
    const int rc = mdb_get(txn, ent, &k, &v);
    if (rc == MDB_NOTFOUND) return;
    check("mdb_get ent", rc);
    f(ek, {static_cast<const char*>(v.mv_data), v.mv_size});
  });
}

} // namespace

void Snapshot::entriesCovering4(uint32_t dataset, uint32_t addr,
                                const std::function<void(std::string_view, std::string_view)>& f) {
  for (unsigned len = 0; len <= 32; ++len) {
    const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    entriesUnder(
        d_txn, d_env->dbi(kSrc), d_env->dbi(kEnt), dataset,
        prefixKey(dataset, kV4, len, addr & mask), [](uint8_t) { return true; }, f);
  }
}

void Snapshot::entriesCovering6(uint32_t dataset, const Ip6& addr,
                                const std::function<void(std::string_view, std::string_view)>& f) {
  const U128 a = toU128(addr);
  for (unsigned len = 0; len <= 128; ++len) {
    const U128 mask = len == 0 ? 0 : ~U128{0} << (128 - len);
    entriesUnder(
        d_txn, d_env->dbi(kSrc), d_env->dbi(kEnt), dataset, prefixKey(dataset, kV6, len, a & mask),
        [](uint8_t) { return true; }, f);
  }
}

void Snapshot::entriesCoveringName(
    uint32_t dataset, std::string_view name,
    const std::function<void(std::string_view, std::string_view)>& f) {
  // the name's own entries (scope 0: the name, 2: the name and below), then each name above
  // it for entries of what is below (scope 1 or 2)
  std::string dkey;
  std::string n(name);
  bool own = true;
  for (;;) {
    if (!domainKey(n, dkey)) return;
    entriesUnder(
        d_txn, d_env->dbi(kSrc), d_env->dbi(kEnt), dataset, nameKey(dataset, dkey),
        [own](uint8_t scope) { return own ? scope != 1 : scope != 0; }, f);
    const auto dot = n.find('.');
    if (dot == std::string::npos) return;
    n.erase(0, dot + 1);
    own = false;
  }
}

// ---- Writer ----

void Writer::queueIndexKeys(std::string_view entryKey, const EntryRecord& e) {
  if (entryKey.size() != 8) return;
  forEachIndexKey(bytes::get32(entryKey.data()), bytes::get32(entryKey.data() + 4), e,
                  [&](std::string_view k, uint8_t v) {
                    if (k.size() <= SrcKey::kSize) {
                      SrcKey s;
                      std::memcpy(s.key.data(), k.data(), k.size());
                      s.len = static_cast<uint8_t>(k.size());
                      s.value = v;
                      d_pendingSrc.push_back(s);
                    } else {
                      d_pendingSrcLong.emplace_back(std::string(k), v);
                    }
                  });
}

void Writer::flushSrc() {
  if (d_pendingSrc.empty() && d_pendingSrcLong.empty()) return;
  // Short keys sorted in place (no allocation per key), long ones apart; written merged, in
  // order: into the table an import has just emptied, appended (LMDB fills each page once).
  auto view = [](const SrcKey& s) { return std::string_view(s.key.data(), s.len); };
  std::sort(d_pendingSrc.begin(), d_pendingSrc.end(),
            [&](const SrcKey& a, const SrcKey& b) { return view(a) < view(b); });
  std::sort(d_pendingSrcLong.begin(), d_pendingSrcLong.end());
  const unsigned flags = d_srcEmpty ? MDB_APPEND : 0;
  auto put = [&](std::string_view key, uint8_t value) {
    MDB_val k = val(key.data(), key.size()), v = val(&value, 1);
    check("mdb_put src", mdb_put(d_txn, d_env.dbi(kSrc), &k, &v, flags));
  };
  size_t i = 0, j = 0;
  while (i < d_pendingSrc.size() || j < d_pendingSrcLong.size()) {
    if (j == d_pendingSrcLong.size() ||
        (i < d_pendingSrc.size() && view(d_pendingSrc[i]) < d_pendingSrcLong[j].first)) {
      put(view(d_pendingSrc[i]), d_pendingSrc[i].value);
      ++i;
    } else {
      put(d_pendingSrcLong[j].first, d_pendingSrcLong[j].second);
      ++j;
    }
  }
  d_srcEmpty = false;
  d_pendingSrc = {};
  d_pendingSrcLong = {};
}

} // namespace dnsxl::store
