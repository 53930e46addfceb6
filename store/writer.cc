// Writer: one write transaction — an import's bulk writes, live changes in place, the manual
// changes, the audit trail and the IXFR journal — committed with the name filters it made stale.
#include "store/name_filter.hh"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <tuple>

namespace dnsxl::store {

using namespace detail;

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
  for (int t : {kZones, kIp4Table, kIp6Table, kDom, kValues, kGen, kEnt, kFilter, kSrc})
    check("mdb_drop", mdb_drop(d_txn, d_env.dbi(t), 0));
  d_pendingSrc.clear();
  d_pendingSrcLong.clear();
  d_srcEmpty = true;
  // every entry is written again with its index keys: from this commit on the index is whole
  MDB_val ik = val("entry_index", 11), iv = val("1", 1);
  check("mdb_put meta", mdb_put(d_txn, d_env.dbi(kMeta), &ik, &iv, 0));
  d_nextValueId = 1;
  d_valueIds.clear();
  d_pending4 = {};
  d_pending6 = {};
  d_pendingNames = {};
}

void Writer::putEntry(std::string_view key, std::string_view record) {
  putEntry(key, record, decodeEntry(record));
}

void Writer::putEntry(std::string_view key, std::string_view record, const EntryRecord& entry) {
  MDB_val k = val(key.data(), key.size()), v = val(record.data(), record.size());
  check("mdb_put ent", mdb_put(d_txn, d_env.dbi(kEnt), &k, &v, MDB_APPEND));
  queueIndexKeys(key, entry);
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
  flushSrc();
  MDB_val k = val(key.data(), key.size()), v;
  int rc = mdb_get(d_txn, d_env.dbi(kEnt), &k, &v);
  if (rc == MDB_NOTFOUND) return;
  check("mdb_get ent", rc);
  if (key.size() == 8) {
    const auto e = decodeEntry({static_cast<const char*>(v.mv_data), v.mv_size});
    for (const auto& [ik, scope] :
         entryIndexKeys(bytes::get32(key.data()), bytes::get32(key.data() + 4), e)) {
      MDB_val sk = val(ik.data(), ik.size());
      rc = mdb_del(d_txn, d_env.dbi(kSrc), &sk, nullptr);
      if (rc != MDB_NOTFOUND) check("mdb_del src", rc);
    }
  }
  rc = mdb_del(d_txn, d_env.dbi(kEnt), &k, nullptr);
  if (rc != MDB_NOTFOUND) check("mdb_del ent", rc);
}

void Writer::forEachEntry(uint32_t dataset,
                          const std::function<void(std::string_view, std::string_view)>& f) {
  std::string prefix;
  bytes::put32(prefix, dataset);
  forEachWithPrefix(d_txn, d_env.dbi(kEnt), prefix, f);
}

std::string Writer::valueSet(uint32_t id) {
  return std::string(valueSetView(id));
}

std::string_view Writer::valueSetView(uint32_t id) {
  uint8_t key[4];
  bytes::set32(key, id);
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
  std::vector<std::tuple<std::string, size_t, int64_t>> entries;
  forEachWithPrefix(
      d_txn, d_env.dbi(kJournal), journalPrefix(zone), [&](std::string_view k, std::string_view v) {
        const int64_t when = v.size() >= 16 ? static_cast<int64_t>(bytes::get64(v.data() + 8)) : 0;
        entries.emplace_back(std::string(k), v.size(), when);
      });
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

void Writer::putKey(const KeyRecord& k) {
  const auto v = encodeKey(k);
  MDB_val kv = val(k.name.data(), k.name.size()), vv = val(v.data(), v.size());
  check("mdb_put key", mdb_put(d_txn, d_env.dbi(kKeys), &kv, &vv, 0));
}

std::optional<KeyRecord> Writer::key(std::string_view name) {
  MDB_val kv = val(name.data(), name.size()), v;
  const int rc = mdb_get(d_txn, d_env.dbi(kKeys), &kv, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check("mdb_get key", rc);
  return decodeKey(name, view(v));
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
  flushSrc();
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
  // the commit's time, for the data's age (dnsxld's /metrics and /readyz)
  MDB_val ck = val("committed", 9);
  std::string when;
  bytes::put64(when, static_cast<uint64_t>(std::time(nullptr)));
  MDB_val cv = val(when.data(), when.size());
  check("mdb_put meta", mdb_put(d_txn, d_env.dbi(kMeta), &ck, &cv, 0));
  int rc = mdb_txn_commit(d_txn);
  d_txn = nullptr;
  checkWrite("mdb_txn_commit", rc, d_env.dataFile());
}

} // namespace dnsxl::store
