// The responder's answers, built from a real store and parsed by ldns. Tags name the items of
// ../shared/reference/standards-checklist.md that each case pins.
#include "server/answer/responder.hh"
#include "tests/support/fixture.hh"

#include <arpa/inet.h>
#include <catch2/catch.hpp>

using namespace dnsxl;
using test::Reply;

namespace {

std::string manyTexts() {
  std::string s;
  for (int i = 0; i < 20; ++i)
    s += "198.18.0.1 :3:" + std::to_string(i) + std::string(200, 'x') + "\n";
  return s;
}

const char* kConfig = R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test", "ns2.elsewhere.test"]
soa = { mname = "ns1.bl.test", rname = "hostmaster.bl.test", refresh = 3600, retry = 600, expire = 604800, minimum = 300, ttl = 3600 }
ttl = 2100

  [[zone.dataset]]
  name = "set"
  format = "ip4set"
  files = ["set.txt"]
  txt = "Listed: $ see http://bl.test/lookup?ip=$"

  [[zone.dataset]]
  name = "trie"
  format = "ip4trie"
  files = ["trie.txt"]
  a = "127.0.0.3"
  ttl = 600

  [[zone.dataset]]
  name = "v6"
  format = "ip6trie"
  files = ["v6.txt"]

  [[zone.dataset]]
  name = "many"
  format = "ip4set"
  files = ["many.txt"]

[[zone]]
name = "dbl.test"
ns = ["ns1.dbl.test"]
soa = { minimum = 600, ttl = 300 }

  [[zone.dataset]]
  name = "domains"
  format = "dnset"
  files = ["dnset.txt"]

[[zone]]
name = "tset.test"
ns = ["ns1.tset.test"]

  [[zone.dataset]]
  name = "t4"
  format = "ip4tset"
  files = ["t4.txt"]

  [[zone.dataset]]
  name = "t6"
  format = "ip6tset"
  files = ["t6.txt"]

  [[zone.dataset]]
  name = "base"
  format = "ip4set"
  files = ["base.txt"]

[[zone]]
name = "gen.test"
ns = ["ns1.gen.test"]
ttl = 2100

  [[zone.dataset]]
  name = "generic"
  format = "generic"
  files = ["generic.txt"]

  [[zone.dataset]]
  name = "list"
  format = "ip4set"
  files = ["gen4.txt"]

[[zone]]
name = "own.test"
ns = ["ns1.own.test"]

  [[zone.dataset]]
  name = "own4"
  format = "ip4set"
  files = ["own4.txt"]

  [[zone.dataset]]
  name = "owndn"
  format = "dnset"
  files = ["owndn.txt"]

[[zone]]
name = "empty.test"
ns = ["ns1.empty.test"]

  [[zone.dataset]]
  name = "nothing"
  format = "ip4set"
  files = ["empty.txt"]
)";

// Built twice: answer_responder_test calls the responder in-process; answer_network_test
// (DNSXL_OVER_NETWORK) asks the same questions of a real dnsxld over UDP and TCP.
struct Env {
  test::Fixture fixture;
#ifdef DNSXL_OVER_NETWORK
  std::unique_ptr<test::Daemon> daemon;
#else
  std::unique_ptr<store::Env> env;
  std::unique_ptr<answer::Responder> responder;
#endif

  Env()
      : fixture(kConfig,
                {{"set.txt", "10.0.0.0/24\n"
                             "10.0.0.7 :127.0.0.4:Host $ is special\n"
                             "!10.0.0.9\n"
                             "192.0.2.0/24\n"
                             "3.0.0.0/8 :5:\n"
                             "10.0.0.0/8 :6\n"
                             "10.6.0.8 :7:multi one\n10.6.0.8 :8:multi two\n"
                             "$1 http://bl.test/v1\n"
                             "10.12.0.1 :13:See $1/$ and $$ $3\n"
                             "10.13.0.1 :2:" +
                                 std::string(300, 'L') + " $\n"},
                 {"trie.txt", "172.16.0.0/12\n172.16.5.0/24 :5:more specific $\n!172.16.5.128/25\n"
                              "192.0.2.0/24 :2:Listed: $ see http://bl.test/lookup?ip=$\n"},
                 {"v6.txt", ":127.0.0.12:IPv6 $ listed\n2001:db8::/32\n!2001:db8::1\n"
                            "2001:db8:1:2:3:4:567:89ab :2:one host\n"},
                 {"many.txt", manyTexts()},
                 {"dnset.txt", ":127.0.1.2:Domain $ is listed\n"
                               "example.com\n"
                               "example.invalid\n"
                               "*.wild.test :127.0.1.3:wild $\n"
                               ".both.test :127.0.1.4:both $\n"
                               "!good.wild.test\n"
                               "evil.net :127.0.1.5:evil\n"
                               "*.evil.net :127.0.1.6:subs-of-evil $\n"
                               "*.subs.example :127.0.1.3:subs $\n"},
                 {"own4.txt", "127.0.0.2 :127.0.0.10:Our own test entry $\n"},
                 {"owndn.txt", "test :127.0.1.10:Our own test name $\n"},
                 {"t4.txt", "10.50.0.1\n:127.0.0.20:tset $\n10.50.0.2 :22:ignored\n"},
                 {"t6.txt", ":127.0.0.14:v6 tset $\n2001:db8:1:2\n!2001:db8:1:2::5\n"},
                 {"base.txt", "$= See http://bl.test/why?$= ($) for details\n"
                              ":127.0.0.2:default-text\n10.80.0.1 r123\n10.80.0.3 =Other: $\n"},
                 {"generic.txt", "@ A 127.0.0.1\n@ TXT \"gen.test test zone\"\n"
                                 "@ MX 10 mx.gen.test\nns1 A 192.0.2.53\nwww 600 A 192.0.2.80\n"
                                 "multi A 192.0.2.1\nmulti 60 A 192.0.2.2\ndeep.sub A 192.0.2.9\n"},
                 {"gen4.txt", "192.0.2.1 :127.0.0.3:listed $\n"},
                 {"empty.txt", ""}}) {
    fixture.importOk();
#ifdef DNSXL_OVER_NETWORK
    daemon = std::make_unique<test::Daemon>(fixture.configPath);
#else
    env = std::make_unique<store::Env>(fixture.store(), store::Env::Options{.readOnly = true});
    responder = std::make_unique<answer::Responder>(*env, answer::Options{});
#endif
  }

  std::vector<uint8_t> raw(const std::vector<uint8_t>& query,
                           answer::Transport t = answer::Transport::Udp) {
#ifdef DNSXL_OVER_NETWORK
    auto reply = t == answer::Transport::Tcp
                     ? test::tcpExchange(daemon->port(), query)
                     : test::udpExchange(daemon->port(), query, std::chrono::milliseconds(300));
    return reply ? *reply : std::vector<uint8_t>{};
#else
    std::vector<uint8_t> out(65536);
    size_t n = responder->answerOne(query, out, t, std::time(nullptr));
    out.resize(n);
    return out;
#endif
  }
  Reply ask(const std::string& name, uint16_t type, const test::QueryOptions& o = {},
            answer::Transport t = answer::Transport::Udp) {
    auto bytes = raw(test::makeQuery(name, type, o), t);
    REQUIRE(!bytes.empty());
    auto r = test::parseReply(bytes);
    REQUIRE(r.parsed);
    return r;
  }
};

Env& env() {
  static Env e;
  return e;
}

constexpr uint16_t A = 1, NS = 2, SOA = 6, MX = 15, TXT = 16, AAAA = 28, ANY = 255;
constexpr int NOERROR = 0, FORMERR = 1, NXDOMAIN = 3, NOTIMP = 4, REFUSED = 5, BADVERS = 16;

std::string v6name(const std::string& nibblesReversed, const std::string& zone = "bl.test") {
  return nibblesReversed + "." + zone;
}

// 2001:db8:1:2:3:4:567:89ab reversed
const std::string kV6Listed = "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2";

void requireNx(const Reply& r, uint32_t negTtl = 300) {
  CHECK(r.rcode == NXDOMAIN);
  CHECK(r.aa);
  CHECK_FALSE(r.ra); // N-8
  CHECK(r.answer.empty());
  CHECK(r.authoritySoa == 1);
  CHECK(r.authoritySoaTtl == negTtl);
}

void requireNoData(const Reply& r, uint32_t negTtl = 300) {
  CHECK(r.rcode == NOERROR);
  CHECK(r.aa);
  CHECK_FALSE(r.ra); // N-8
  CHECK(r.answer.empty());
  CHECK(r.authoritySoa == 1);
  CHECK(r.authoritySoaTtl == negTtl);
}

} // namespace

TEST_CASE("Q-1 Q-2 A-2 A-5: listed IPv4 addresses answer A and their reason", "[answer]") {
  auto r = env().ask("99.2.0.192.bl.test", A);
  CHECK(r.rcode == NOERROR);
  CHECK(r.aa);
  CHECK(r.a == std::vector<std::string>{"127.0.0.2"});
  CHECK(r.answerOwners == std::vector<std::string>{"99.2.0.192.bl.test."});
  for (auto name : {"0.2.0.192.bl.test", "255.2.0.192.bl.test"})
    CHECK(env().ask(name, A).a == std::vector<std::string>{"127.0.0.2"});
  auto t = env().ask("99.2.0.192.bl.test", TXT);
  // Two datasets list it with the same text: sent once (A-10).
  CHECK(t.txt ==
        std::vector<std::string>{"Listed: 192.0.2.99 see http://bl.test/lookup?ip=192.0.2.99"});
  auto s = env().ask("7.0.0.10.bl.test", ANY);
  CHECK(s.a == std::vector<std::string>{"127.0.0.4"});
  CHECK(s.txt == std::vector<std::string>{"Host 10.0.0.7 is special"});
}

TEST_CASE("A-9 A-10: merged answers carry one TTL and no duplicates", "[answer]") {
  auto r = env().ask("1.0.16.172.bl.test", A); // trie only, ttl 600
  CHECK(r.answerTtls == std::vector<uint32_t>{600});
  auto m = env().ask("5.2.0.192.bl.test", ANY); // set (2100) and trie (600)
  CHECK(m.a == std::vector<std::string>{"127.0.0.2"});
  for (auto ttl : m.answerTtls)
    CHECK(ttl == 600);
  auto multi = env().ask("8.0.6.10.bl.test", ANY);
  CHECK(multi.a == std::vector<std::string>{"127.0.0.7", "127.0.0.8"});
  CHECK(multi.txt == std::vector<std::string>{"multi one", "multi two"});
}

TEST_CASE("Q-3 N-1 N-2 N-5: unlisted → NXDOMAIN, SOA TTL = min(TTL, minimum)", "[answer]") {
  requireNx(env().ask("1.2.0.198.bl.test", A));
  requireNx(env().ask("1.2.0.198.bl.test", TXT));
  requireNx(env().ask("99.0.0.127.bl.test", A));   // 127.0.0.3 is a return value: a test entry
  requireNx(env().ask("nosuch.dbl.test", A), 300); // dbl: ttl 300 < minimum 600
}

TEST_CASE("Q-12 Q-13: exclusions and the most specific entry", "[answer]") {
  requireNx(env().ask("9.0.0.10.bl.test", A)); // !10.0.0.9 beats 10.0.0.0/24 and 10/8
  CHECK(env().ask("1.5.16.172.bl.test", TXT).txt ==
        std::vector<std::string>{"more specific 172.16.5.1"});
  requireNx(env().ask("129.5.16.172.bl.test", A));
  CHECK(env().ask("1.0.1.10.bl.test", ANY).a == std::vector<std::string>{"127.0.0.6"});
}

TEST_CASE("Q-4 Q-5 Q-6 Q-7: IPv6 names", "[answer]") {
  auto r = env().ask(v6name(kV6Listed), ANY);
  CHECK(r.a == std::vector<std::string>{"127.0.0.2"});
  CHECK(r.txt == std::vector<std::string>{"one host"});
  auto prefix =
      env().ask(v6name("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"), TXT);
  CHECK(prefix.txt == std::vector<std::string>{"IPv6 2001:db8::2 listed"});
  auto upper =
      env().ask(v6name("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2"), A);
  CHECK(upper.a == std::vector<std::string>{"127.0.0.12"});
  requireNx(
      env().ask(v6name("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"), A));
  requireNx(
      env().ask(v6name("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.b.d.0.1.0.0.2"), A));
}

TEST_CASE("Q-8: an IPv4 /8 does not leak into IPv6 names", "[answer]") {
  CHECK(env().ask("1.0.0.3.bl.test", A).a == std::vector<std::string>{"127.0.0.5"});
  requireNx(
      env().ask(v6name("0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3"), A));
}

TEST_CASE("Q-9 N-6: malformed IPv4 names are not addresses", "[answer]") {
  requireNx(env().ask("2.0.0.0127.bl.test", A));
  requireNx(env().ask("256.0.0.10.bl.test", A));
  requireNx(env().ask("2.0.0.127.5.bl.test", A));
  requireNx(env().ask("x.1.1.1.10.bl.test", A));
  requireNx(env().ask("foo.bl.test", A));
}

TEST_CASE("N-4 N-6 N-7: empty non-terminals are NODATA (RFC 8020)", "[answer]") {
  for (auto name : {"0.0.127.bl.test", "0.127.bl.test", "127.bl.test", "1.10.bl.test",
                    "1.1.10.bl.test", "2.0.192.bl.test"})
    requireNoData(env().ask(name, A));
  requireNoData(env().ask("8.b.d.0.1.0.0.2.bl.test", A));
  requireNoData(env().ask("com.dbl.test", A), 300);
  requireNoData(env().ask("wild.test.dbl.test", A), 300); // *.wild.test exists below it
  // `*.subs.example` is the only key at or below subs.example: the name still exists.
  requireNoData(env().ask("subs.example.dbl.test", A), 300);
  requireNoData(env().ask("subs.example.dbl.test", TXT), 300);
  CHECK(env().ask("a.subs.example.dbl.test", A).a == std::vector<std::string>{"127.0.1.3"});
  requireNx(env().ask("other.example.dbl.test", A), 300);
  requireNx(env().ask("9.b.d.0.1.0.0.2.bl.test", A));
  requireNx(env().ask("1.0.0.127.bl.test", A)); // nothing at or below 127.0.0.1
}

TEST_CASE("T-1..T-9: RFC 5782 test points hold in every zone, even an empty one", "[answer]") {
  for (auto zone : {"bl.test", "dbl.test", "empty.test"}) {
    INFO(zone);
    auto t1 = env().ask(std::string("2.0.0.127.") + zone, ANY);
    CHECK(t1.a == std::vector<std::string>{"127.0.0.2"});
    REQUIRE(t1.txt.size() == 1);
    CHECK(t1.txt[0].find("127.0.0.2") != std::string::npos);
    requireNx(env().ask(std::string("1.0.0.127.") + zone, A));
    CHECK(env()
              .ask(std::string("2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.") +
                       zone,
                   A)
              .a == std::vector<std::string>{"127.0.0.2"});
    CHECK(env()
              .ask(std::string("1.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.") +
                       zone,
                   A)
              .rcode == NXDOMAIN);
    CHECK(env().ask(std::string("test.") + zone, A).a == std::vector<std::string>{"127.0.0.2"});
    auto inv = env().ask(std::string("invalid.") + zone, A);
    CHECK(inv.a.empty());
    // In dbl.test `example.invalid` is listed, so `invalid` is an empty non-terminal: NODATA.
    CHECK(inv.rcode == (zone == std::string("dbl.test") ? NOERROR : NXDOMAIN));
    CHECK(env().ask(std::string("q7r2x9.") + zone, A).rcode == NXDOMAIN); // T-8 random label
  }
}

// The reversed 32-nibble name of an IPv6 address.
std::string nibbles(const char* text, const std::string& zone) {
  std::array<uint8_t, 16> a{};
  inet_pton(AF_INET6, text, a.data());
  std::string s;
  for (int i = 31; i >= 0; --i) {
    int nib = (a[static_cast<size_t>(i / 2)] >> (i % 2 ? 0 : 4)) & 15;
    s += "0123456789abcdef"[nib];
    s += '.';
  }
  return s + zone;
}

TEST_CASE("T-1 T-3 T-5: the test points fill in only where the data has nothing of its own",
          "[answer]") {
  // own.test lists 127.0.0.2 and `test` itself: its answers, not a second A or TXT beside them.
  auto ip = env().ask("2.0.0.127.own.test", ANY);
  CHECK(ip.a == std::vector<std::string>{"127.0.0.10"});
  CHECK(ip.txt == std::vector<std::string>{"Our own test entry 127.0.0.2"});
  CHECK(env().ask("2.0.0.127.own.test", TXT).txt ==
        std::vector<std::string>{"Our own test entry 127.0.0.2"});
  auto mapped = env().ask(nibbles("::ffff:127.0.0.2", "own.test"), ANY);
  CHECK(mapped.a == std::vector<std::string>{"127.0.0.10"});
  CHECK(mapped.txt == std::vector<std::string>{"Our own test entry 127.0.0.2"});
  auto name = env().ask("test.own.test", ANY);
  CHECK(name.a == std::vector<std::string>{"127.0.1.10"});
  CHECK(name.txt == std::vector<std::string>{"Our own test name test"});
  // The test entries of the zone's other values are still there (T-7), and 127.0.0.1 is not.
  CHECK(env().ask("10.0.0.127.own.test", A).a == std::vector<std::string>{"127.0.0.10"});
  CHECK(env().ask("10.1.0.127.own.test", A).a == std::vector<std::string>{"127.0.1.10"});
  requireNx(env().ask("1.0.0.127.own.test", A));
}

TEST_CASE("T-7: every return value has a test entry answering exactly that value", "[answer]") {
  // bl.test answers 127.0.0.2..6, 12, 13 (and 7, 8 for 10.6.0.8); dbl.test 127.0.1.2..6.
  for (auto code : {"127.0.0.4", "127.0.0.5", "127.0.0.13"}) {
    std::string name = std::string(code);
    std::string rev = name.substr(name.rfind('.') + 1) + ".0.0.127.bl.test";
    auto r = env().ask(rev, ANY);
    CHECK(r.a == std::vector<std::string>{code});
    CHECK(r.txt.size() == 1);
  }
  CHECK(env().ask("5.1.0.127.dbl.test", A).a == std::vector<std::string>{"127.0.1.5"});
  requireNx(env().ask("99.0.0.127.bl.test", A)); // not a value of the zone
  requireNx(env().ask("5.1.0.127.bl.test", A));  // a value of another zone
}

TEST_CASE("ip4tset, ip6tset, $= and IPv4 inside IPv6 names (rbldnsd §5.2, §5.5, §4.3, §6.4)",
          "[answer]") {
  auto t = env().ask("1.0.50.10.tset.test", ANY);
  CHECK(t.a == std::vector<std::string>{"127.0.0.20"});
  CHECK(t.txt == std::vector<std::string>{"tset 10.50.0.1"});
  CHECK(env().ask("2.0.50.10.tset.test", A).a == std::vector<std::string>{"127.0.0.20"});
  requireNx(env().ask("3.0.50.10.tset.test", A));
  CHECK(env().ask(nibbles("2001:db8:1:2::7", "tset.test"), TXT).txt ==
        std::vector<std::string>{"v6 tset 2001:db8:1:2::7"});
  requireNx(env().ask(nibbles("2001:db8:1:2::5", "tset.test"), A));
  // v4-mapped and 6to4 names reach the IPv4 data, with the IPv4 address as `$`
  CHECK(env().ask(nibbles("::ffff:10.50.0.1", "tset.test"), TXT).txt ==
        std::vector<std::string>{"tset 10.50.0.1"});
  CHECK(env().ask(nibbles("2002:a32:2::1", "tset.test"), A).a ==
        std::vector<std::string>{"127.0.0.20"});
  requireNx(env().ask(nibbles("::ffff:10.50.0.3", "tset.test"), A));
  CHECK(env().ask("1.0.80.10.tset.test", TXT).txt ==
        std::vector<std::string>{"See http://bl.test/why?r123 (10.80.0.1) for details"});
  CHECK(env().ask("3.0.80.10.tset.test", TXT).txt == std::vector<std::string>{"Other: 10.80.0.3"});
}

TEST_CASE("generic records at the apex and below (rbldnsd §5.7)", "[answer]") {
  auto a = env().ask("gen.test", A);
  CHECK(a.a == std::vector<std::string>{"127.0.0.1"});
  CHECK(a.answerTtls == std::vector<uint32_t>{2100});
  CHECK(env().ask("gen.test", TXT).txt == std::vector<std::string>{"gen.test test zone"});
  auto mx = env().ask("gen.test", MX);
  REQUIRE(mx.answer.size() == 1);
  CHECK(mx.answer[0].find("MX\t10 mx.gen.test.") != std::string::npos);
  CHECK(env().ask("gen.test", ANY).answer.size() == 5); // SOA, NS, A, TXT, MX
  requireNoData(env().ask("gen.test", AAAA));
  auto www = env().ask("www.gen.test", A);
  CHECK(www.a == std::vector<std::string>{"192.0.2.80"});
  CHECK(www.answerTtls == std::vector<uint32_t>{600});
  requireNoData(env().ask("www.gen.test", TXT));
  auto multi = env().ask("multi.gen.test", A);
  CHECK(multi.a == std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
  CHECK(multi.answerTtls == std::vector<uint32_t>{60, 60}); // one TTL per RRset
  requireNoData(env().ask("sub.gen.test", A));              // empty non-terminal above deep.sub
  requireNx(env().ask("nosuch.gen.test", A));
  CHECK(env().ask("1.2.0.192.gen.test", TXT).txt == std::vector<std::string>{"listed 192.0.2.1"});
}

TEST_CASE("Q-10 Q-11: domain lists follow rbldnsd dnset", "[answer]") {
  auto r = env().ask("example.com.dbl.test", ANY);
  CHECK(r.a == std::vector<std::string>{"127.0.1.2"});
  CHECK(r.txt == std::vector<std::string>{"Domain example.com is listed"});
  CHECK(env().ask("example.invalid.dbl.test", A).a == std::vector<std::string>{"127.0.1.2"});
  requireNx(env().ask("sub.example.com.dbl.test", A), 300);
  CHECK(env().ask("foo.wild.test.dbl.test", TXT).txt == std::vector<std::string>{"wild wild.test"});
  CHECK(env().ask("a.b.wild.test.dbl.test", A).a == std::vector<std::string>{"127.0.1.3"});
  CHECK(env().ask("both.test.dbl.test", A).a == std::vector<std::string>{"127.0.1.4"});
  CHECK(env().ask("x.both.test.dbl.test", A).a == std::vector<std::string>{"127.0.1.4"});
  requireNx(env().ask("good.wild.test.dbl.test", A), 300);
  CHECK(env().ask("a.good.wild.test.dbl.test", A).a == std::vector<std::string>{"127.0.1.3"});
  CHECK(env().ask("evil.net.dbl.test", TXT).txt == std::vector<std::string>{"evil"});
  CHECK(env().ask("www.evil.net.dbl.test", TXT).txt ==
        std::vector<std::string>{"subs-of-evil evil.net"});
  CHECK(env().ask("ExAmPlE.CoM.dbl.test", A).a == std::vector<std::string>{"127.0.1.2"});
}

TEST_CASE("A-11 K-14: other types on a listed name are NODATA", "[answer]") {
  requireNoData(env().ask("2.0.0.10.bl.test", AAAA));
  requireNoData(env().ask("2.0.0.10.bl.test", MX));
  requireNoData(env().ask("2.0.0.10.bl.test", 1000));
  requireNoData(env().ask("2.0.0.10.bl.test", 257)); // CAA: rbldnsd says NOTIMP
  requireNx(env().ask("2.0.0.11.bl.test", 1000));
  requireNoData(env().ask("1.0.0.3.bl.test", TXT)); // `:5:` = listed without a TXT
}

TEST_CASE("TXT templates: $, $$, variables; long reasons are split, never cut", "[answer]") {
  CHECK(env().ask("1.0.12.10.bl.test", TXT).txt ==
        std::vector<std::string>{"See http://bl.test/v1/10.12.0.1 and $ $3"});
  auto r = env().ask("1.0.13.10.bl.test", TXT);
  REQUIRE(r.txt.size() == 1);
  CHECK(r.txt[0] == std::string(300, 'L') + " 10.13.0.1");
  REQUIRE(r.txtStrings[0].size() == 2); // A-6: several strings of one record
  CHECK(r.txtStrings[0][0].size() == 255);
}

TEST_CASE("K-2: apex SOA and NS", "[answer]") {
  auto soa = env().ask("bl.test", SOA);
  CHECK(soa.rcode == NOERROR);
  CHECK(soa.aa);
  REQUIRE(soa.answer.size() == 1);
  CHECK(soa.answer[0].find("bl.test.\t3600\tIN\tSOA\tns1.bl.test. hostmaster.bl.test. ") == 0);
  CHECK(soa.answer[0].ends_with(" 3600 600 604800 300"));
  auto ns = env().ask("bl.test", NS);
  CHECK(ns.answer.size() == 2);
  CHECK(ns.answer[1].find("NS\tns2.elsewhere.test.") != std::string::npos);
  CHECK(env().ask("bl.test", ANY).answer.size() == 3);
  requireNoData(env().ask("bl.test", A));
  requireNoData(env().ask("bl.test", AAAA));
}

TEST_CASE("K-1 K-3 K-4 K-5 K-8: header and question", "[answer]") {
  test::QueryOptions o;
  o.rd = true;
  o.id = 0xbeef;
  auto q = test::makeQuery("2.0.0.127.bL.TeSt", A, o);
  q[3] |= 0x70; // Z, AD, CD bits
  auto r = test::parseReply(env().raw(q));
  CHECK(r.id == 0xbeef);
  CHECK(r.qr);
  CHECK(r.opcode == 0);
  CHECK(r.rd);
  CHECK_FALSE(r.ra);
  CHECK_FALSE(r.ad);
  CHECK_FALSE(r.cd);
  CHECK(r.aa);
  CHECK(r.question == "2.0.0.127.bL.TeSt.");
  CHECK(r.answerOwners == std::vector<std::string>{"2.0.0.127.bL.TeSt."});
  auto bytes = env().raw(q);
  CHECK((bytes[3] & 0x70) == 0); // Z, AD, CD clear in the reply
}

TEST_CASE("K-6 K-10 K-11 K-15 K-16 K-17: refusals and errors", "[answer]") {
  auto q = test::makeQuery("2.0.0.127.bl.test", A);
  auto notify = q;
  notify[2] = static_cast<uint8_t>(notify[2] | (15 << 3));
  auto r = test::parseReply(env().raw(notify));
  CHECK(r.rcode == NOTIMP);
  CHECK(r.opcode == 15);
  CHECK_FALSE(r.aa);
  CHECK(r.questionCount == 0);
  auto two = q;
  two[5] = 2;
  CHECK(test::parseReply(env().raw(two)).rcode == FORMERR);
  auto junk = q;
  junk.push_back(1);
  auto jr = test::parseReply(env().raw(junk));
  CHECK(jr.rcode == FORMERR);
  CHECK(jr.question == "2.0.0.127.bl.test.");
  CHECK(env().raw({q.begin(), q.begin() + 11}).empty()); // too short: no reply
  auto resp = q;
  resp[2] |= 0x80;
  CHECK(env().raw(resp).empty()); // K-7: never answer a response
  auto out = env().ask("example.org", A);
  CHECK(out.rcode == REFUSED);
  CHECK_FALSE(out.aa);
  test::QueryOptions ch;
  ch.qclass = 3;
#ifdef DNSXL_OVER_NETWORK
  auto version = env().ask("VERSION.bind", TXT, ch); // dnsxld's default: "dnsxl"
  CHECK(version.rcode == NOERROR);
  CHECK(version.txt == std::vector<std::string>{"dnsxl"});
  CHECK(env().ask("version.server", TXT, ch).txt == std::vector<std::string>{"dnsxl"});
  CHECK(env().ask("hostname.bind", TXT, ch).rcode == REFUSED);
  CHECK(env().ask("version.bind", A, ch).rcode == REFUSED);
#else
  CHECK(env().ask("version.bind", TXT, ch).rcode == REFUSED); // no version configured
#endif
  CHECK(env().ask("2.0.0.127.bl.test", A, ch).rcode == REFUSED);
  test::QueryOptions any;
  any.qclass = 255;
  CHECK(env().ask("2.0.0.127.bl.test", A, any).a == std::vector<std::string>{"127.0.0.2"});
  CHECK(env().ask("bl.test", 252).rcode == NOTIMP); // AXFR over UDP
  CHECK(env().ask("bl.test", 253).rcode == NOTIMP); // MAILB
}

TEST_CASE("E-1 E-2 E-4: EDNS(0)", "[answer]") {
  test::QueryOptions e;
  e.edns = true;
  auto r = env().ask("2.0.0.127.bl.test", A, e);
  CHECK(r.opt);
  CHECK(r.optCount == 1);
  CHECK(r.ednsVersion == 0);
  CHECK(r.optUdpSize == 1232);
  CHECK_FALSE(env().ask("2.0.0.127.bl.test", A).opt);
  CHECK(env().ask("1.2.0.198.bl.test", A, e).opt); // negative answers too
  e.ednsVersion = 1;
  auto bad = env().ask("bl.test", SOA, e);
  CHECK(bad.rcode == BADVERS);
  CHECK(bad.ednsVersion == 0);
  CHECK(bad.answer.empty());
  CHECK_FALSE(bad.aa);
}

TEST_CASE("K-19 K-21 E-9 E-10 E-11 E-13: sizes and truncation", "[answer]") {
  const std::string name = "1.0.18.198.bl.test";
  auto plain = env().ask(name, TXT);
  CHECK(plain.tc);
  CHECK(plain.answer.empty());
  CHECK(plain.size <= 512);
  test::QueryOptions e;
  e.edns = true;
  e.udpSize = 4096;
  auto big = env().ask(name, TXT, e);
  CHECK(big.tc);
  CHECK(big.opt); // E-11
  CHECK(big.size <= 1232);
  e.udpSize = 100; // below 512 counts as 512
  CHECK(env().ask(name, TXT, e).size <= 512);
  auto tcp = env().ask(name, TXT, {}, answer::Transport::Tcp);
  CHECK_FALSE(tcp.tc);
  CHECK(tcp.txt.size() == 20);
  CHECK(tcp.size > 4096);      // E-13: TCP is not capped at a UDP size
  auto a = env().ask(name, A); // the A RRset fits
  CHECK_FALSE(a.tc);
  CHECK(a.a == std::vector<std::string>{"127.0.0.3"});
}
