// What the store tests share: addresses, a way to change a store behind its back, and the start
// of a model test.
#pragma once

#include "store/store.hh"
#include "tests/support/support.hh"

#include <catch2/catch.hpp>
#include <lmdb.h>
#include <random>

namespace dnsxl::test {

inline store::Ip6 ip6(uint8_t last, uint8_t first = 0x20) {
  store::Ip6 a{};
  a[0] = first;
  a[15] = last;
  return a;
}

// Changes a store behind its back (what another version of dnsxl wrote, or a damaged store):
// f gets a write transaction, committed after it.
template <typename F>
void withRawStore(const std::filesystem::path& dir, F f) {
  MDB_env* e = nullptr;
  REQUIRE(mdb_env_create(&e) == 0);
  mdb_env_set_maxdbs(e, 16);
  REQUIRE(mdb_env_open(e, dir.c_str(), 0, 0644) == 0);
  MDB_txn* t = nullptr;
  REQUIRE(mdb_txn_begin(e, nullptr, 0, &t) == 0);
  f(t);
  REQUIRE(mdb_txn_commit(t) == 0);
  mdb_env_close(e);
}

// Where a model test starts: an empty store, and a generator seeded anew each run (the test
// reports the seed, so that a failure can be replayed).
struct ModelTest {
  TempDir dir;
  store::Env env{dir.path(), {}};
  uint32_t seed = std::random_device{}();
  std::mt19937 rng{seed};
  uint32_t r(uint32_t n) { return static_cast<uint32_t>(rng() % n); }
  // a label of a name key: len letters and digits, then the \0 that ends it
  std::string label(uint32_t len) {
    std::string l;
    for (uint32_t i = 0; i < len; ++i)
      l.push_back("abcdefghijklmnopqrstuvwxyz0123456789"[r(36)]);
    return l + std::string(1, '\0');
  }
};

} // namespace dnsxl::test
