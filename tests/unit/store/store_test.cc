#include "store/store.hh"
#include "tests/support/support.hh"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <lmdb.h>
#include <map>
#include <random>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

using namespace dnsxl;
using namespace dnsxl::store;

namespace {

Ip6 ip6(uint8_t last, uint8_t first = 0x20) {
  Ip6 a{};
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
  test::TempDir dir;
  Env env{dir.path(), {}};
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

} // namespace

TEST_CASE("an empty store answers nothing", "[store]") {
  test::TempDir dir;
  Env env(dir.path(), {});
  Snapshot s(env);
  CHECK(s.generation() == 0);
  CHECK(s.zones().empty());
  CHECK_FALSE(s.ip4(1, 0));
  CHECK_FALSE(s.ip4(1, 0xffffffff));
  CHECK_FALSE(s.ip6(1, ip6(1)));
  CHECK_FALSE(s.ip4Any(1, 0, 0xffffffff));
  CHECK_FALSE(s.domain(1, std::string("com\0", 4)));
  CHECK_FALSE(s.domainBelow(1, std::string("com\0", 4)));
  CHECK(s.valueSet(1).empty());
}

TEST_CASE("interval lookups at the edges, per dataset", "[store]") {
  test::TempDir dir;
  Env env(dir.path(), {});
  {
    Writer w(env);
    std::pair<uint32_t, std::optional<std::string>> v{0x7f000002, "why $"};
    uint32_t vs = w.internValueSet(encodeValueSet({&v, 1}));
    CHECK(w.internValueSet(encodeValueSet({&v, 1})) == vs); // deduplicated
    w.putIp4(1, {0, 0, vs});
    w.putIp4(1, {100, 199, vs});
    w.putIp4(1, {0xfffffff0, 0xffffffff, vs});
    w.putIp4(2, {150, 150, vs});
    w.putIp6(1, {ip6(0x10), ip6(0x1f), vs});
    w.putDomain(1, std::string("com\0example\0", 12), {vs, kNoValue});
    w.putDomain(1, std::string("org\0", 4), {kNoValue, kExcluded});
    w.commit();
  }
  Snapshot s(env);
  s.renew();
  CHECK(s.generation() == 1);
  CHECK(s.ip4(1, 0));
  CHECK_FALSE(s.ip4(1, 1));
  CHECK_FALSE(s.ip4(1, 99));
  REQUIRE(s.ip4(1, 100));
  CHECK(s.ip4(1, 100)->end == 199);
  CHECK(s.ip4(1, 199));
  CHECK_FALSE(s.ip4(1, 200));
  CHECK(s.ip4(1, 0xffffffff));
  CHECK_FALSE(s.ip4(1, 0xffffffef));
  CHECK_FALSE(s.ip4(2, 149));
  CHECK(s.ip4(2, 150));
  CHECK_FALSE(s.ip4(2, 151));
  CHECK_FALSE(s.ip4(3, 150)); // another dataset
  CHECK(s.ip4Any(1, 50, 100));
  CHECK_FALSE(s.ip4Any(1, 50, 99));
  CHECK(s.ip4Any(1, 199, 250));
  CHECK_FALSE(s.ip4Any(1, 200, 250));
  CHECK(s.ip6(1, ip6(0x10)));
  CHECK(s.ip6(1, ip6(0x1f)));
  CHECK_FALSE(s.ip6(1, ip6(0x20)));
  CHECK_FALSE(s.ip6(1, ip6(0x0f)));
  CHECK(s.ip6Any(1, ip6(0), ip6(0x10)));
  CHECK_FALSE(s.ip6Any(1, ip6(0x20), ip6(0xff)));
  auto d = s.domain(1, std::string("com\0example\0", 12));
  REQUIRE(d);
  CHECK(d->exact != kNoValue);
  CHECK(s.domainBelow(1, std::string("com\0", 4)));
  CHECK_FALSE(s.domainBelow(1, std::string("com\0example\0", 12)));
  CHECK_FALSE(s.domainBelow(1, std::string("co\0", 3)));
  CHECK(s.domain(1, std::string("org\0", 4))->wild == kExcluded);
  // the same answers from one seek
  for (const std::string& key :
       {std::string("com\0", 4), std::string("com\0example\0", 12), std::string("co\0", 3),
        std::string("org\0", 4), std::string("zz\0", 3), std::string()}) {
    INFO(key);
    bool below = true;
    const auto both = s.domainAndBelow(1, key, below);
    const auto one = s.domain(1, key);
    CHECK(both.has_value() == one.has_value());
    if (both && one) CHECK((both->exact == one->exact && both->wild == one->wild));
    CHECK(below == s.domainBelow(1, key));
  }

  ValueSetReader r(s.valueSet(s.ip4(1, 150)->valueSet));
  ValueView v;
  REQUIRE(r.next(v));
  CHECK(v.a == 0x7f000002);
  CHECK(v.txt == "why $");
  CHECK_FALSE(r.next(v));
}

TEST_CASE("a snapshot sees one committed state; an aborted writer changes nothing", "[store]") {
  test::TempDir dir;
  Env env(dir.path(), {});
  {
    Writer w(env);
    w.putIp4(1, {10, 10, 1});
    w.commit();
  }
  Snapshot s(env);
  s.renew();
  {
    Writer w(env);
    w.clearData();
    w.putIp4(1, {20, 20, 1});
    // destroyed without commit
  }
  {
    Writer w(env);
    w.clearData();
    w.putIp4(1, {30, 30, 1});
    w.commit();
  }
  CHECK(s.ip4(1, 10)); // the old snapshot until renewed
  CHECK_FALSE(s.ip4(1, 30));
  s.renew();
  CHECK_FALSE(s.ip4(1, 10));
  CHECK_FALSE(s.ip4(1, 20));
  CHECK(s.ip4(1, 30));
  CHECK(s.generation() == 2);
}

TEST_CASE("zone records round-trip", "[store]") {
  ZoneRecord z;
  z.name = "bl.example.org";
  z.soa = {"ns1.example.org", "hostmaster.example.org", 42, 1, 2, 3, 4, 5};
  z.ns = {"ns1.example.org", "ns2.example.org"};
  z.nsTtl = 77;
  DatasetRecord d;
  d.id = 9;
  d.name = "dyn";
  d.kinds = kIp4 | kDomain;
  d.ttl = 300;
  d.vars[3] = "three";
  d.entries = 123456789012;
  z.datasets.push_back(d);
  auto back = decodeZone(encodeZone(z));
  CHECK(back.datasets.at(0).entries == 123456789012);
  z.datasets[0].files = {"a.txt", "b.csv"};
  CHECK(decodeZone(encodeZone(z)).datasets.at(0).files == z.datasets[0].files);
  z.datasets[0].files.clear();
  // a record written before the entry counts existed still reads (count 0)
  auto old = encodeZone(z);
  CHECK(decodeZone(old.substr(0, old.size() - 11)).datasets.at(0).entries == 0);
  CHECK(back.name == z.name);
  CHECK(back.soa.serial == 42);
  CHECK(back.soa.ttl == 5);
  CHECK(back.ns == z.ns);
  CHECK(back.nsTtl == 77);
  REQUIRE(back.datasets.size() == 1);
  CHECK(back.datasets[0].kinds == (kIp4 | kDomain));
  CHECK(back.datasets[0].vars[3] == "three");
  CHECK_THROWS_AS(decodeZone(encodeZone(z).substr(0, 10)), StoreError);
}

TEST_CASE("opening checks the schema version", "[store]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(Env(dir.path() / "missing", {.readOnly = true}),
                    Catch::Contains("no store at") && Catch::Contains("dnsxl import"));
  { Env env(dir.path(), {}); }
  // Write a future schema version behind the store's back.
  withRawStore(dir.path(), [](MDB_txn* t) {
    MDB_dbi dbi;
    mdb_dbi_open(t, "meta", 0, &dbi);
    uint8_t ver[4] = {0, 0, 0, 4};
    MDB_val k{6, const_cast<char*>("schema")}, v{4, ver};
    mdb_put(t, dbi, &k, &v, 0);
  });
  CHECK_THROWS_WITH(Env(dir.path(), {}),
                    Catch::Contains("has schema version 4") && Catch::Contains("reads version 3"));
  CHECK_THROWS_WITH(Env(dir.path(), {.readOnly = true}),
                    Catch::Contains("has schema version 4") && Catch::Contains("reads version 3"));
}

TEST_CASE("a schema 2 store (no name filters) is read as it is, and upgraded by a writer",
          "[store]") {
  test::TempDir dir;
  const std::string a("com\0a\0", 6), b("com\0b\0", 6), cd("net\0c\0d\0", 8);
  {
    Env env(dir.path(), {});
    Writer w(env);
    for (const auto& k : {a, b, cd})
      w.appendDomain(3, k, {1, kNoValue});
    w.commit();
  }
  // What dnsxl with schema 2 wrote: the same, without the filter table.
  withRawStore(dir.path(), [](MDB_txn* t) {
    MDB_dbi meta, filter;
    REQUIRE(mdb_dbi_open(t, "meta", 0, &meta) == 0);
    REQUIRE(mdb_dbi_open(t, "filter", 0, &filter) == 0);
    REQUIRE(mdb_drop(t, filter, 1) == 0);
    uint8_t ver[4] = {0, 0, 0, 2};
    MDB_val k{6, const_cast<char*>("schema")}, v{4, ver};
    REQUIRE(mdb_put(t, meta, &k, &v, 0) == 0);
  });
  auto lookups = [&](Snapshot& s) {
    bool below = false;
    CHECK(s.domainAndBelow(3, a, below)->exact == 1);
    CHECK_FALSE(below);
    CHECK_FALSE(s.domainAndBelow(3, std::string("net\0c\0", 6), below));
    CHECK(below);
    CHECK_FALSE(s.domainAndBelow(3, std::string("org\0", 4), below));
    CHECK_FALSE(below);
    CHECK(s.domainBelow(3, std::string()));
  };
  {
    Env env(dir.path(), {.readOnly = true}); // dnsxld, until the next dnsxl command writes
    Snapshot s(env);
    lookups(s);
    CHECK(s.nameFilterPasses(3, std::string("org\0", 4))); // no filter
  }
  { Env env(dir.path(), {}); } // upgrades
  withRawStore(dir.path(), [](MDB_txn* t) {
    MDB_dbi meta, filter;
    REQUIRE(mdb_dbi_open(t, "meta", 0, &meta) == 0);
    MDB_val k{6, const_cast<char*>("schema")}, v;
    REQUIRE(mdb_get(t, meta, &k, &v) == 0);
    CHECK(std::string_view(static_cast<char*>(v.mv_data), v.mv_size) ==
          std::string_view("\0\0\0\3", 4));
    REQUIRE(mdb_dbi_open(t, "filter", 0, &filter) == 0);
    uint8_t ds[4] = {0, 0, 0, 3};
    MDB_val dk{4, ds};
    REQUIRE(mdb_get(t, filter, &dk, &v) == 0);
    CHECK(v.mv_size == 48 + 64); // header, one line for 6 keys
  });
  Env env(dir.path(), {.readOnly = true});
  Snapshot s(env);
  lookups(s);
  for (const auto& k : {a, b, cd, std::string("net\0c\0", 6), std::string("com\0", 4)})
    CHECK(s.nameFilterPasses(3, k));
  size_t passed = 0;
  for (int i = 0; i < 1000; ++i)
    passed +=
        s.nameFilterPasses(3, std::string("org\0n", 5) + std::to_string(i) + std::string(1, '\0'))
            ? 1U
            : 0U;
  CHECK(passed < 100);
}

// A filter record that is not what this dnsxl writes (damaged, or cut short) is no filter:
// every lookup searches, and finds what is there.
TEST_CASE("a damaged name filter is ignored", "[store][dom]") {
  test::TempDir dir;
  const std::string a("com\0a\0", 6);
  {
    Env env(dir.path(), {});
    Writer w(env);
    w.appendDomain(3, a, {1, kNoValue});
    w.commit();
  }
  for (size_t size : {size_t{0}, size_t{47}, size_t{48}, size_t{48 + 63}, size_t{48 + 128}}) {
    INFO("filter record of " << size << " bytes");
    withRawStore(dir.path(), [&](MDB_txn* t) {
      MDB_dbi filter;
      REQUIRE(mdb_dbi_open(t, "filter", 0, &filter) == 0);
      // a header that claims one line, and no bits set: would hide every name if trusted
      std::string bad(size, '\0');
      if (size >= 4) bad[3] = 1;
      uint8_t ds[4] = {0, 0, 0, 3};
      MDB_val k{4, ds}, v{bad.size(), bad.data()};
      REQUIRE(mdb_put(t, filter, &k, &v, 0) == 0);
    });
    Env env(dir.path(), {.readOnly = true});
    Snapshot s(env);
    bool below = false;
    REQUIRE(s.domainAndBelow(3, a, below));
    CHECK(s.domainBelow(3, std::string("com\0", 4)));
    CHECK(s.nameFilterPasses(3, std::string("org\0", 4)));
  }
}

TEST_CASE("a schema 1 store (a record per interval) is upgraded by a writer, refused by a reader",
          "[store]") {
  test::TempDir dir;
  { Env env(dir.path(), {}); }
  // What dnsxl 1 wrote: key dataset ‖ start, value end ‖ set, one record per interval.
  withRawStore(dir.path(), [](MDB_txn* t) {
    MDB_dbi meta, ip4, ip6t;
    mdb_dbi_open(t, "meta", 0, &meta);
    mdb_dbi_open(t, "ip4", 0, &ip4);
    mdb_dbi_open(t, "ip6", 0, &ip6t);
    uint8_t ver[4] = {0, 0, 0, 1};
    MDB_val k{6, const_cast<char*>("schema")}, v{4, ver};
    REQUIRE(mdb_put(t, meta, &k, &v, 0) == 0);
    auto be = [](uint8_t* p, uint32_t x) {
      p[0] = uint8_t(x >> 24), p[1] = uint8_t(x >> 16), p[2] = uint8_t(x >> 8), p[3] = uint8_t(x);
    };
    // dataset 1: 500 intervals [10i, 10i + 3] (three blocks' worth); dataset 2: one
    for (uint32_t i = 0; i < 501; ++i) {
      const uint32_t ds = i < 500 ? 1 : 2, start = i < 500 ? 10 * i : 7;
      uint8_t key[8], value[8];
      be(key, ds), be(key + 4, start), be(value, start + 3), be(value + 4, 100 + i);
      MDB_val kk{8, key}, vv{8, value};
      REQUIRE(mdb_put(t, ip4, &kk, &vv, 0) == 0);
    }
    MDB_dbi dom;
    mdb_dbi_open(t, "dom", 0, &dom);
    for (const char* n : {"com", "net", "org"}) {
      uint8_t key[8] = {0, 0, 0, 3}, value[8] = {0, 0, 0, 1, 0, 0, 0, 0};
      std::memcpy(key + 4, n, 3);
      MDB_val kk{8, key}, vv{8, value};
      REQUIRE(mdb_put(t, dom, &kk, &vv, 0) == 0);
    }
    uint8_t key6[20] = {0, 0, 0, 1, 0x20}, value6[20] = {0x20};
    value6[15] = 0x0f;
    be(value6 + 16, 9);
    MDB_val kk{20, key6}, vv{20, value6};
    REQUIRE(mdb_put(t, ip6t, &kk, &vv, 0) == 0);
  });
  CHECK_THROWS_WITH(Env(dir.path(), {.readOnly = true}),
                    Catch::Contains("schema version 1") && Catch::Contains("dnsxl import"));
  { Env env(dir.path(), {}); } // upgrades
  Env env(dir.path(), {.readOnly = true});
  Snapshot s(env);
  for (uint32_t i = 0; i < 500; ++i) {
    INFO(i);
    REQUIRE(s.ip4(1, 10 * i + 3));
    CHECK(s.ip4(1, 10 * i + 3)->valueSet == 100 + i);
    CHECK(s.ip4(1, 10 * i)->start == 10 * i);
    CHECK_FALSE(s.ip4(1, 10 * i + 4));
  }
  CHECK(s.ip4(2, 8)->valueSet == 600);
  CHECK_FALSE(s.ip4(2, 11));
  size_t n = 0;
  s.forEachIp4(1, [&](const IpInterval4& iv) { CHECK(iv.start == 10 * n++); });
  CHECK(n == 500);
  CHECK(s.ip6(1, ip6(0x0f))->valueSet == 9);
  CHECK_FALSE(s.ip6(1, ip6(0x10)));
  const std::string net("net\0", 4);
  REQUIRE(s.domain(3, net));
  CHECK(s.domain(3, net)->exact == 1);
  CHECK_FALSE(s.domain(3, "net"));
  std::string names;
  s.forEachDomain(3, [&](std::string_view k, DomainEntry e) {
    if (e.exact == 1 && e.wild == kNoValue) names.append(k);
  });
  CHECK(names == std::string("com\0net\0org\0", 12));
}

TEST_CASE("a renewed snapshot reads the value sets of the new state, ids reused or not",
          "[store]") {
  test::TempDir dir;
  Env env(dir.path(), {});
  auto put = [&](const char* txt) {
    Writer w(env);
    w.clearData(); // an import: ids start again from 1
    std::pair<uint32_t, std::optional<std::string>> v{0x7f000002, std::string(txt)};
    CHECK(w.internValueSet(encodeValueSet({&v, 1})) == 1);
    w.commit();
  };
  auto txtOf = [](std::string_view set) {
    ValueSetReader r(set);
    ValueView v;
    return r.next(v) ? std::string(v.txt) : std::string("(none)");
  };
  put("first");
  Snapshot live(env);
  CHECK(txtOf(live.valueSet(1)) == "first");
  live.reset();
  put("second");
  live.renew();
  CHECK(txtOf(live.valueSet(1)) == "second");
  live.reset();
  live.renew();
  CHECK(txtOf(live.valueSet(1)) == "second");
  CHECK(live.valueSet(2).empty());
}

TEST_CASE("many names in blocks: lookups, names below and changes match a model", "[store][dom]") {
  ModelTest t;
  INFO("seed " << t.seed);
  Env& env = t.env;
  auto r = [&](uint32_t n) { return t.r(n); };
  // Names of up to four labels from a small alphabet, so that many lie below others; one
  // label in twenty is long (names of 100+ bytes fill blocks sooner).
  auto name = [&] {
    std::string k;
    const uint32_t labels = 1 + r(4);
    for (uint32_t i = 0; i < labels; ++i) {
      k +=
          r(20) == 0 ? std::string(40 + r(20), char('a' + r(3))) : std::string(1, char('a' + r(5)));
      k.push_back('\0');
    }
    return k;
  };
  std::map<std::string, std::pair<uint32_t, uint32_t>> model;
  // names from d on: a value set each (blocks with every set written out); before: a few (blocks
  // with a palette)
  for (uint32_t i = 0; i < 4000; ++i) {
    const auto k = name();
    model[k] = {k[0] >= 'd' ? 1000 + i : 1 + r(3), r(2) ? kNoValue : 1 + r(3)};
  }
  {
    Writer w(env);
    w.appendDomain(6, std::string("a\0", 2), {9, kNoValue}); // neighbouring datasets
    for (const auto& [k, e] : model)
      w.appendDomain(7, k, {e.first, e.second});
    CHECK_THROWS_AS(w.appendDomain(7, std::string("a\0", 2), {1, kNoValue}), StoreError);
    w.appendDomain(8, std::string(), {9, kNoValue});
    w.commit();
  }
  auto belowInModel = [&](const std::string& k) {
    auto it = model.upper_bound(k);
    return it != model.end() && it->first.size() > k.size() && it->first.starts_with(k);
  };
  Snapshot live(env);
  auto compare = [&](Snapshot& s, int round) {
    INFO("round " << round);
    std::vector<std::string> probes;
    for (const auto& [k, e] : model)
      if (r(4) == 0) probes.push_back(k);
    for (int i = 0; i < 500; ++i)
      probes.push_back(name());
    probes.push_back(std::string());
    probes.push_back(std::string("\xff\0", 2));
    for (const auto& k : probes) {
      INFO("name " << k);
      bool below = false;
      const auto d = s.domainAndBelow(7, k, below);
      const auto it = model.find(k);
      REQUIRE(d.has_value() == (it != model.end()));
      if (d) REQUIRE((d->exact == it->second.first && d->wild == it->second.second));
      REQUIRE(below == belowInModel(k));
      REQUIRE(s.domainBelow(7, k) == below);
      REQUIRE(s.domain(7, k).has_value() == d.has_value());
    }
    CHECK(s.domain(6, std::string("a\0", 2))->exact == 9);
    CHECK(s.domain(8, std::string())->exact == 9);
    auto it = model.begin();
    size_t n = 0;
    s.forEachDomain(7, [&](std::string_view k, DomainEntry e) {
      REQUIRE(it != model.end());
      REQUIRE(k == it->first);
      REQUIRE((e.exact == it->second.first && e.wild == it->second.second));
      ++it, ++n;
    });
    CHECK(n == model.size());
  };
  for (int round = 0; round < 30; ++round) {
    live.renew();
    compare(live, round);
    live.reset();
    {
      Snapshot fresh(env);
      compare(fresh, round);
    }
    Writer w(env);
    for (int change = 0; change < 20; ++change) {
      const std::string k = change % 2 == 0 && !model.empty()
                                ? std::next(model.begin(), r(uint32_t(model.size())))->first
                                : name();
      switch (r(4)) {
      case 0:
      case 1: {
        const uint32_t exact = 1 + r(5);
        w.putDomain(7, k, {exact, kNoValue});
        model[k] = {exact, kNoValue};
        break;
      }
      case 2:
        w.deleteDomain(7, k);
        model.erase(k);
        break;
      default: {
        size_t gone = 0;
        for (auto m = model.upper_bound(k);
             m != model.end() && m->first.size() > k.size() && m->first.starts_with(k);)
          m = model.erase(m), ++gone;
        REQUIRE(w.deleteDomainsBelow(7, k) == gone);
      }
      }
      const auto wd = w.domain(7, k); // the writer reads its own changes
      REQUIRE(wd.has_value() == model.contains(k));
    }
    w.commit();
  }
}

// Real blocklists hold many names under a few long suffixes ("online", "co.uk"): every block's
// names then share more than the 8 bytes a prefix holds, and names asked about fall between
// the blocks, past their last names, or differ from them within the shared bytes.
TEST_CASE("names under long shared suffixes: lookups and names below match a model",
          "[store][dom]") {
  ModelTest t;
  INFO("seed " << t.seed);
  Env& env = t.env;
  auto r = [&](uint32_t n) { return t.r(n); };
  // keys: the labels from the top down, each ended by \0
  const std::vector<std::string> suffixes = {std::string("online\0", 7),
                                             std::string("uk\0co\0", 6),
                                             std::string("website\0", 8),
                                             std::string("com\0longcompanyname\0", 20),
                                             std::string("com\0longcompanynamf\0", 20),
                                             std::string("xn--p1ai\0", 9),
                                             std::string("technology\0", 11),
                                             std::string("photography\0", 12)};
  // few letters: many names share their first letters too, so blocks share more than 8 bytes
  auto label = [&](uint32_t len) {
    std::string l;
    for (uint32_t i = 0; i < len; ++i)
      l.push_back("ab01-z"[r(i ? 6 : 5)]);
    return l + std::string(1, '\0');
  };
  auto name = [&] {
    std::string k = suffixes[r(uint32_t(suffixes.size()))];
    switch (r(8)) {
    case 0:
      return k.substr(0, 1 + r(uint32_t(k.size()))); // the suffix, cut anywhere
    case 1:
      return k + label(1 + r(3)) + label(1 + r(6)); // two levels below
    default:
      return k + label(1 + r(12));
    }
  };
  std::set<std::string> names;
  for (uint32_t i = 0; i < 20000; ++i)
    names.insert(name());
  // Twelve datasets, each of a random 70% of the names: the blocks end at other names in each,
  // and a search goes wrong only at a few of their ends (see the probes)
  constexpr uint32_t kSets = 12;
  std::vector<std::map<std::string, uint32_t>> models(kSets);
  {
    Writer w(env);
    for (uint32_t d = 0; d < kSets; ++d)
      for (const auto& k : names)
        if (r(10) < 7) {
          models[d][k] = 1 + r(3);
          w.appendDomain(d, k, {models[d][k], kNoValue});
        }
    w.commit();
  }
  // every cut of every name: those just below a block's first name lie past the last name of
  // the block before, and may differ from its names within the bytes they share
  std::vector<std::string> probes;
  for (const auto& k : names) {
    for (size_t cut = 0; cut <= k.size(); ++cut)
      probes.push_back(k.substr(0, cut));
    probes.push_back(k + "\x01"); // just above a name
  }
  for (int i = 0; i < 2000; ++i)
    probes.push_back(name());
  // ~9M lookups: checked without Catch's per-assertion cost, the first few wrong ones reported
  Snapshot s(env);
  size_t wrong = 0;
  for (uint32_t d = 0; d < kSets; ++d)
    for (const auto& k : probes) { // the first lookups in a block sample it, the others use that
      const auto& model = models[d];
      bool below = false;
      const auto e = s.domainAndBelow(d, k, below);
      const auto it = model.find(k);
      const auto next = model.upper_bound(k);
      const bool belowInModel =
          next != model.end() && next->first.starts_with(k) && next->first.size() > k.size();
      if (e.has_value() == (it != model.end()) && (!e || e->exact == it->second) &&
          below == belowInModel)
        continue;
      std::string shown = k;
      std::replace(shown.begin(), shown.end(), '\0', '.');
      if (wrong++ < 5)
        FAIL_CHECK("dataset " << d << " name " << shown << ": found " << e.has_value() << " below "
                              << below << ", the model: " << (it != model.end()) << " below "
                              << belowInModel);
    }
  REQUIRE(wrong == 0);
}

// A server's memory is mostly the store's pages it maps: an import packs names two blocks to a
// 4 KiB leaf page with little room left, and no block, whatever its first name, moves to LMDB's
// overflow pages (one more page and a lookup through it).
TEST_CASE("an import fills the leaf pages of the names table", "[store][dom]") {
  ModelTest t;
  INFO("seed " << t.seed);
  auto r = [&](uint32_t n) { return t.r(n); };
  auto label = [&](uint32_t len) { return t.label(len); };
  std::set<std::string> names;
  // registered domains, one in fifty a name as long as a key may be (255 bytes: four labels)
  const std::string com("com\0", 4), online("online\0", 7);
  for (uint32_t i = 0; i < 30000; ++i)
    names.insert(r(50) == 0 ? label(63) + label(63) + label(63) + label(61)
                            : (r(2) ? com : online) + label(6 + r(10)));
  {
    Writer w(t.env);
    for (const auto& k : names)
      w.appendDomain(3, k, {1 + r(3), kNoValue});
    w.commit();
  }
  const auto st = t.env.tableStats("dom");
  CHECK(st.entries > 0);
  CHECK(st.overflowPages == 0);
  const double fill = double(st.nodeBytes) / double(st.leafPages * (st.pageSize - 16));
  INFO(st.entries << " blocks in " << st.leafPages << " leaf pages, filled " << fill);
  CHECK(fill > 0.95); // blocks of at most 1,700 bytes filled 85%
  CHECK(fill <= 1.0);
}

// 70% of the names a DNSBL is asked about are not listed: the filter of each dataset's names
// answers for most of them without a search. It must pass every name and every name above one
// (a query for those must find them, or the names below them: RFC 8020), after an import and
// after live changes, and few others.
TEST_CASE("the name filter passes every name and every name above one, and few others",
          "[store][dom]") {
  ModelTest t;
  INFO("seed " << t.seed);
  auto r = [&](uint32_t n) { return t.r(n); };
  auto label = [&](uint32_t len) { return t.label(len); };
  const std::string tlds[] = {std::string("com\0", 4), std::string("online\0", 7),
                              std::string("uk\0co\0", 6)};
  auto name = [&] {
    std::string k = tlds[r(3)] + label(4 + r(10));
    return r(10) == 0 ? k + label(1 + r(5)) : k; // one in ten a level deeper
  };
  std::set<std::string> names;
  for (uint32_t i = 0; i < 50000; ++i)
    names.insert(name());
  std::set<std::string> above; // the names above them, "" included
  for (const auto& k : names)
    for (size_t i = 0; i < k.size(); ++i)
      if (i == 0 || k[i - 1] == '\0') above.insert(k.substr(0, i));
  {
    Writer w(t.env);
    for (const auto& k : names)
      w.appendDomain(4, k, {1, kNoValue});
    w.commit();
  }
  Snapshot s(t.env);
  auto passes = [&](const std::string& k) { return s.nameFilterPasses(4, k); };
  size_t missed = 0;
  for (const auto& k : names)
    missed += passes(k) ? 0U : 1U;
  for (const auto& k : above)
    missed += passes(k) ? 0U : 1U;
  CHECK(missed == 0);
  size_t others = 0, passed = 0;
  while (others < 100000) {
    const std::string k = name();
    if (names.contains(k) || above.contains(k)) continue;
    ++others;
    passed += passes(k) ? 1U : 0U;
  }
  INFO(passed << " of " << others << " other names passed");
  CHECK(passed < others / 50);       // ~1% at 10 bits a key
  CHECK(passes(std::string("onl"))); // a key cut within a label: names may lie below it
  CHECK(passes(std::string("xyz\0", 4)) == s.domainBelow(4, std::string("xyz\0", 4)));

  // live changes: added names pass at once; a dataset's last name gone, its filter goes
  std::vector<std::string> added;
  for (int i = 0; i < 200; ++i)
    if (auto k = name() + label(3); !names.contains(k)) added.push_back(k);
  {
    Writer w(t.env);
    for (const auto& k : added)
      w.putDomain(4, k, {2, kNoValue});
    w.putDomain(5, std::string("net\0only\0", 9), {1, kNoValue});
    w.commit();
  }
  s.renew();
  for (const auto& k : added) {
    INFO(k);
    CHECK(passes(k));
    CHECK(passes(k.substr(0, k.size() - 4))); // the name above it
  }
  CHECK_FALSE(s.nameFilterPasses(5, std::string("net\0other\0", 10)));
  {
    Writer w(t.env);
    w.deleteDomain(5, std::string("net\0only\0", 9));
    w.commit();
  }
  s.renew();
  CHECK(s.nameFilterPasses(5, std::string("net\0other\0", 10))); // no filter, no names
  CHECK_FALSE(s.domainBelow(5, std::string("net\0", 4)));
}

TEST_CASE("many intervals in blocks: lookups, ranges and painting match a model",
          "[store][paint]") {
  // Thousands of intervals: many blocks of the table, painted across their boundaries.
  ModelTest t;
  INFO("seed " << t.seed);
  Env& env = t.env;
  std::mt19937& rng = t.rng;
  auto r = [&] { return static_cast<uint32_t>(rng()); };
  constexpr uint32_t kSpace = 20000; // addresses 1000 .. 1000 + kSpace - 1 of dataset 5
  std::vector<uint32_t> model(kSpace, kNoValue);
  {
    Writer w(env);
    w.putIp4(4, {0, 0xffffffffU, 1}); // the neighbouring datasets cover everything
    uint32_t a = 0;
    while (a < kSpace) {
      // thirds: single addresses (blocks without ends), ranges with a few value sets (blocks
      // with a palette), ranges with a set each (blocks with every set written out)
      const uint32_t len = a < kSpace / 3 ? 1 : 1 + r() % 4, gap = r() % 3;
      const uint32_t set = a < 2 * kSpace / 3 ? 1 + r() % 3 : 100 + a;
      const uint32_t end = std::min(a + len - 1, kSpace - 1);
      w.putIp4(5, {1000 + a, 1000 + end, set});
      for (uint32_t i = a; i <= end; ++i)
        model[i] = set;
      a = end + 1 + gap;
    }
    w.putIp4(6, {0, 0xffffffffU, 2});
    CHECK_THROWS_AS(w.putIp4(6, {5, 6, 2}), StoreError); // out of order
    w.commit();
  }
  // A snapshot renewed after each change (as a server's worker is) must not keep its index of
  // the blocks of an older state; a fresh one per round builds its own.
  Snapshot live(env);
  auto compare = [&](Snapshot& s, int round) {
    INFO("round " << round);
    for (uint32_t i = 0; i < kSpace; ++i) {
      auto iv = s.ip4(5, 1000 + i);
      INFO("address " << 1000 + i);
      REQUIRE((iv ? iv->valueSet : kNoValue) == model[i]);
      if (iv) REQUIRE((iv->start <= 1000 + i && 1000 + i <= iv->end));
    }
    CHECK_FALSE(s.ip4(5, 999));
    CHECK_FALSE(s.ip4(5, 1000 + kSpace));
    CHECK(s.ip4(4, 0xffffffffU)->valueSet == 1);
    CHECK(s.ip4(6, 0)->valueSet == 2);
    for (int q = 0; q < 200; ++q) {
      uint32_t lo = r() % kSpace, hi = std::min(kSpace - 1, lo + r() % 8);
      bool any = false;
      for (uint32_t i = lo; i <= hi; ++i)
        any = any || model[i] != kNoValue;
      REQUIRE(s.ip4Any(5, 1000 + lo, 1000 + hi) == any);
    }
    // forEachIp4 gives every listed address once, in order
    std::vector<uint32_t> seen(kSpace, kNoValue);
    uint32_t last = 0;
    s.forEachIp4(5, [&](const IpInterval4& iv) {
      REQUIRE(iv.start >= last);
      for (uint32_t a = iv.start; a <= iv.end; ++a)
        seen[a - 1000] = iv.valueSet;
      last = iv.end + 1;
    });
    REQUIRE(seen == model);
  };
  auto compareBoth = [&](int round) {
    live.renew();
    compare(live, round);
    live.reset();
    live.renew(); // the same state again: the index stays
    compare(live, round);
    Snapshot fresh(env);
    compare(fresh, round);
  };
  compareBoth(-1);
  for (int round = 0; round < 40; ++round) {
    // mostly small paints, sometimes one across hundreds of intervals (several blocks)
    uint32_t a = r() % kSpace;
    uint32_t b = std::min(kSpace - 1, a + (round % 8 == 0 ? r() % 3000 : r() % 12));
    const int kind = static_cast<int>(r() % 3);
    const uint32_t c = 1 + r() % 4;
    auto f = [&](uint32_t old) {
      return kind == 0 ? c : kind == 1 ? kNoValue : old == kNoValue ? kNoValue : old + 10;
    };
    {
      Writer w(env);
      w.paintIp4(5, 1000 + a, 1000 + b, f);
      // a second paint in the same transaction, right after the first
      w.paintIp4(5, 1000 + b, 1000 + std::min(kSpace - 1, b + 5), f);
      w.commit();
    }
    for (uint32_t i = a; i <= b; ++i)
      model[i] = f(model[i]);
    for (uint32_t i = b; i <= std::min(kSpace - 1, b + 5); ++i)
      model[i] = f(model[i]);
    compareBoth(round);
  }
}

TEST_CASE("domain keys", "[store]") {
  std::string k;
  CHECK(domainKey("Example.COM.", k));
  CHECK(k == std::string("com\0example\0", 12));
  CHECK(domainKey("", k));
  CHECK(k.empty());
  CHECK_FALSE(domainKey("a..b", k));
  CHECK_FALSE(domainKey(std::string("a\0b", 3), k));
}

TEST_CASE("entry records round-trip; a store without the entries table still opens", "[store]") {
  EntryRecord e;
  e.kind = EntryRecord::V6;
  e.lo6[0] = 0x20;
  e.hi6 = e.lo6;
  e.hi6[15] = 0xff;
  e.value = 77;
  e.file = 3;
  e.line = 42;
  e.fields[1] = "Spam trap hits";
  e.fields[6] = "https://example.org/delist";
  auto back = decodeEntry(encodeEntry(e));
  CHECK(back.kind == EntryRecord::V6);
  CHECK(back.lo6 == e.lo6);
  CHECK(back.hi6 == e.hi6);
  CHECK(back.value == 77);
  CHECK(back.file == 3);
  CHECK(back.line == 42);
  CHECK(back.fields == e.fields);
  EntryRecord d;
  d.kind = EntryRecord::Name;
  d.name = "evil.test";
  d.scope = 2;
  d.excluded = true;
  auto dback = decodeEntry(encodeEntry(d));
  CHECK(dback.name == "evil.test");
  CHECK(dback.scope == 2);
  CHECK(dback.excluded);
  CHECK(dback.value == kNoValue);
  CHECK_THROWS_AS(decodeEntry(encodeEntry(e).substr(0, 20)), StoreError);
  CHECK(entryKey(1, 2) < entryKey(1, 10));
  CHECK(entryKey(1, 0xffffffff) < entryKey(2, 0));
}

TEST_CASE("a store imported before the entries table existed opens read-only", "[store]") {
  test::TempDir dir;
  { Env env(dir.path(), {}); }
  withRawStore(dir.path(), [](MDB_txn* t) {
    MDB_dbi dbi;
    for (const char* table : {"ent", "manual", "audit"}) { // delete the tables themselves
      REQUIRE(mdb_dbi_open(t, table, 0, &dbi) == 0);
      REQUIRE(mdb_drop(t, dbi, 1) == 0);
    }
  });
  Env env(dir.path(), {.readOnly = true});
  CHECK_FALSE(env.hasEntries());
  Snapshot snap(env);
  size_t seen = 0;
  snap.forEachEntry(1, [&](std::string_view, std::string_view) { ++seen; });
  snap.forEachManual([&](uint64_t, const ChangeRecord&) { ++seen; });
  snap.forEachAudit([&](uint64_t, const ChangeRecord&) { ++seen; });
  CHECK(seen == 0);
}

TEST_CASE("values carry an optional expiry", "[store]") {
  std::string set;
  appendValue(set, 0x7f000002, std::string("listed $"), 0);
  appendValue(set, 0x7f000003, std::nullopt, 1795000000);
  appendValue(set, 0x7f000004, std::string("both"), 1796000000);
  ValueSetReader r(set);
  ValueView v;
  REQUIRE(r.next(v));
  CHECK((v.a == 0x7f000002 && v.hasTxt && v.txt == "listed $" && v.expires == 0));
  REQUIRE(r.next(v));
  CHECK((v.a == 0x7f000003 && !v.hasTxt && v.expires == 1795000000));
  REQUIRE(r.next(v));
  CHECK((v.a == 0x7f000004 && v.txt == "both" && v.expires == 1796000000));
  CHECK_FALSE(r.next(v));
  // a set without expiries is encoded as before
  std::pair<uint32_t, std::optional<std::string>> one{0x7f000002, "listed $"};
  CHECK(encodeValueSet({&one, 1}) == set.substr(0, 4 + 1 + 2 + 8));
  const std::string truncated = set.substr(0, set.size() - 3);
  ValueSetReader cut(truncated);
  size_t n = 0;
  while (cut.next(v))
    ++n;
  CHECK(n == 2); // a truncated value is not read
}

TEST_CASE("painting intervals in place matches a model, at the ends of the space too",
          "[store][paint]") {
  test::TempDir dir;
  Env env(dir.path(), {});
  // Two windows of 64 addresses: the lowest and the highest of the IPv4 space. Neighbouring
  // datasets (0 and 2) hold data right at the edges that painting dataset 1 must never touch.
  auto addrOf = [](size_t i) { return i < 64 ? uint32_t(i) : uint32_t(0xffffffc0U + (i - 64)); };
  std::array<uint32_t, 128> model{};
  {
    Writer w(env);
    w.putIp4(0, {0xfffffff0U, 0xffffffffU, 7});
    w.putIp4(2, {0, 10, 8});
    w.commit();
  }
  std::mt19937 rng(std::random_device{}());
  const auto seed = rng();
  INFO("seed " << seed);
  rng.seed(seed);
  for (int round = 0; round < 300; ++round) {
    const size_t base = (rng() & 1) ? 64 : 0;
    size_t a = base + rng() % 64, b = base + rng() % 64;
    if (a > b) std::swap(a, b);
    const int kind = static_cast<int>(rng() % 3);
    const uint32_t c = 1 + rng() % 4;
    // f: a constant set, unlisting, or "old + 10" where something is listed
    auto f = [&](uint32_t old) {
      return kind == 0 ? c : kind == 1 ? kNoValue : old == kNoValue ? kNoValue : old + 10;
    };
    bool wasListed = false;
    for (size_t i = a; i <= b; ++i) {
      wasListed = wasListed || model[i] != kNoValue;
      model[i] = f(model[i]);
    }
    {
      Writer w(env);
      CHECK(w.paintIp4(1, addrOf(a), addrOf(b), f) == wasListed);
      w.commit();
    }
    Snapshot s(env);
    for (size_t i = 0; i < 128; ++i) {
      auto iv = s.ip4(1, addrOf(i));
      INFO("round " << round << " address " << addrOf(i));
      REQUIRE((iv ? iv->valueSet : kNoValue) == model[i]);
      if (iv) CHECK((iv->start <= addrOf(i) && addrOf(i) <= iv->end));
    }
    CHECK(s.ip4(0, 0xffffffffU)->valueSet == 7);
    CHECK(s.ip4(2, 0)->end == 10);
  }
}

TEST_CASE("painting IPv6 intervals, up to the last address", "[store][paint]") {
  test::TempDir dir;
  Env env(dir.path(), {});
  Ip6 top;
  top.fill(0xff);
  Ip6 belowTop = top;
  belowTop[15] = 0xf0;
  {
    Writer w(env);
    w.putIp6(1, {ip6(0x10), ip6(0x1f), 5});
    w.putIp6(1, {belowTop, top, 6});
    // [0x14, 0x17] unlisted: the interval splits in two
    CHECK(w.paintIp6(1, ip6(0x14), ip6(0x17), [](uint32_t) { return kNoValue; }));
    // the top address gets another set; nothing else moves
    Ip6 last = top;
    CHECK(w.paintIp6(1, last, last, [](uint32_t old) { return old + 1; }));
    // painting a gap: f sees kNoValue
    CHECK_FALSE(w.paintIp6(1, ip6(0x30), ip6(0x30), [](uint32_t old) {
      CHECK(old == kNoValue);
      return uint32_t{9};
    }));
    w.commit();
  }
  Snapshot s(env);
  CHECK(s.ip6(1, ip6(0x13))->valueSet == 5);
  CHECK(s.ip6(1, ip6(0x13))->end == ip6(0x13));
  CHECK_FALSE(s.ip6(1, ip6(0x14)));
  CHECK_FALSE(s.ip6(1, ip6(0x17)));
  CHECK(s.ip6(1, ip6(0x18))->start == ip6(0x18));
  CHECK(s.ip6(1, ip6(0x1f))->valueSet == 5);
  CHECK(s.ip6(1, ip6(0x30))->valueSet == 9);
  Ip6 justBelow = top;
  justBelow[15] = 0xfe;
  CHECK(s.ip6(1, justBelow)->valueSet == 6);
  CHECK(s.ip6(1, justBelow)->end == justBelow);
  CHECK(s.ip6(1, top)->valueSet == 7);
}

TEST_CASE("manual changes and the audit trail: kept in order, pruned by age", "[store][audit]") {
  test::TempDir dir;
  Env env(dir.path(), {});
  ChangeRecord c;
  c.action = ChangeRecord::Delisted;
  c.when = 1000;
  c.zone = "bl.test";
  c.dataset = "abuse";
  c.by = "alice";
  c.source = "dnsxl delist";
  c.entry.kind = EntryRecord::V4;
  c.entry.lo4 = 0xc0000200;
  c.entry.hi4 = 0xc00002ff;
  c.entry.excluded = true;
  c.entry.fields[1] = "customer moved to a static range";
  auto back = decodeChange(encodeChange(c));
  CHECK(back.action == ChangeRecord::Delisted);
  CHECK(back.when == 1000);
  CHECK(back.zone == "bl.test");
  CHECK(back.dataset == "abuse");
  CHECK(back.by == "alice");
  CHECK(back.source == "dnsxl delist");
  CHECK(back.entry.hi4 == 0xc00002ff);
  CHECK(back.entry.fields[1] == "customer moved to a static range");
  CHECK_THROWS_AS(decodeChange(encodeChange(c).substr(0, 12)), StoreError);
  CHECK(actionName(ChangeRecord::Expired) == "expired");
  {
    Writer w(env);
    CHECK(w.putManual(c) == 1);
    c.when = 2000;
    CHECK(w.putManual(c) == 2);
    w.deleteManual(1);
    for (int64_t t : {100, 200, 300}) {
      c.when = t;
      w.putAudit(c);
    }
    CHECK(w.pruneAudit(250) == 2);  // the two older than 250
    CHECK(w.pruneAudit(1000) == 0); // the newest stays: sequence numbers keep growing
    c.when = 400;
    w.putAudit(c);
    w.commit();
  }
  Snapshot s(env);
  std::vector<uint64_t> manual;
  s.forEachManual([&](uint64_t seq, const ChangeRecord& m) {
    manual.push_back(seq);
    CHECK(m.when == 2000);
  });
  CHECK(manual == std::vector<uint64_t>{2});
  std::vector<int64_t> audit;
  std::vector<uint64_t> seqs;
  s.forEachAudit([&](uint64_t seq, const ChangeRecord& a) {
    audit.push_back(a.when);
    seqs.push_back(seq);
  });
  CHECK(audit == std::vector<int64_t>{300, 400});
  CHECK(seqs == std::vector<uint64_t>{3, 4});
}

TEST_CASE("the IXFR journal: per zone, in order, pruned by size and by age", "[store][journal]") {
  test::TempDir dir;
  Env env(dir.path(), {});
  {
    Writer w(env);
    w.putJournal("bl.test", 1, 2, 100, std::string(100, 'a'));
    w.putJournal("other.test", 7, 8, 100, "x");
    w.putJournal("bl.test", 2, 3, 200, std::string(100, 'b'));
    w.putJournal("bl.test", 3, 4, 300, std::string(100, 'c'));
    w.commit();
  }
  {
    Snapshot s(env);
    auto j = s.journal("bl.test");
    REQUIRE(j.size() == 3);
    CHECK(j[0].from == 1);
    CHECK(j[2].to == 4);
    CHECK(j[1].when == 200);
    CHECK(j[1].payload == std::string(100, 'b'));
    CHECK(s.journal("other.test").size() == 1);
    CHECK(s.journal("bl.tes").empty()); // a prefix of a zone name is another zone
  }
  {
    Writer w(env);
    w.pruneJournal("bl.test", 300, 0); // size: keep what fits in 300 bytes (2 entries)
    w.commit();
  }
  {
    Snapshot s(env);
    auto j = s.journal("bl.test");
    REQUIRE(j.size() == 2);
    CHECK(j[0].from == 2);
  }
  {
    Writer w(env);
    w.pruneJournal("bl.test", 100000, 250); // age: drop what was written before 250
    w.commit();
  }
  Snapshot s(env);
  REQUIRE(s.journal("bl.test").size() == 1);
  CHECK(s.journal("bl.test")[0].from == 3);
  CHECK(s.journal("other.test").size() == 1);
}

TEST_CASE("a writer maps the store writable only while nobody reads it", "[store]") {
  test::TempDir dir;
  {
    Env first(dir.path(), {.writeMapIfAlone = true});
    CHECK(first.writeMap()); // a new store: no reader
    Writer w(first);
    w.putIp4(1, {10, 10, 1});
    w.commit();
  }
  // A dnsxld in another process (LMDB allows one environment handle per process): its reader
  // slot stays while it runs, also between read transactions.
  int ready[2], done[2];
  REQUIRE(pipe(ready) == 0);
  REQUIRE(pipe(done) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    Env server(dir.path(), {.readOnly = true});
    Snapshot s(server);
    s.reset();
    char c = 1;
    const bool ok = write(ready[1], &c, 1) == 1 && read(done[0], &c, 1) == 1;
    s.renew();
    _exit(ok && s.ip4(1, 20) ? 0 : 1); // sees what the importer wrote
  }
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  {
    Env importer(dir.path(), {.writeMapIfAlone = true});
    CHECK_FALSE(importer.writeMap());
    Writer w(importer);
    w.putIp4(1, {20, 20, 1});
    w.commit();
  }
  REQUIRE(write(done[1], &c, 1) == 1);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  for (int fd : {ready[0], ready[1], done[0], done[1]})
    close(fd);
  {
    Env again(dir.path(), {.writeMapIfAlone = true}); // the reader has gone
    CHECK(again.writeMap());
  }
  CHECK_FALSE(Env(dir.path(), {}).writeMap()); // not asked for
}

TEST_CASE("releasing a reader's resident pages leaves its reads intact", "[store]") {
  test::TempDir dir;
  {
    Env env(dir.path(), {});
    Writer w(env);
    for (uint32_t i = 0; i < 20000; ++i)
      w.putIp4(1, {i * 4, i * 4 + 1, 1 + i % 7});
    w.commit();
  }
  Env reader(dir.path(), {.readOnly = true});
  Snapshot s(reader);
  s.renew();
  auto sum = [&] {
    uint64_t t = 0;
    for (uint32_t i = 0; i < 20000; ++i)
      t += s.ip4(1, i * 4 + 1)->valueSet;
    return t;
  };
  const uint64_t before = sum();
  reader.releaseResidentPages(s.generation()); // drops the map's pages: they come back on touch
  CHECK(sum() == before);
  reader.releaseResidentPages(s.generation()); // once per generation: a no-op
  CHECK(sum() == before);
}
