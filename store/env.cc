// Env: opening the LMDB environment, its tables and the schema check; releasing a reader's
// resident pages; compact copies.
#include "store/lmdb.hh"
#include "store/schema.hh"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

namespace dnsxl::store {

using namespace detail;

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

// Whether the store's file system has room for the whole map. With MDB_WRITEMAP LMDB makes
// data.mdb a sparse file of the map's size and writes pages through the map: a page the disk
// has no block for faults (SIGBUS) instead of failing a write(2) with ENOSPC. Only when the
// map cannot outgrow the free space is that way of writing safe.
bool roomForMap(const std::filesystem::path& file, size_t mapSize) {
  struct statvfs vfs {};
  struct stat st {};
  if (::statvfs(file.parent_path().c_str(), &vfs) != 0 || ::stat(file.c_str(), &st) != 0)
    return false;
  const uint64_t allocated = static_cast<uint64_t>(st.st_blocks) * 512;
  const uint64_t free = uint64_t{vfs.f_bavail} * vfs.f_frsize;
  return allocated + free >= mapSize;
}

} // namespace

void detail::failWrite(const char* call, int rc, const std::filesystem::path& file) {
  struct statvfs vfs {};
  const bool full = rc == ENOSPC || rc == EDQUOT ||
                    (rc == EIO && ::statvfs(file.parent_path().c_str(), &vfs) == 0 &&
                     uint64_t{vfs.f_bavail} * vfs.f_frsize < (uint64_t{1} << 20));
  if (!full) fail(call, rc);
  const bool commit = std::string_view(call).starts_with("mdb_txn_commit");
  throw StoreError("the disk holding " + file.parent_path().string() + " is full (LMDB " + call +
                   ": " + mdb_strerror(rc == EIO ? ENOSPC : rc) + ")" +
                   (commit ? "; nothing was committed" : ""));
}

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
      if (rc == ENOSPC || rc == EDQUOT || rc == EIO)
        failWrite("mdb_env_open", rc, dir / "data.mdb");
      if (rc != MDB_SUCCESS)
        throw StoreError("LMDB mdb_env_open " + dir.string() + ": " + mdb_strerror(rc));
    } catch (...) {
      mdb_env_close(d_env);
      d_env = nullptr;
      throw;
    }
  };
  open(MDB_NOTLS | (options.readOnly ? MDB_RDONLY : 0U) |
       (options.readOnly && options.noLock ? MDB_NOLOCK : 0U));
  std::error_code canon;
  d_file = std::filesystem::canonical(dir / "data.mdb", canon);
  if (options.writeMapIfAlone && activeReaders(d_env) == 0 && roomForMap(d_file, options.mapSize)) {
    // Nobody reads the store: write through a writable map (no copy of each page through
    // write(2)). With readers (a running dnsxld) it is not used: the writeback of pages that
    // are mapped in the reader too stalls its queries (p99 ×4 during a 1M-entry import). Nor
    // when the disk could fill before the map does (roomForMap).
    mdb_env_close(d_env);
    d_env = nullptr;
    open(MDB_NOTLS | MDB_WRITEMAP);
    d_writeMap = true;
  }
  try {
    MDB_txn* txn = nullptr;
    check("mdb_txn_begin", mdb_txn_begin(d_env, nullptr, options.readOnly ? MDB_RDONLY : 0, &txn));
    try {
      openTables(txn, dir);
      checkSchema(txn, d_dbi[kMeta], d_dbi, dir, options.readOnly);
      checkWrite("mdb_txn_commit", mdb_txn_commit(txn), dir / "data.mdb");
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
  } catch (...) {
    mdb_env_close(d_env);
    throw;
  }
}

void Env::openTables(MDB_txn* txn, const std::filesystem::path& dir) {
  for (int t = 0; t < kTableCount; ++t) {
    const unsigned f = d_readOnly ? 0U : MDB_CREATE;
    const int r =
        mdb_dbi_open(txn, kTableNames[static_cast<size_t>(t)], f, &d_dbi[static_cast<size_t>(t)]);
    if (r == MDB_NOTFOUND && t >= kEnt) { // a store written before the table existed
      d_missing |= 1U << t;
      continue;
    }
    if (r == MDB_NOTFOUND)
      throw StoreError("store at " + dir.string() + " has no table " +
                       kTableNames[static_cast<size_t>(t)] + " (not a dnsxl store?)");
    check("mdb_dbi_open", r);
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
  checkWrite("mdb_env_copy2", mdb_env_copy2(d_env, dir.c_str(), MDB_CP_COMPACT), dir / "data.mdb");
}

bool Env::hasEntries() const {
  return has(kEnt);
}

Env::TableStats Env::tableStats(std::string_view table) {
  TableStats out;
  MDB_txn* txn = nullptr;
  check("mdb_txn_begin", mdb_txn_begin(d_env, nullptr, MDB_RDONLY, &txn));
  try {
    MDB_dbi dbi = 0;
    check("mdb_dbi_open", mdb_dbi_open(txn, std::string(table).c_str(), 0, &dbi));
    MDB_stat st{};
    check("mdb_stat", mdb_stat(txn, dbi, &st));
    out = {st.ms_entries, st.ms_leaf_pages, st.ms_overflow_pages, st.ms_psize, 0};
    MDB_cursor* c = nullptr;
    check("mdb_cursor_open", mdb_cursor_open(txn, dbi, &c));
    MDB_val k, v;
    // a node: its 8-byte header, key and value rounded up to even, and its 2-byte pointer
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
      out.nodeBytes += ((8 + k.mv_size + v.mv_size + 1) & ~size_t{1}) + 2;
    mdb_cursor_close(c);
  } catch (...) {
    mdb_txn_abort(txn);
    throw;
  }
  mdb_txn_abort(txn);
  return out;
}

Env::Size Env::size() const {
  Size s;
  MDB_envinfo info{};
  MDB_stat st{};
  if (mdb_env_info(d_env, &info) == 0 && mdb_env_stat(d_env, &st) == 0) {
    s.usedBytes = (uint64_t{info.me_last_pgno} + 1) * st.ms_psize;
    s.mapBytes = info.me_mapsize;
  }
  struct stat fs {};
  if (::stat(d_file.c_str(), &fs) == 0) s.fileBytes = static_cast<uint64_t>(fs.st_blocks) * 512;
  return s;
}

} // namespace dnsxl::store
