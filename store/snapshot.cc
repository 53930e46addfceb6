// Snapshot: one consistent read-only view, with the per-state indexes of each dataset's blocks
// that make a lookup a search in memory and one or two cache lines of the map.
#include "store/name_filter.hh"

#include <cstring>
#include <type_traits>

namespace dnsxl::store {

using namespace detail;

// ---- Snapshot ----

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

Snapshot::Snapshot(Env& env) : d_env(&env) {
  check("mdb_txn_begin", mdb_txn_begin(env.raw(), nullptr, MDB_RDONLY, &d_txn));
  const int tables[4] = {kIp4Table, kIp6Table, kDom, kGen};
  for (size_t i = 0; i < 4; ++i)
    check("mdb_cursor_open", mdb_cursor_open(d_txn, env.dbi(tables[i]), &d_cursors[i]));
  d_live = true;
  d_index = std::make_unique<Index>();
  d_indexTxn = mdb_txn_id(d_txn);
}

Snapshot::Snapshot(Env& env, Writer& writer) : d_env(&env) {
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

void Snapshot::rebind(Env& env) {
  if (d_borrowed) throw StoreError("a writer's snapshot cannot move to another store");
  for (auto*& c : d_cursors) {
    mdb_cursor_close(c);
    c = nullptr;
  }
  mdb_txn_abort(d_txn);
  d_txn = nullptr;
  d_live = false;
  d_env = &env;
  check("mdb_txn_begin", mdb_txn_begin(env.raw(), nullptr, MDB_RDONLY, &d_txn));
  const int tables[4] = {kIp4Table, kIp6Table, kDom, kGen};
  for (size_t i = 0; i < 4; ++i)
    check("mdb_cursor_open", mdb_cursor_open(d_txn, env.dbi(tables[i]), &d_cursors[i]));
  d_live = true;
  d_index->clear(); // its blocks lie in the other store's map
  d_indexTxn = mdb_txn_id(d_txn);
  reset();
}

void Snapshot::reset() {
  if (d_borrowed) return;
  if (d_live) mdb_txn_reset(d_txn);
  d_live = false;
}

uint64_t Snapshot::generation() {
  return readGeneration(d_txn, d_env->dbi(kMeta));
}

int64_t Snapshot::lastCommit() {
  MDB_val k = val("committed", 9), v;
  const int rc = mdb_get(d_txn, d_env->dbi(kMeta), &k, &v);
  if (rc == MDB_NOTFOUND) return 0;
  check("mdb_get committed", rc);
  return v.mv_size == 8 ? static_cast<int64_t>(bytes::get64(v.mv_data)) : 0;
}

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
  forEachInterval<uint32_t>(d_txn, d_env->dbi(kIp4Table), dataset, f);
}

void Snapshot::forEachIp6(uint32_t dataset, const std::function<void(const IpInterval6&)>& f) {
  forEachInterval<Ip6>(d_txn, d_env->dbi(kIp6Table), dataset, f);
}

void Snapshot::forEachDomain(uint32_t dataset,
                             const std::function<void(std::string_view, DomainEntry)>& f) {
  forEachOfDataset(d_txn, d_env->dbi(kDom), dataset, [&](std::string_view, std::string_view v) {
    forEachNameIn(val(v.data(), v.size()), f);
  });
}

void Snapshot::forEachGeneric(uint32_t dataset,
                              const std::function<void(std::string_view, std::string_view)>& f) {
  forEachOfDataset(d_txn, d_env->dbi(kGen), dataset, f);
}

std::vector<Snapshot::JournalEntry> Snapshot::journal(std::string_view zone) {
  std::vector<JournalEntry> out;
  if (!d_env->has(kJournal)) return out;
  forEachWithPrefix(
      d_txn, d_env->dbi(kJournal), journalPrefix(zone), [&](std::string_view, std::string_view v) {
        if (v.size() < 16) return;
        out.push_back({bytes::get32(v.data()), bytes::get32(v.data() + 4),
                       static_cast<int64_t>(bytes::get64(v.data() + 8)), v.substr(16)});
      });
  return out;
}

void Snapshot::forEachManual(const std::function<void(uint64_t, const ChangeRecord&)>& f) {
  if (d_env->has(kMan)) forEachChange(d_txn, d_env->dbi(kMan), f);
}

void Snapshot::forEachAudit(const std::function<void(uint64_t, const ChangeRecord&)>& f) {
  if (d_env->has(kLog)) forEachChange(d_txn, d_env->dbi(kLog), f);
}

void Snapshot::forEachKey(const std::function<void(const KeyRecord&)>& f) {
  if (d_env->has(kKeys))
    forEachWithPrefix(d_txn, d_env->dbi(kKeys), {},
                      [&](std::string_view k, std::string_view v) { f(decodeKey(k, v)); });
}

void Snapshot::forEachEntry(uint32_t dataset,
                            const std::function<void(std::string_view, std::string_view)>& f) {
  if (!d_env->hasEntries()) return;
  std::string prefix;
  bytes::put32(prefix, dataset);
  forEachWithPrefix(d_txn, d_env->dbi(kEnt), prefix, f);
}

std::vector<ZoneRecord> Snapshot::zones() {
  return readZones(d_txn, d_env->dbi(kZones));
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
  if (!findInterval(Index::of<uint32_t>(d_index.get(), d_txn, d_env->dbi(kIp4Table), dataset),
                    d_cursors[0], dataset, addr, b, i) ||
      bytes::get32(b.endAt(i)) < addr)
    return std::nullopt;
  return IpInterval4{bytes::get32(b.startAt(i)), bytes::get32(b.endAt(i)), b.setAt(i)};
}

bool Snapshot::ip4Any(uint32_t dataset, uint32_t lo, uint32_t hi) {
  Block<uint32_t> b;
  size_t i = 0;
  return findInterval(Index::of<uint32_t>(d_index.get(), d_txn, d_env->dbi(kIp4Table), dataset),
                      d_cursors[0], dataset, hi, b, i) &&
         bytes::get32(b.endAt(i)) >= lo;
}

std::optional<IpInterval6> Snapshot::ip6(uint32_t dataset, const Ip6& addr) {
  Block<Ip6> b;
  size_t i = 0;
  if (!findInterval(Index::of<Ip6>(d_index.get(), d_txn, d_env->dbi(kIp6Table), dataset),
                    d_cursors[1], dataset, addr, b, i) ||
      std::memcmp(b.endAt(i), addr.data(), 16) < 0)
    return std::nullopt;
  return b.at(i);
}

bool Snapshot::ip6Any(uint32_t dataset, const Ip6& lo, const Ip6& hi) {
  Block<Ip6> b;
  size_t i = 0;
  return findInterval(Index::of<Ip6>(d_index.get(), d_txn, d_env->dbi(kIp6Table), dataset),
                      d_cursors[1], dataset, hi, b, i) &&
         std::memcmp(b.endAt(i), lo.data(), 16) >= 0;
}

std::optional<DomainEntry> Snapshot::domain(uint32_t dataset, std::string_view dkey) {
  return findName(Index::ofNames(d_index.get(), d_txn, *d_env, dataset), d_cursors[2], dataset,
                  dkey)
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
      findName(Index::ofNames(d_index.get(), d_txn, *d_env, dataset), d_cursors[2], dataset, dkey);
  below = spot.next && spot.next->size() > dkey.size() && spot.next->starts_with(dkey);
  return spot.exact;
}

bool Snapshot::domainBelow(uint32_t dataset, std::string_view dkey) {
  bool below = false;
  domainAndBelow(dataset, dkey, below);
  return below;
}

bool Snapshot::nameFilterPasses(uint32_t dataset, std::string_view dkey) {
  const NameIndex* ix = Index::ofNames(d_index.get(), d_txn, *d_env, dataset);
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
  int rc = mdb_get(d_txn, d_env->dbi(kGen), &k, &v);
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
  int rc = mdb_get(d_txn, d_env->dbi(kValues), &k, &v);
  if (rc == MDB_NOTFOUND) return {};
  check("mdb_get", rc);
  if (cached) *cached = v;
  return view(v);
}

} // namespace dnsxl::store
