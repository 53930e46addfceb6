// Schema versions: 1 (a record per interval and per name), 2 (intervals and names in blocks),
// 3 (a filter of each dataset's names). A writer upgrades 1 and 2 in its open transaction.
#include "store/schema.hh"

#include "store/name_filter.hh"

#include <string>

namespace dnsxl::store::detail {

namespace {

void putVersion(MDB_txn* txn, MDB_dbi meta) {
  MDB_val k = val("schema", 6);
  std::string ver;
  bytes::put32(ver, kSchemaVersion);
  MDB_val nv = val(ver.data(), ver.size());
  check("mdb_put", mdb_put(txn, meta, &k, &nv, 0));
}

void upgrade(MDB_txn* txn, const std::array<unsigned, kMaxTables>& dbi, uint32_t from) {
  if (from == 1) { // schema 2: intervals and names in blocks
    convertToBlocks<uint32_t>(txn, dbi[kIp4Table]);
    convertToBlocks<Ip6>(txn, dbi[kIp6Table]);
    convertNamesToBlocks(txn, dbi[kDom]);
  }
  // schema 3: a filter of each dataset's names
  for (uint32_t ds : datasetsWithNames(txn, dbi[kDom]))
    writeNameFilter(txn, dbi[kDom], dbi[kFilter], ds);
  putVersion(txn, dbi[kMeta]);
}

} // namespace

void checkSchema(MDB_txn* txn, MDB_dbi meta, const std::array<unsigned, kMaxTables>& dbi,
                 const std::filesystem::path& dir, bool readOnly) {
  MDB_val k = val("schema", 6), v;
  const int r = mdb_get(txn, meta, &k, &v);
  if (r == MDB_NOTFOUND) {
    if (readOnly) throw StoreError("store at " + dir.string() + " has no schema version");
    putVersion(txn, meta);
    return;
  }
  check("mdb_get", r);
  const uint32_t found = v.mv_size == 4 ? bytes::get32(v.mv_data) : 0;
  if (found == 1 && readOnly)
    throw StoreError("store at " + dir.string() +
                     " has schema version 1; the next `dnsxl import` upgrades it to " +
                     std::to_string(kSchemaVersion));
  if (!readOnly && (found == 1 || found == 2)) return upgrade(txn, dbi, found);
  // schema 2 without the filters: readable as it is (every lookup searches)
  if (found != kSchemaVersion && !(found == 2 && readOnly))
    throw StoreError("store at " + dir.string() + " has schema version " + std::to_string(found) +
                     "; this dnsxl reads version " + std::to_string(kSchemaVersion));
}

} // namespace dnsxl::store::detail
