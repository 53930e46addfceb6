#include "store/requests.hh"

#include "store/lmdb.hh"

namespace dnsxl::store {

using namespace detail;

namespace {

constexpr uint8_t kRequestVersion = 1;

std::string idKey(uint64_t id) {
  std::string k;
  bytes::put64(k, id);
  return k;
}

// A transaction that aborts unless committed.
struct Txn {
  MDB_txn* t = nullptr;
  Txn(MDB_env* env, bool readOnly) {
    check("mdb_txn_begin", mdb_txn_begin(env, nullptr, readOnly ? MDB_RDONLY : 0, &t));
  }
  ~Txn() {
    if (t) mdb_txn_abort(t);
  }
  void commit() {
    MDB_env* env = mdb_txn_env(t);
    const int rc = mdb_txn_commit(t);
    t = nullptr;
    const char* file = nullptr;
    if (rc != MDB_SUCCESS && mdb_env_get_path(env, &file) == MDB_SUCCESS && file)
      failWrite("mdb_txn_commit requests", rc, file);
    check("mdb_txn_commit requests", rc);
  }
};

std::vector<RequestRecord> readAll(MDB_txn* txn, MDB_dbi dbi) {
  std::vector<RequestRecord> out;
  forEachWithPrefix(txn, dbi, {},
                    [&](std::string_view, std::string_view v) { out.push_back(decodeRequest(v)); });
  return out;
}

void putRecord(MDB_txn* txn, MDB_dbi dbi, const RequestRecord& r) {
  const auto k = idKey(r.id);
  const auto v = encodeRequest(r);
  MDB_val kv = val(k.data(), k.size()), vv = val(v.data(), v.size());
  check("mdb_put request", mdb_put(txn, dbi, &kv, &vv, 0));
}

} // namespace

const char* stateName(RequestRecord::State s) {
  switch (s) {
  case RequestRecord::Unconfirmed:
    return "unconfirmed";
  case RequestRecord::Open:
    return "open";
  case RequestRecord::Approved:
    return "approved";
  case RequestRecord::Denied:
    return "denied";
  }
  return "unknown";
}

std::string encodeRequest(const RequestRecord& r) {
  std::string out;
  out.push_back(static_cast<char>(kRequestVersion));
  bytes::put64(out, r.id);
  bytes::put64(out, static_cast<uint64_t>(r.filed));
  out.push_back(static_cast<char>(r.state));
  for (const auto* s :
       {&r.subject, &r.contact, &r.text, &r.client, &r.proof, &r.viewKeyHash, &r.codeHash})
    putStr(out, *s);
  bytes::put32(out, r.codeAttempts);
  bytes::put64(out, static_cast<uint64_t>(r.decided));
  putStr(out, r.decidedBy);
  putStr(out, r.decision);
  bytes::put32(out, static_cast<uint32_t>(r.events.size()));
  for (const auto& e : r.events) {
    bytes::put64(out, static_cast<uint64_t>(e.at));
    putStr(out, e.what);
    putStr(out, e.by);
  }
  return out;
}

RequestRecord decodeRequest(std::string_view bytes) {
  Decoder d(bytes);
  if (d.u8() != kRequestVersion)
    throw StoreError("a removal request of an unknown version in requests.mdb (written by a newer "
                     "dnsxl?)");
  RequestRecord r;
  r.id = d.u64();
  r.filed = static_cast<int64_t>(d.u64());
  const uint8_t state = d.u8();
  if (state > RequestRecord::Denied) throw StoreError("a removal request of an unknown state");
  r.state = static_cast<RequestRecord::State>(state);
  for (auto* s :
       {&r.subject, &r.contact, &r.text, &r.client, &r.proof, &r.viewKeyHash, &r.codeHash})
    *s = d.str();
  r.codeAttempts = d.u32();
  r.decided = static_cast<int64_t>(d.u64());
  r.decidedBy = d.str();
  r.decision = d.str();
  const uint32_t n = d.u32();
  for (uint32_t i = 0; i < n; ++i) {
    RequestEvent e;
    e.at = static_cast<int64_t>(d.u64());
    e.what = d.str();
    e.by = d.str();
    r.events.push_back(std::move(e));
  }
  return r;
}

RequestStore::RequestStore(const std::filesystem::path& file, bool readOnly)
    : d_readOnly(readOnly) {
  if (readOnly && !std::filesystem::exists(file))
    throw StoreError("no removal requests yet (" + file.string() + " does not exist)");
  check("mdb_env_create", mdb_env_create(&d_env));
  try {
    check("mdb_env_set_maxdbs", mdb_env_set_maxdbs(d_env, 2));
    // a request is well under 4 KB: 256 MiB (a sparse file) holds more than anyone files
    check("mdb_env_set_mapsize", mdb_env_set_mapsize(d_env, size_t{256} << 20));
    const int rc = mdb_env_open(d_env, file.c_str(),
                                MDB_NOSUBDIR | MDB_NOTLS | (readOnly ? MDB_RDONLY : 0U), 0640);
    if (rc == ENOSPC || rc == EDQUOT || rc == EIO) failWrite("mdb_env_open", rc, file);
    if (rc != MDB_SUCCESS)
      throw StoreError("LMDB mdb_env_open " + file.string() + ": " + mdb_strerror(rc));
    Txn txn(d_env, readOnly);
    MDB_dbi dbi = 0;
    const int orc = mdb_dbi_open(txn.t, "requests", readOnly ? 0U : MDB_CREATE, &dbi);
    if (orc == MDB_NOTFOUND) throw StoreError(file.string() + " holds no removal requests table");
    check("mdb_dbi_open requests", orc);
    d_dbi = dbi;
    txn.commit();
  } catch (...) {
    mdb_env_close(d_env);
    throw;
  }
}

RequestStore::~RequestStore() {
  mdb_env_close(d_env);
}

std::optional<uint64_t>
RequestStore::add(RequestRecord r,
                  const std::function<std::string(const std::vector<RequestRecord>&)>& admit,
                  std::string& refusal) {
  Txn txn(d_env, false);
  const auto existing = readAll(txn.t, d_dbi);
  refusal = admit(existing);
  if (!refusal.empty()) return std::nullopt;
  r.id = existing.empty() ? 1 : existing.back().id + 1;
  putRecord(txn.t, d_dbi, r);
  txn.commit();
  return r.id;
}

bool RequestStore::update(uint64_t id, const std::function<bool(RequestRecord&)>& f) {
  Txn txn(d_env, false);
  const auto k = idKey(id);
  MDB_val kv = val(k.data(), k.size()), v;
  const int rc = mdb_get(txn.t, d_dbi, &kv, &v);
  if (rc == MDB_NOTFOUND) return false;
  check("mdb_get request", rc);
  auto r = decodeRequest(view(v));
  if (!f(r)) return false;
  r.id = id;
  putRecord(txn.t, d_dbi, r);
  txn.commit();
  return true;
}

std::optional<RequestRecord> RequestStore::get(uint64_t id) const {
  Txn txn(d_env, true);
  const auto k = idKey(id);
  MDB_val kv = val(k.data(), k.size()), v;
  const int rc = mdb_get(txn.t, d_dbi, &kv, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check("mdb_get request", rc);
  return decodeRequest(view(v));
}

std::vector<RequestRecord> RequestStore::all() const {
  Txn txn(d_env, true);
  return readAll(txn.t, d_dbi);
}

} // namespace dnsxl::store
