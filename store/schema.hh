// Internal to store/: the schema version in `meta` — written on a new store, checked on open,
// and stores of older versions upgraded in place by a writer (see docs/store.md).
#pragma once

#include "store/lmdb.hh"

#include <array>
#include <filesystem>

namespace dnsxl::store::detail {

// Reads the version in meta (dbi: every table's handle). A new writable store gets the current
// version; a writer upgrades versions 1 and 2; a reader serves version 2 as it is. Anything else,
// or version 1 read-only, is a StoreError naming dir and what to do.
void checkSchema(MDB_txn* txn, MDB_dbi meta, const std::array<unsigned, kMaxTables>& dbi,
                 const std::filesystem::path& dir, bool readOnly);

} // namespace dnsxl::store::detail
