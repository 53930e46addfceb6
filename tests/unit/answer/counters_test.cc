// What the responder counts per query (the counters /metrics sums), the NSID and id.server
// answers, the zone list of the config, and a move to another store — answers parsed by ldns.
#include "server/answer/responder.hh"
#include "tests/support/fixture.hh"

#include <catch2/catch.hpp>

using namespace dnsxl;

namespace {

const char* kZones = R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]

  [[zone.dataset]]
  name = "set"
  format = "ip4set"
  files = ["set.txt"]
  txt = "Listed: $"

  [[zone.dataset]]
  name = "more"
  format = "ip4set"
  files = ["more.txt"]
  a = "127.0.0.3"

[[zone]]
name = "other.test"
ns = ["ns1.other.test"]

  [[zone.dataset]]
  name = "x"
  format = "ip4set"
  files = ["set.txt"]
)";

struct Store {
  test::Fixture f{kZones, {{"set.txt", "192.0.2.0/24\n"}, {"more.txt", "192.0.2.9\n"}}};
  std::unique_ptr<store::Env> env;
  Store() {
    f.importOk();
    env = std::make_unique<store::Env>(f.store(), store::Env::Options{.readOnly = true});
  }
};

test::Reply ask(answer::Responder& r, const std::string& name, uint16_t type,
                answer::Transport t = answer::Transport::Udp, const test::QueryOptions& o = {}) {
  const auto q = test::makeQuery(name, type, o);
  std::vector<uint8_t> out(65535);
  const size_t n = r.answerOne(q, out, t, 1800000000);
  out.resize(n);
  return n ? test::parseReply(out) : test::Reply{};
}

} // namespace

TEST_CASE("counters: per zone by transport, type, rcode, listed or not, per dataset; once per "
          "query",
          "[answer][metrics]") {
  Store s;
  answer::Responder r(*s.env, {});
  CHECK(ask(r, "1.2.0.192.bl.test", 1).rcode == 0);
  CHECK(ask(r, "9.2.0.192.bl.test", 16, answer::Transport::Tcp).txt.size() == 1);
  CHECK(ask(r, "1.1.1.1.bl.test", 1).rcode == 3);
  CHECK(ask(r, "bl.test", 6).rcode == 0);            // the apex: neither listed nor not
  CHECK(ask(r, "1.2.0.192.bl.test", 28).rcode == 0); // NODATA for AAAA, but listed
  CHECK(ask(r, "example.com", 1).rcode == 5);
  std::vector<uint8_t> out(512);
  const uint8_t notAQuery[12] = {0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0}; // QR set: dropped
  CHECK(r.answerOne(notAQuery, out, answer::Transport::Udp, 0) == 0);

  std::map<std::string, answer::ZoneStats> st;
  r.addStats(st);
  const auto& z = st.at("bl.test");
  CHECK(z.tot == 5);
  CHECK(z.udp == 4);
  CHECK(z.tcp == 1);
  CHECK(z.rcode[0] == 4);
  CHECK(z.rcode[3] == 1);
  CHECK(z.ok == 4);
  CHECK(z.nxd == 1);
  CHECK(z.qtype[0] == 2); // A
  CHECK(z.qtype[1] == 1); // TXT
  CHECK(z.qtype[2] == 1); // AAAA
  CHECK(z.qtype[4] == 1); // SOA
  CHECK(z.listed == 3);
  CHECK(z.unlisted == 1);
  CHECK(z.datasetHits.at("set") == 3);
  CHECK(z.datasetHits.at("more") == 1);
  CHECK(z.in > 0);
  CHECK(z.out > 0);
  const auto& none = st.at("");
  CHECK(none.tot == 2);
  CHECK(none.rcode[5] == 1);
  CHECK(none.dropped == 1);
  CHECK(st.at("*").tot == 7); // every query once
  CHECK(st.at("other.test").tot == 0);
}

TEST_CASE("NSID (RFC 5001) when asked and configured; id.server and hostname.bind",
          "[answer][nsid]") {
  Store s;
  answer::Options o;
  o.nsid = "fra-1";
  o.identity = "ns1.example";
  answer::Responder r(*s.env, o);
  test::QueryOptions nsid;
  nsid.nsid = true;
  auto a = ask(r, "1.2.0.192.bl.test", 1, answer::Transport::Udp, nsid);
  CHECK(a.hasNsid);
  CHECK(a.nsid == "fra-1");
  CHECK(a.optCount == 1);
  test::QueryOptions edns;
  edns.edns = true;
  CHECK_FALSE(ask(r, "1.2.0.192.bl.test", 1, answer::Transport::Udp, edns).hasNsid);
  // a reply that just fits 512 bytes without the option still fits with it: room is kept
  test::QueryOptions small = nsid;
  small.udpSize = 512;
  auto b = ask(r, "1.1.1.1.bl.test", 1, answer::Transport::Udp, small);
  CHECK(b.rcode == 3);
  CHECK(b.nsid == "fra-1");
  test::QueryOptions ch;
  ch.qclass = 3;
  CHECK(ask(r, "id.server", 16, answer::Transport::Udp, ch).txt ==
        std::vector<std::string>{"ns1.example"});
  CHECK(ask(r, "hostname.bind", 16, answer::Transport::Udp, ch).txt ==
        std::vector<std::string>{"ns1.example"});
  CHECK(ask(r, "id.server", 1, answer::Transport::Udp, ch).rcode == 5); // TXT only
  answer::Responder plain(*s.env, {});
  CHECK(ask(plain, "id.server", 16, answer::Transport::Udp, ch).rcode == 5);
  CHECK_FALSE(ask(plain, "1.2.0.192.bl.test", 1, answer::Transport::Udp, nsid).hasNsid);
}

TEST_CASE("the config's zone list: other zones of the store are REFUSED; setOptions applies a "
          "new list at the next query",
          "[answer][zones]") {
  Store s;
  answer::Options o;
  o.zones = std::vector<std::string>{"bl.test"};
  answer::Responder r(*s.env, o);
  CHECK(ask(r, "1.2.0.192.bl.test", 1).rcode == 0);
  CHECK(ask(r, "1.2.0.192.other.test", 1).rcode == 5);
  o.zones = std::vector<std::string>{"bl.test", "other.test"};
  r.setOptions(o);
  CHECK(ask(r, "1.2.0.192.other.test", 1).rcode == 0);
  o.zones.reset(); // unset: every zone of the store
  r.setOptions(o);
  CHECK(ask(r, "1.2.0.192.other.test", 1).rcode == 0);
}

TEST_CASE("rebind: the responder answers from another store, its counters kept",
          "[answer][mirror]") {
  Store a;
  test::Fixture other(kZones, {{"set.txt", "198.51.100.0/24\n"}, {"more.txt", ""}});
  other.importOk();
  store::Env b(other.store(), {.readOnly = true, .noLock = true});
  answer::Responder r(*a.env, {});
  CHECK(ask(r, "1.2.0.192.bl.test", 1).rcode == 0);
  CHECK(ask(r, "1.100.51.198.bl.test", 1).rcode == 3);
  r.rebind(b);
  CHECK(ask(r, "1.2.0.192.bl.test", 1).rcode == 3);
  CHECK(ask(r, "1.100.51.198.bl.test", 1).rcode == 0);
  std::map<std::string, answer::ZoneStats> st;
  r.addStats(st);
  CHECK(st.at("bl.test").tot == 4);
}
