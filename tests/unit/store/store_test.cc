#include "store/store.hh"
#include "tests/support/support.hh"
#include "tests/unit/store/store_support.hh"

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

using test::ip6;
using test::ModelTest;
using test::withRawStore;

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
