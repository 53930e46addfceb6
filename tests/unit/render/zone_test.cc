// render/ (the store as zone records) and the transfer producer that streams them (AXFR, RFC
// 5936), on a small store built by an import. Transfer messages are parsed with ldns
// (tests/support), not with our codec.
#include "render/zone.hh"
#include "server/answer/transfer.hh"
#include "tests/support/fixture.hh"

#include <algorithm>
#include <catch2/catch.hpp>
#include <ctime>
#include <set>

using namespace dnsxl;

namespace {

const char* kZone = R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]
soa = { minimum = 300, ttl = 3600 }

  [[zone.dataset]]
  name = "ips"
  format = "ip4set"
  files = ["ips.txt"]

  [[zone.dataset]]
  name = "names"
  format = "dnset"
  files = ["names.txt"]
)";

struct World {
  test::Fixture f{kZone,
                  {{"ips.txt", ":127.0.0.2:Listed $\n192.0.2.0/24\n!192.0.2.9\n198.51.100.7\n"},
                   {"names.txt", ":127.0.1.2:Domain $\n*.wild.test\n!good.wild.test\n"
                                 "*.subs.test\nevil.test\n"}}};
  std::unique_ptr<store::Env> env;
  World() {
    f.importOk();
    env = std::make_unique<store::Env>(f.store(), store::Env::Options{.readOnly = true});
  }
  // Every record of the zone, as renderZone emits them.
  std::vector<render::Record> records() {
    store::Snapshot snap(*env);
    const auto zones = snap.zones();
    auto z = std::find_if(zones.begin(), zones.end(), [](auto& x) { return x.name == "bl.test"; });
    REQUIRE(z != zones.end());
    std::vector<render::Record> out;
    render::Stats stats;
    std::string error;
    REQUIRE(render::renderZone(
        snap, *z, std::time(nullptr), 100000, [&](const render::Record& r) { out.push_back(r); },
        stats, error));
    return out;
  }
};

std::set<std::string> owners(const std::vector<render::Record>& rs, uint16_t type) {
  std::set<std::string> out;
  for (const auto& r : rs)
    if (r.type == type) out.insert(r.owner);
  return out;
}

} // namespace

TEST_CASE("render: wildcards only where exact, names for holes, NXDOMAIN where dnsxld says so",
          "[render]") {
  World w;
  const auto rs = w.records();
  REQUIRE(!rs.empty());
  CHECK(rs.front().type == 6); // the SOA first, then NS
  CHECK(rs.front().owner.empty());
  CHECK(owners(rs, 2) == std::set<std::string>{""});
  const auto a = owners(rs, 1);
  // 192.0.2.0/24 less .9: a wildcard over the whole block would answer 9.2.0.192 too
  CHECK(a.count("1.2.0.192"));
  CHECK_FALSE(a.count("9.2.0.192"));
  CHECK_FALSE(a.count("*.2.0.192"));
  CHECK(a.count("7.100.51.198"));
  CHECK(a.count("2.0.0.127")); // the test points
  CHECK(a.count("test"));
  CHECK(a.count("evil.test"));
  CHECK(a.count("*.wild.test"));
  CHECK(a.count("*.subs.test"));
  // good.wild.test is excluded under *.wild.test: a CNAME to a name that does not exist makes it
  // NXDOMAIN in the zone (RFC 6604); subs.test, with only its own wildcard, stays an empty
  // non-terminal (RFC 8020): no record at all
  const auto cname = owners(rs, 5);
  CHECK(cname.count("good.wild.test"));
  CHECK_FALSE(cname.count("subs.test"));
  CHECK_FALSE(a.count("subs.test"));
  CHECK(render::toText(rs.front(), "bl.test").starts_with("bl.test. 3600 IN SOA ns1.bl.test. "));
}

TEST_CASE("render: journal diffs round-trip; the apex SOA is left out of both sides", "[render]") {
  const std::string lo("\x7f\0\0\2", 4);
  std::vector<render::Record> before = {{"", 6, 3600, "soa1"}, {"a", 1, 60, lo}};
  std::vector<render::Record> after = {{"", 6, 3600, "soa2"}, {"b", 1, 60, lo}};
  std::vector<render::Record> deleted, added;
  render::diff(before, after, deleted, added);
  REQUIRE(deleted.size() == 1);
  REQUIRE(added.size() == 1);
  CHECK(deleted[0].owner == "a");
  CHECK(added[0].owner == "b");
  std::vector<render::Record> d2, a2;
  REQUIRE(render::decodeDiff(render::encodeDiff(deleted, added), d2, a2));
  REQUIRE(a2.size() == 1);
  CHECK(d2.size() == 1);
  CHECK(a2[0].owner == "b");
  CHECK(a2[0].rdata == lo);
  CHECK_FALSE(render::decodeDiff(std::string_view("\x01", 1), d2, a2)); // truncated
}

TEST_CASE("transfer: AXFR is the zone between two SOAs; REFUSED outside the list; NOTAUTH",
          "[transfer]") {
  World w;
  answer::TransferOptions o;
  o.allow = {*config::parsePrefix("127.0.0.0/8")};
  answer::Client local;
  local.v4 = 0x7f000001;
  std::vector<test::Reply> got;
  auto run = [&](const std::vector<uint8_t>& q, const answer::Client& c) {
    got.clear();
    return answer::transfer(*w.env, q, c, o, [&](std::span<const uint8_t> m) {
      got.push_back(test::parseReply({m.begin(), m.end()}));
      return true;
    });
  };
  REQUIRE(run(test::makeQuery("bl.test", 252), local));
  REQUIRE(!got.empty());
  std::vector<std::string> all;
  for (const auto& m : got) {
    REQUIRE(m.parsed);
    CHECK(m.rcode == 0);
    all.insert(all.end(), m.answer.begin(), m.answer.end());
  }
  REQUIRE(all.size() == w.records().size() + 1); // and the closing SOA
  CHECK(all.front().find("\tSOA\t") != std::string::npos);
  CHECK(all.back() == all.front());

  answer::Client far;
  far.v4 = 0xc0000201; // 192.0.2.1: not in the allow list
  REQUIRE(run(test::makeQuery("bl.test", 252), far));
  REQUIRE(got.size() == 1);
  CHECK(got[0].rcode == 5); // REFUSED (RFC 5936 §5)
  REQUIRE(run(test::makeQuery("other.test", 252), local));
  REQUIRE(got.size() == 1);
  CHECK(got[0].rcode == 9); // NOTAUTH (RFC 5936 §2.2.1)
}
