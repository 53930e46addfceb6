#include "store/store.hh"
#include "tests/support/support.hh"

#include <catch2/catch.hpp>
#include <lmdb.h>

using namespace dnsxl;
using namespace dnsxl::store;

namespace {

Ip6 ip6(uint8_t last, uint8_t first = 0x20) {
  Ip6 a{};
  a[0] = first;
  a[15] = last;
  return a;
}

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
  {
    // Write a future schema version behind the store's back.
    MDB_env* e = nullptr;
    mdb_env_create(&e);
    mdb_env_set_maxdbs(e, 16);
    REQUIRE(mdb_env_open(e, dir.path().c_str(), 0, 0644) == 0);
    MDB_txn* t = nullptr;
    mdb_txn_begin(e, nullptr, 0, &t);
    MDB_dbi dbi;
    mdb_dbi_open(t, "meta", 0, &dbi);
    uint8_t ver[4] = {0, 0, 0, 2};
    MDB_val k{6, const_cast<char*>("schema")}, v{4, ver};
    mdb_put(t, dbi, &k, &v, 0);
    mdb_txn_commit(t);
    mdb_env_close(e);
  }
  CHECK_THROWS_WITH(Env(dir.path(), {}),
                    Catch::Contains("has schema version 2") && Catch::Contains("reads version 1"));
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
  {
    MDB_env* e = nullptr;
    mdb_env_create(&e);
    mdb_env_set_maxdbs(e, 16);
    REQUIRE(mdb_env_open(e, dir.path().c_str(), 0, 0644) == 0);
    MDB_txn* t = nullptr;
    mdb_txn_begin(e, nullptr, 0, &t);
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(t, "ent", 0, &dbi) == 0);
    REQUIRE(mdb_drop(t, dbi, 1) == 0); // delete the table itself
    mdb_txn_commit(t);
    mdb_env_close(e);
  }
  Env env(dir.path(), {.readOnly = true});
  CHECK_FALSE(env.hasEntries());
  Snapshot snap(env);
  size_t seen = 0;
  snap.forEachEntry(1, [&](std::string_view, std::string_view) { ++seen; });
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
