#include "server/answer/responder.hh"
#include "store/store.hh"
#include "tests/support/fixture.hh"
#include "zonegen/apply.hh"

#include <catch2/catch.hpp>
#include <ctime>
#include <fmt/format.h>

using namespace dnsxl;
using test::Fixture;

namespace {

const char* kZone = R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]
soa = { mname = "ns1.bl.test", rname = "hostmaster.bl.test", minimum = 300, ttl = 3600 }

  [[zone.dataset]]
  name = "main"
  format = "ip4set"
  files = ["a.txt"]
)";

// Whether addr is listed by any dataset of the zone in the store.
bool listed(const std::filesystem::path& store, const std::string& zone, uint32_t addr) {
  store::Env env(store, {.readOnly = true});
  store::Snapshot s(env);
  s.renew();
  for (const auto& z : s.zones())
    if (z.name == zone)
      for (const auto& d : z.datasets)
        if (s.ip4(d.id, addr)) return true;
  return false;
}

uint32_t serialOf(const std::filesystem::path& store, const std::string& zone) {
  store::Env env(store, {.readOnly = true});
  store::Snapshot s(env);
  s.renew();
  for (const auto& z : s.zones())
    if (z.name == zone) return z.soa.serial;
  return 0;
}

} // namespace

TEST_CASE("an import writes the zone, test points included, and bumps the serial", "[import]") {
  Fixture f(kZone, {{"a.txt", "10.0.0.0/24\n"}});
  f.importOk();
  CHECK(listed(f.store(), "bl.test", 0x0a000001));
  CHECK(listed(f.store(), "bl.test", 0x7f000002)); // RFC 5782 §5 test point
  CHECK_FALSE(listed(f.store(), "bl.test", 0x7f000001));
  auto first = serialOf(f.store(), "bl.test");
  f.importOk();
  auto second = serialOf(f.store(), "bl.test");
  CHECK(second != first);
  CHECK(static_cast<uint32_t>(second - first) < 0x80000000U); // greater in RFC 1982 terms
}

TEST_CASE("a bad line refuses the whole import and leaves the store as it was", "[import]") {
  Fixture f(kZone + std::string(R"(
  [[zone.dataset]]
  name = "second"
  format = "list"
  files = ["b.txt"]
)"),
            {{"a.txt", "10.0.0.0/24\n"}, {"b.txt", "192.0.2.1\n"}});
  f.importOk();
  auto serial = serialOf(f.store(), "bl.test");
  f.dir.write("a.txt", "10.9.0.0/24\n");
  f.dir.write("b.txt", "192.0.2.1\n192.0.2.300 bad\n");
  auto r = f.import();
  CHECK_FALSE(r.ok);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == (f.dir / "b.txt").string() + ":2: invalid IPv4 address '192.0.2.300'");
  CHECK(listed(f.store(), "bl.test", 0x0a000001));       // old data still there
  CHECK_FALSE(listed(f.store(), "bl.test", 0x0a090001)); // new data not
  CHECK(serialOf(f.store(), "bl.test") == serial);
}

TEST_CASE("data listing 127.0.0.1, ::ffff:127.0.0.1 or 'invalid' is refused", "[import]") {
  Fixture f(kZone + std::string(R"(
  [[zone.dataset]]
  name = "v6"
  format = "ip6trie"
  files = ["v6.txt"]

  [[zone.dataset]]
  name = "dom"
  format = "dnset"
  files = ["d.txt"]
)"),
            {{"a.txt", "10.0.0.1\n127.0.0.0/8\n"},
             {"v6.txt", "::ffff:0:0/96\n"},
             {"d.txt", "ok.test\n.invalid\n"}});
  auto r = f.import();
  CHECK_FALSE(r.ok);
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0] == (f.dir / "a.txt").string() +
                           ":2: bl.test lists 127.0.0.1, which must never be listed (RFC 5782 "
                           "§5); narrow it or add an exclusion");
  CHECK(r.errors[1].find("v6.txt:1: bl.test lists ::ffff:127.0.0.1") != std::string::npos);
  CHECK(r.errors[2].find("d.txt:2: bl.test lists the name 'invalid'") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.store() / "data.mdb")); // nothing was written

  f.dir.write("a.txt", "127.0.0.0/8\n!127.0.0.1\n");
  f.dir.write("v6.txt", "::ffff:0:0/96\n!::ffff:127.0.0.1\n");
  f.dir.write("d.txt", "*.invalid\n");
  f.importOk(); // excluded, or only below the name: accepted
}

TEST_CASE("on_bad_line = skip turns bad lines into warnings; missing files stay errors",
          "[import]") {
  Fixture f(R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]

  [[zone.dataset]]
  name = "main"
  format = "ip4set"
  files = ["a.txt"]
  on_bad_line = "skip"
)",
            {{"a.txt", "10.0.0.1\n11\n10.0.0.2\n"}});
  auto r = f.import();
  CHECK(r.ok);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].ends_with("a.txt:2: bare number '11' is not an address (write 11/8)"));
  std::filesystem::remove(f.dir / "a.txt");
  r = f.import();
  CHECK_FALSE(r.ok);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].ends_with("a.txt: cannot open file"));
}

TEST_CASE("$SOA and $NS from the data fill in what the config leaves out", "[import]") {
  Fixture f(R"(
[[zone]]
name = "bl.test"

  [[zone.dataset]]
  name = "main"
  format = "ip4set"
  files = ["a.txt"]
)",
            {{"a.txt", "$SOA 1h ns9.bl.test admin.bl.test 0 2h 1h 1w 5m\n$NS 1h ns9.bl.test\n"
                       "$TTL 120\n10.0.0.1\n"}});
  f.importOk();
  store::Env env(f.store(), {.readOnly = true});
  store::Snapshot s(env);
  s.renew();
  auto zones = s.zones();
  REQUIRE(zones.size() == 1);
  CHECK(zones[0].soa.mname == "ns9.bl.test");
  CHECK(zones[0].soa.minimum == 300);
  CHECK(zones[0].ns == std::vector<std::string>{"ns9.bl.test"});
  CHECK(zones[0].datasets.at(1).ttl == 120);
}

TEST_CASE("a zone without name servers is refused", "[import]") {
  Fixture f("[[zone]]\nname = \"bl.test\"\n", {});
  auto r = f.import();
  CHECK_FALSE(r.ok);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("zone bl.test has no name servers") != std::string::npos);
}

TEST_CASE("serials follow RFC 1982", "[import]") {
  CHECK(zonegen::nextSerial(5, 1000) == 1000);
  CHECK(zonegen::nextSerial(1000, 1000) == 1001);
  CHECK(zonegen::nextSerial(2000, 1000) == 2001);
  CHECK(zonegen::nextSerial(0xffffffffU, 5) == 5);          // wraps forward
  CHECK(zonegen::nextSerial(0xffffffffU, 0x7fffffff) == 0); // not "greater": old + 1
}

namespace {
std::string stampIn(int64_t secondsFromNow) {
  std::time_t t = std::time(nullptr) + secondsFromNow;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y:%m:%d:%H:%M:%S", std::gmtime(&t));
  return buf;
}
} // namespace

TEST_CASE("$TIMESTAMP: future or expired data is refused; data that expires stops being served",
          "[import]") {
  Fixture f(kZone, {{"a.txt", "$TIMESTAMP " + stampIn(3600) + "\n10.0.0.1\n"}});
  auto r = f.import();
  REQUIRE_FALSE(r.ok);
  CHECK(r.errors.at(0).find("is 3600 s in the future") != std::string::npos);
  f.dir.write("a.txt", "$TIMESTAMP " + stampIn(-7200) + " " + stampIn(-3600) + "\n10.0.0.1\n");
  r = f.import();
  REQUIRE_FALSE(r.ok);
  CHECK(r.errors.at(0).find("the data expired at") != std::string::npos);

  f.dir.write("a.txt", "$TIMESTAMP " + stampIn(-10) + " +12s\n10.0.0.1\n");
  f.importOk();
  store::Env env(f.store(), {.readOnly = true});
  answer::Responder responder(env, {});
  std::vector<uint8_t> out(4096);
  // The responder is told the time: the same data asked now, and as if 12 s later.
  const auto now = static_cast<int64_t>(std::time(nullptr));
  auto ask = [&](int64_t when) {
    auto q = test::makeQuery("1.0.0.10.bl.test", 1);
    out.resize(4096);
    out.resize(responder.answerOne(q, out, answer::Transport::Udp, when));
    return test::parseReply(out);
  };
  CHECK(ask(now).a == std::vector<std::string>{"127.0.0.2"});
  auto expired = ask(now + 12);
  CHECK(expired.rcode == 2); // SERVFAIL, as rbldnsd does for expired data
  CHECK_FALSE(expired.aa);
}

TEST_CASE("import guard: too wide, special space and a shrinking feed are refused; --force "
          "imports them",
          "[import][guard]") {
  const std::string zone = R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]

  [[zone.dataset]]
  name = "main"
  format = "list"
  files = ["a.txt"]
)";
  std::string big;
  for (int i = 0; i < 100; ++i)
    big += fmt::format("198.51.100.{}\n", i);
  Fixture f(zone, {{"a.txt", big}});
  f.importOk();

  auto servedCount = [&] {
    store::Env env(f.store(), {.readOnly = true});
    store::Snapshot snap(env);
    return snap.zones().at(0).datasets.at(1).entries;
  };
  CHECK(servedCount() == 100);

  // 100 entries down to 40: more than the default 50% shrink
  std::string small;
  for (int i = 0; i < 40; ++i)
    small += fmt::format("198.51.100.{}\n", i);
  f.dir.write("a.txt", small);
  auto r = f.import();
  CHECK_FALSE(r.ok);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].ends_with("a.txt: bl.test/main has 40 entries, 100 at the last import: 60% "
                              "fewer, more than max_shrink_percent = 50 allows (a truncated "
                              "feed?)"));
  CHECK(r.guardRefusals == 1);
  CHECK(servedCount() == 100); // the served data is untouched

  // one entry wider than /8, one in multicast space, one an eighth of the IPv6 space
  f.dir.write("a.txt", big + "10.0.0.0/7\n224.0.0.5\n2000::/3\n2001:db8::/32\n!0.0.0.0/8\n");
  r = f.import();
  CHECK_FALSE(r.ok);
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].ends_with("a.txt:101: 10.0.0.0-11.255.255.255 covers 33554432 addresses, "
                              "more than a /8 (widest_ip4 = 8)"));
  CHECK(r.errors[1].ends_with("a.txt:102: 224.0.0.5-224.0.0.5 reaches into 224.0.0.0/3 (RFC "
                              "6890), which never sends mail (guard_special = false allows it)"));
  CHECK(r.errors[2].ends_with("a.txt:103: 2000::-3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff is "
                              "wider than a /16 (widest_ip6 = 16)"));
  CHECK(servedCount() == 100);

  // --force: imported, the refusals kept as warnings
  r = zonegen::runImport(f.config(),
                         {.dryRun = false, .force = true, .progress = nullptr, .by = "test"});
  CHECK(r.ok);
  CHECK(r.warnings.size() == 3);
  CHECK(r.warnings[0].ends_with("(imported anyway: --force)"));
  CHECK(servedCount() == 105);

  // the dataset's own limits
  Fixture g(R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]

  [[zone.dataset]]
  name = "main"
  format = "list"
  files = ["a.txt"]
  widest_ip4 = 24
  guard_special = false
  max_shrink_percent = 100
)",
            {{"a.txt", "192.0.2.0/23\n224.0.0.5\n"}});
  r = g.import();
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].ends_with("a.txt:1: 192.0.2.0-192.0.3.255 covers 512 addresses, more than a "
                              "/24 (widest_ip4 = 24)"));
}

TEST_CASE("URL feeds: shared hosts are counted in the summary, not listed; shared_hosts "
          "replaces or adds to the built-in list",
          "[import][url]") {
  const std::string zone = R"(
[[zone]]
name = "dbl.test"
ns = ["ns1.dbl.test"]
  [[zone.dataset]]
  name = "phish"
  format = "urls"
  files = ["urls.txt"]
)";
  const std::string urls = "https://docs.google.com/forms/d/x/viewform\nhttps://bit.ly/y\n"
                           "https://files.example.net/u/1\nhttps://evil.example/\n";
  auto names = [](const Fixture& f) { // what `dnsxl why` finds listed
    std::vector<std::string> out;
    for (const char* n : {"docs.google.com", "bit.ly", "files.example.net", "evil.example"})
      if (test::run({test::dnsxlBinary(), "why", "-c", f.configPath.string(), n}).status == 0)
        out.push_back(n);
    return out;
  };
  {
    Fixture f(zone, {{"urls.txt", urls}});
    auto r = f.import();
    REQUIRE(r.ok);
    REQUIRE(r.datasets.size() == 1);
    CHECK(r.datasets[0].sharedHostUrls ==
          std::map<std::string, uint64_t>{{"bit.ly", 1}, {"docs.google.com", 1}});
    CHECK(names(f) == std::vector<std::string>{"files.example.net", "evil.example"});
  }
  {
    Fixture f(zone + "  shared_hosts = [\"builtin\", \"ours.txt\"]\n",
              {{"urls.txt", urls}, {"ours.txt", "files.example.net\n"}});
    auto r = f.import();
    REQUIRE(r.ok);
    CHECK(r.datasets[0].sharedHostUrls.size() == 3);
    CHECK(names(f) == std::vector<std::string>{"evil.example"});
  }
  {
    Fixture f(zone + "  shared_hosts = []\n", {{"urls.txt", urls}});
    REQUIRE(f.import().ok);
    CHECK(names(f).size() == 4);
  }
  {
    Fixture f(zone + "  shared_hosts = [\"ours.txt\"]\n",
              {{"urls.txt", urls}, {"ours.txt", "a b\n"}});
    auto r = f.import();
    CHECK_FALSE(r.ok);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].find("ours.txt:1: 'a b' is not a host name") != std::string::npos);
  }
  Fixture ip(kZone + std::string("  shared_hosts = []\n"), {{"a.txt", "10.0.0.1\n"}});
  CHECK_THROWS_WITH(ip.config(), Catch::Contains("'shared_hosts' applies to URL feeds only"));
}

TEST_CASE("DROP: a list past its Expires: header is refused (a guard refusal: --force imports "
          "it, warning); a bad date is a file:line error",
          "[import][drop]") {
  const std::string zone = R"(
[[zone]]
name = "drop.test"
ns = ["ns1.drop.test"]
  [[zone.dataset]]
  name = "drop"
  format = "drop"
  files = ["drop.txt"]
)";
  auto file = [](const std::string& expires) {
    return "; Spamhaus DROP List 2026/11/25\n; Last-Modified: Wed, 25 Nov 2026 17:01:40 GMT\n"
           "; Expires: " +
           expires + "\n192.0.2.0/25 ; SBL256894\n";
  };
  {
    Fixture f(zone, {{"drop.txt", file("Thu, 26 Nov 2026 12:14:02 GMT")}});
    auto r = f.import();
    CHECK_FALSE(r.ok);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0] == (f.dir / "drop.txt").string() +
                             ":3: the list expired at 2026-11-26 12:14:02 UTC (its Expires: "
                             "header); fetch a fresh copy, or import it with --force");
    CHECK(r.guardRefusals == 1);
    CHECK_FALSE(std::filesystem::exists(f.store() / "data.mdb"));
    zonegen::ImportOptions force;
    force.force = true;
    auto forced = zonegen::runImport(f.config(), force);
    CHECK(forced.ok);
    REQUIRE(forced.warnings.size() == 1);
    CHECK(forced.warnings[0].find("the list expired at") != std::string::npos);
    CHECK(
        test::run({test::dnsxlBinary(), "why", "-c", f.configPath.string(), "192.0.2.1"}).status ==
        0);
  }
  {
    Fixture f(zone, {{"drop.txt", file("Thu, 31 Dec 2099 23:59:59 GMT")}});
    f.importOk();
  }
  for (const char* bad : {"Fri, 26 Nov 2026 12:14:02 GMT", "Thu, 31 Feb 2026 12:14:02 GMT",
                          "2026-11-26T12:14:02Z", "Thu, 26 Nov 2026 12:14:02 CET"}) {
    Fixture f(zone, {{"drop.txt", file(bad)}});
    auto r = f.import();
    INFO(bad);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0] == (f.dir / "drop.txt").string() + ":3: invalid Expires: date '" + bad +
                             "' (an HTTP date, e.g. Thu, 26 Nov 2026 12:14:02 GMT)");
  }
}
