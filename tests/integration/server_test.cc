// The real dnsxld on 127.0.0.1, a free port and a temporary store, queried over real sockets.
#include "dns/wire.hh"
#include "server/answer/tsig.hh"
#include "tests/support/fixture.hh"

#include <algorithm>
#include <catch2/catch.hpp>
#include <ctime>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

using namespace dnsxl;
using namespace std::chrono_literals;

namespace {

const char* kZones = R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]
soa = { mname = "ns1.bl.test", rname = "hostmaster.bl.test", minimum = 300, ttl = 3600 }

  [[zone.dataset]]
  name = "main"
  format = "ip4set"
  files = ["a.txt"]
  txt = "Listed: $"
)";

struct Running {
  test::Fixture fixture;
  std::unique_ptr<test::Daemon> daemon;
  explicit Running(const std::string& serverExtra = "", std::vector<std::string> args = {},
                   std::vector<std::string> listen = {"127.0.0.1:0"})
      : fixture(serverExtra + kZones, {{"a.txt", "192.0.2.0/24\n"}}) {
    fixture.importOk();
    daemon = std::make_unique<test::Daemon>(fixture.configPath, args, listen);
  }
  uint16_t port() const { return daemon->port(); }
};

constexpr uint16_t A = 1, SOA = 6, TXT = 16;

} // namespace

TEST_CASE("UDP and TCP answer the same (K-22, K-24)", "[server]") {
  Running r;
  auto u = test::udpQuery(r.port(), "1.2.0.192.bl.test", TXT);
  auto t = test::tcpQuery(r.port(), "1.2.0.192.bl.test", TXT);
  REQUIRE(u.parsed);
  REQUIRE(t.parsed);
  CHECK(u.txt == std::vector<std::string>{"Listed: 192.0.2.1"});
  CHECK(t.txt == u.txt);
  CHECK(test::udpQuery(r.port(), "1.2.0.198.bl.test", A).rcode == 3);
  CHECK(test::tcpQuery(r.port(), "1.2.0.198.bl.test", A).rcode == 3);
  auto soa = test::tcpQuery(r.port(), "bl.test", SOA);
  CHECK(soa.aa);
  CHECK(soa.answer.size() == 1);
}

TEST_CASE("TCP: pipelined queries, split frames, reuse (K-23, K-25, K-27)", "[server]") {
  Running r;
  test::TcpClient c(r.port());
  REQUIRE(c.connected());
  std::vector<uint8_t> batch;
  for (uint16_t id = 1; id <= 3; ++id) {
    test::QueryOptions o;
    o.id = id;
    auto q = test::makeQuery(std::to_string(id) + ".2.0.192.bl.test", TXT, o);
    batch.push_back(static_cast<uint8_t>(q.size() >> 8));
    batch.push_back(static_cast<uint8_t>(q.size()));
    batch.insert(batch.end(), q.begin(), q.end());
  }
  REQUIRE(c.send(batch));
  std::set<uint16_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto m = c.receive();
    REQUIRE(m);
    auto rep = test::parseReply(*m);
    ids.insert(rep.id);
    CHECK(rep.txt == std::vector<std::string>{"Listed: 192.0.2." + std::to_string(rep.id)});
  }
  CHECK(ids == std::set<uint16_t>{1, 2, 3});
  // One byte at a time: the server waits for the whole message.
  auto q = test::makeQuery("9.2.0.192.bl.test", A);
  std::vector<uint8_t> framed = {static_cast<uint8_t>(q.size() >> 8),
                                 static_cast<uint8_t>(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  for (auto b : framed) {
    REQUIRE(c.send({b}));
    std::this_thread::sleep_for(2ms);
  }
  auto m = c.receive();
  REQUIRE(m);
  CHECK(test::parseReply(*m).a == std::vector<std::string>{"127.0.0.2"});
}

TEST_CASE("TCP: idle timeout and connection limit (K-28, K-29, K-32)", "[server]") {
  test::Fixture fixture(kZones, {{"a.txt", "192.0.2.0/24\n"}});
  // Rewrite the config with small limits.
  fixture.dir.write("dnsxl.toml", "[server]\nstore = \"store\"\ntcp_idle_timeout_ms = 300\n"
                                  "tcp_max_connections = 2\n" +
                                      std::string(kZones));
  fixture.importOk();
  test::Daemon d(fixture.configPath);
  {
    test::TcpClient idle(d.port());
    REQUIRE(idle.connected());
    CHECK(idle.closedWithin(3s)); // closed by the server after 300 ms of silence
  }
  {
    test::TcpClient c1(d.port()), c2(d.port());
    REQUIRE(c1.sendFramed(test::makeQuery("1.2.0.192.bl.test", A)));
    REQUIRE(c1.receive());
    REQUIRE(c2.sendFramed(test::makeQuery("1.2.0.192.bl.test", A)));
    REQUIRE(c2.receive());
    test::TcpClient c3(d.port());
    CHECK(c3.closedWithin(2s)); // over the limit: closed at once
  }
  {
    // A client that sends a query and closes without reading does not hurt the server.
    test::TcpClient gone(d.port());
    gone.sendFramed(test::makeQuery("1.2.0.192.bl.test", A));
  }
  CHECK(test::tcpQuery(d.port(), "1.2.0.192.bl.test", A).a ==
        std::vector<std::string>{"127.0.0.2"});
  CHECK(d.stop() == 0);
}

TEST_CASE("a new import is served without a restart; a refused one changes nothing", "[server]") {
  Running r;
  CHECK(test::udpQuery(r.port(), "1.2.0.192.bl.test", A).rcode == 0);
  CHECK(test::udpQuery(r.port(), "1.100.51.198.bl.test", A).rcode == 3);
  auto serialBefore = test::udpQuery(r.port(), "bl.test", SOA).answer.at(0);

  r.fixture.dir.write("a.txt", "198.51.100.0/24\n");
  r.fixture.importOk();
  CHECK(test::udpQuery(r.port(), "1.100.51.198.bl.test", A).rcode == 0);
  CHECK(test::udpQuery(r.port(), "1.2.0.192.bl.test", A).rcode == 3);
  CHECK(test::udpQuery(r.port(), "bl.test", SOA).answer.at(0) != serialBefore);

  r.fixture.dir.write("a.txt", "203.0.113.0/24\nnot-an-address\n");
  CHECK_FALSE(r.fixture.import().ok);
  CHECK(test::udpQuery(r.port(), "1.100.51.198.bl.test", A).rcode == 0);
  CHECK(test::udpQuery(r.port(), "1.113.0.203.bl.test", A).rcode == 3);
}

TEST_CASE("the dnsxl command: import, dry run, refusal exit codes", "[server]") {
  test::Fixture f(kZones, {{"a.txt", "192.0.2.0/24\n"}});
  auto dry =
      test::run({test::dnsxlBinary(), "import", "--config", f.configPath.string(), "--dry-run"});
  CHECK(dry.status == 0);
  CHECK(dry.out.find("nothing written") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.store() / "data.mdb"));
  auto ok = test::run({test::dnsxlBinary(), "import", "--config", f.configPath.string()});
  CHECK(ok.status == 0);
  CHECK(ok.out.find("zone bl.test serial ") != std::string::npos);
  f.dir.write("a.txt", "192.0.2.0/24\n127.0.0.0/8\n");
  auto bad = test::run({test::dnsxlBinary(), "import", "--config", f.configPath.string()});
  CHECK(bad.status == 1);
  CHECK(bad.err.find((f.dir / "a.txt").string() + ":2: bl.test lists 127.0.0.1") !=
        std::string::npos);
  CHECK(bad.err.find("the store is unchanged") != std::string::npos);
  auto usage = test::run({test::dnsxlBinary(), "import"});
  CHECK(usage.status == 2);
  auto noStore = test::run({test::dnsxldBinary(), "--config", (f.dir / "nope.toml").string()});
  CHECK(noStore.status == 1);
  CHECK(noStore.err.find("cannot open config file") != std::string::npos);
}

TEST_CASE("several workers and both address families; SIGTERM stops cleanly", "[server]") {
  Running r("", {"--workers", "2"}, {"127.0.0.1:0", "[::1]:0"});
  REQUIRE(r.daemon->ports().size() == 2);
  for (int i = 0; i < 50; ++i)
    REQUIRE(test::udpQuery(r.port(), std::to_string(i) + ".2.0.192.bl.test", A).a ==
            std::vector<std::string>{"127.0.0.2"});
  CHECK(r.daemon->stop() == 0);
  CHECK(r.daemon->stderrText().find("stopping") != std::string::npos);
}

TEST_CASE("record feeds: each entry's own reason and code in the answer, from the example files",
          "[server][records]") {
  const std::string examples = std::string(DNSXL_SOURCE_DIR) + "/feeds/examples/";
  test::Fixture f(R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]

  [[zone.dataset]]
  name = "reports"
  format = "csv"
  files = [")" + examples +
                      R"(reports.csv"]
  header = true
  fields = { subject = "ip", code = "code", reason = "reason", ref = "ref", delist = "delist", expires = "expires" }
  txt = "{reason} ({ref}); removal: {delist}"

  [[zone.dataset]]
  name = "drop"
  format = "drop"
  files = [")" + examples +
                      R"(drop_v4.json"]
  a = "127.0.0.9"
  txt = "DROP {ref}: $ is hijacked or criminal space"

[[zone]]
name = "dbl.test"
ns = ["ns1.dbl.test"]

  [[zone.dataset]]
  name = "urlhaus"
  format = "csv"
  files = [")" + examples +
                      R"(urlhaus.csv"]
  header = true
  fields = { url = "url", ref = "urlhaus_link" }
  a = "127.0.1.5"
  txt = "Malware URL host; see {ref}"
)",
                  {});
  f.importOk();
  test::Daemon d(f.configPath);
  // 198.51.100.0/24 is in DROP too: both datasets answer, each with its own code and text
  auto spam = test::udpQuery(d.port(), "17.100.51.198.bl.test", 255);
  std::sort(spam.a.begin(), spam.a.end());
  std::sort(spam.txt.begin(), spam.txt.end());
  CHECK(spam.a == std::vector<std::string>{"127.0.0.2", "127.0.0.9"});
  CHECK(spam.txt == std::vector<std::string>{"DROP SBL301020: 198.51.100.17 is hijacked or "
                                             "criminal space",
                                             "Spam trap hits, 14 in 24h (SR-1042); removal: "
                                             "https://example.org/delist?ip=198.51.100.17"});
  auto proxy = test::udpQuery(d.port(), "18.100.51.198.bl.test", 1);
  std::sort(proxy.a.begin(), proxy.a.end());
  CHECK(proxy.a == std::vector<std::string>{"127.0.0.4", "127.0.0.9"});
  auto drop = test::udpQuery(d.port(), "5.2.0.192.bl.test", 16);
  CHECK(drop.txt ==
        std::vector<std::string>{"DROP SBL256894: 192.0.2.5 is hijacked or criminal space"});
  CHECK(test::udpQuery(d.port(), "200.2.0.192.bl.test", 1).rcode == 3);
  auto host = test::udpQuery(d.port(), "malware-drop.example.net.dbl.test", 16);
  CHECK(host.txt ==
        std::vector<std::string>{"Malware URL host; see https://urlhaus.example/url/1/"});
  // the IP host of a URL is IP data, not a domain name
  CHECK(test::udpQuery(d.port(), "198.51.100.77.dbl.test", 1).rcode == 3);
}

TEST_CASE("dnsxl why: every dataset's answer exactly as served, and the feed lines behind it",
          "[server][why]") {
  test::Fixture f(R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]

  [[zone.dataset]]
  name = "reports"
  format = "csv"
  files = ["reports.csv"]
  header = true
  fields = { subject = "ip", code = "code", reason = "reason", ref = "ref", listed = "listed", delist = "delist" }
  txt = "{reason} ({ref}) - $ - removal: {delist}"

  [[zone.dataset]]
  name = "pbl"
  format = "ip4set"
  files = ["pbl.txt"]
  txt = "Dynamic space $"

[[zone]]
name = "dbl.test"
ns = ["ns1.dbl.test"]

  [[zone.dataset]]
  name = "domains"
  format = "dnset"
  files = ["d.txt"]
  a = "127.0.1.2"
  txt = "Listed domain $"
)",
                  {{"reports.csv", "ip,code,reason,ref,listed,delist\n"
                                   "192.0.2.7,3,Spam trap hits,SR-7,2026-11-20,https://x.test/d\n"},
                   {"pbl.txt", "192.0.2.0/24\n!192.0.2.9\n"},
                   {"d.txt", ".evil.test\n"}});
  f.importOk();
  test::Daemon d(f.configPath);
  auto why = [&](const std::string& subject) {
    auto r =
        test::run({test::dnsxlBinary(), "why", "-c", f.configPath.string(), "--json", subject});
    INFO(r.err);
    return std::pair{r.status, nlohmann::json::parse(r.out)};
  };

  auto [status, j] = why("192.0.2.7");
  CHECK(status == 0);
  CHECK(j["listed"] == true);
  REQUIRE(j["datasets"].size() == 2);
  // The TXT `why` shows is the TXT dnsxld serves.
  auto served = test::udpQuery(d.port(), "7.2.0.192.bl.test", 16);
  std::vector<std::string> shown;
  for (const auto& ds : j["datasets"])
    for (const auto& t : ds["txt"])
      shown.push_back(t.get<std::string>());
  std::sort(shown.begin(), shown.end());
  std::sort(served.txt.begin(), served.txt.end());
  CHECK(shown == served.txt);
  const auto& reports = j["datasets"][0];
  CHECK(reports["dataset"] == "reports");
  CHECK(reports["a"] == nlohmann::json::array({"127.0.0.3"}));
  REQUIRE(reports["entries"].size() == 1);
  const auto& e = reports["entries"][0];
  CHECK(e["source"].get<std::string>().ends_with("reports.csv"));
  CHECK(e["line"] == 2);
  CHECK(e["reason"] == "Spam trap hits");
  CHECK(e["ref"] == "SR-7");
  CHECK(e["listed"] == "2026-11-20");
  CHECK(e["delist"] == "https://x.test/d");
  CHECK(e["a"] == "127.0.0.3");
  CHECK(e["txt_template"] == "Spam trap hits (SR-7) - $ - removal: https://x.test/d");

  // excluded: not listed, and the exclusion's line is shown
  auto [xs, x] = why("192.0.2.9");
  CHECK(xs == 1);
  CHECK(x["listed"] == false);
  REQUIRE(x["datasets"].size() == 1);
  REQUIRE(x["datasets"][0]["entries"].size() == 2);
  CHECK(x["datasets"][0]["entries"][1]["excluded"] == true);
  CHECK(x["datasets"][0]["entries"][1]["line"] == 2);

  // a name below a `.name` entry
  auto [ds, dj] = why("www.evil.test");
  CHECK(ds == 0);
  REQUIRE(dj["datasets"].size() == 1);
  CHECK(dj["datasets"][0]["txt"] == nlohmann::json::array({"Listed domain evil.test"}));
  CHECK(test::udpQuery(d.port(), "www.evil.test.dbl.test", 16).txt ==
        std::vector<std::string>{"Listed domain evil.test"});

  auto [ns, nj] = why("203.0.113.1");
  CHECK(ns == 1);
  CHECK(nj["datasets"].empty());
  auto bad = test::run({test::dnsxlBinary(), "why", "-c", f.configPath.string(), "no way"});
  CHECK(bad.status == 2);
  CHECK(bad.err.find("neither an IP address nor a domain name") != std::string::npos);
}

TEST_CASE("an entry stops being listed when its expiry passes, with no import",
          "[server][expiry]") {
  const auto soon = std::time(nullptr) + 2;
  test::Fixture f(R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]

  [[zone.dataset]]
  name = "reports"
  format = "csv"
  files = ["r.csv"]
  fields = { subject = 1, reason = 2, expires = 3 }
)",
                  {{"r.csv", fmt::format("192.0.2.1,short listing,{}\n192.0.2.2,long listing,"
                                         "2099-01-01\n192.0.2.3,no expiry,\n",
                                         soon)}});
  f.importOk();
  test::Daemon d(f.configPath);
  CHECK(test::udpQuery(d.port(), "1.2.0.192.bl.test", 16).txt ==
        std::vector<std::string>{"short listing"});
  auto why = test::run({test::dnsxlBinary(), "why", "-c", f.configPath.string(), "192.0.2.1"});
  CHECK(why.status == 0);
  // polled to a deadline: it goes at its expiry, not before
  auto gone = test::udpQuery(d.port(), "1.2.0.192.bl.test", 16);
  for (const auto deadline = soon + 10; gone.rcode != 3 && std::time(nullptr) < deadline;
       gone = test::udpQuery(d.port(), "1.2.0.192.bl.test", 16))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(std::time(nullptr) >= soon);
  CHECK(gone.rcode == 3);
  CHECK(gone.txt.empty());
  CHECK(test::udpQuery(d.port(), "2.2.0.192.bl.test", 16).txt ==
        std::vector<std::string>{"long listing"});
  CHECK(test::udpQuery(d.port(), "3.2.0.192.bl.test", 1).rcode == 0);
  // `why` agrees: not listed any more, the entry (with its expiry) still shown
  why = test::run({test::dnsxlBinary(), "why", "-c", f.configPath.string(), "192.0.2.1"});
  CHECK(why.status == 1);
  CHECK(why.out.find(fmt::format("expires {}", soon)) != std::string::npos);
}

namespace {

// After the live-change test's steps: history lists the import that listed 192.0.2.5 and the
// delisting with its reason and who made it; why shows the delisting behind the NXDOMAIN.
void checkHistory(const std::string& cfg) {
  auto hist = test::run({test::dnsxlBinary(), "history", "-c", cfg, "192.0.2.5", "--json"});
  INFO(hist.out);
  REQUIRE(hist.status == 0);
  auto j = nlohmann::json::parse(hist.out);
  REQUIRE(j.size() == 2);
  CHECK(j[0]["action"] == "listed");
  CHECK(j[0]["entry"] == "192.0.2.0-192.0.2.255");
  CHECK(j[0]["source"].get<std::string>().ends_with("a.txt:1"));
  CHECK(j[1]["action"] == "delisted");
  CHECK(j[1]["by"] == "bob");
  CHECK(j[1]["reason"] == "customer fixed the open relay");
  hist = test::run({test::dnsxlBinary(), "history", "-c", cfg, "198.51.100.9"});
  CHECK(hist.out.find("added 198.51.100.9") != std::string::npos);
  CHECK(hist.out.find("expired 198.51.100.9") != std::string::npos);
  CHECK(hist.out.find("by cron") != std::string::npos);
  CHECK(test::run({test::dnsxlBinary(), "history", "-c", cfg, "10.9.9.9"}).status == 1);
  // why: the delisting behind the NXDOMAIN
  auto why = test::run({test::dnsxlBinary(), "why", "-c", cfg, "192.0.2.5"});
  CHECK(why.status == 1);
  CHECK(why.out.find("delisted 192.0.2.5 by bob") != std::string::npos);
}

// Refused changes: a clear error, exit 1 (2 for a usage error); the caller checks that nothing
// was written.
void checkRefusals(const std::string& cfg) {
  auto bad = test::run({test::dnsxlBinary(), "add", "-c", cfg, "127.0.0.1", "--reason", "x"});
  CHECK(bad.status == 1);
  CHECK(bad.err.find("must never be listed") != std::string::npos);
  bad = test::run({test::dnsxlBinary(), "delist", "-c", cfg, "192.0.2.9"});
  CHECK(bad.status == 2); // --reason is required
  bad = test::run(
      {test::dnsxlBinary(), "delist", "-c", cfg, "10.1.2.3", "--reason", "not there anyway"});
  CHECK(bad.status == 1);
  CHECK(bad.err.find("is not listed") != std::string::npos);
  bad = test::run({test::dnsxlBinary(), "add", "-c", cfg, "192.0.2.9", "--for", "soon"});
  CHECK(bad.status == 2);
}

} // namespace

TEST_CASE("dnsxl add, delist and expiry reach a running dnsxld without a restart; history shows "
          "them",
          "[server][live]") {
  test::Fixture f(R"toml(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]

  [[zone.dataset]]
  name = "abuse"
  format = "list"
  files = ["a.txt"]
  txt = "{reason} - see https://bl.test/lookup?ref={ref}"
)toml",
                  {{"a.txt", "192.0.2.0/24 feed listing\nspam.example feed domain\n"}});
  f.importOk();
  test::Daemon d(f.configPath);
  const auto cfg = f.configPath.string();
  auto serial = [&] {
    auto r = test::udpQuery(d.port(), "bl.test", 6);
    REQUIRE(r.answer.size() == 1);
    std::istringstream in(r.answer[0]); // owner ttl class SOA mname rname serial ...
    std::string w;
    for (int i = 0; i < 7; ++i)
      in >> w;
    return static_cast<uint32_t>(std::stoul(w));
  };
  // Polls until the answer's rcode is `rcode`, or a generous deadline passes (how fast a change
  // is served is a benchmark figure, not a test's): the last answer.
  auto reaches = [&](const std::string& name, uint16_t type, int rcode) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      auto r = test::udpQuery(d.port(), name, type);
      if (r.rcode == rcode || std::chrono::steady_clock::now() > deadline) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  const auto s0 = serial();
  REQUIRE(test::udpQuery(d.port(), "7.113.0.203.bl.test", 1).rcode == 3);

  auto add = test::run({test::dnsxlBinary(), "add", "-c", cfg, "203.0.113.7", "--reason",
                        "spam trap hits", "--ref", "SR-1042", "--code", "3", "--by", "alice"});
  INFO(add.err);
  REQUIRE(add.status == 0);
  CHECK(add.out.find("added 203.0.113.7 in bl.test/abuse") != std::string::npos);
  const auto listed = reaches("7.113.0.203.bl.test", 16, 0);
  CHECK(listed.txt ==
        std::vector<std::string>{"spam trap hits - see https://bl.test/lookup?ref=SR-1042"});
  CHECK(test::udpQuery(d.port(), "7.113.0.203.bl.test", 1).a ==
        std::vector<std::string>{"127.0.0.3"});
  const auto s1 = serial();
  CHECK(static_cast<uint32_t>(s1 - s0) - 1 < 0x7fffffffU); // greater (RFC 1982)

  auto del = test::run({test::dnsxlBinary(), "delist", "-c", cfg, "192.0.2.5", "spam.example",
                        "--reason", "customer fixed the open relay", "--by", "bob"});
  INFO(del.err);
  REQUIRE(del.status == 0);
  CHECK(reaches("5.2.0.192.bl.test", 1, 3).rcode == 3);
  CHECK(test::udpQuery(d.port(), "spam.example.bl.test", 1).rcode == 3);
  CHECK(test::udpQuery(d.port(), "6.2.0.192.bl.test", 1).a ==
        std::vector<std::string>{"127.0.0.2"});
  CHECK(static_cast<uint32_t>(serial() - s1) - 1 < 0x7fffffffU);

  // a wildcard added under names dnsxld has just looked up (it keeps the entries of their
  // ancestors per store generation): answered at once
  REQUIRE(test::udpQuery(d.port(), "x.wild.example.bl.test", 1).rcode == 3);
  REQUIRE(test::udpQuery(d.port(), "y.wild.example.bl.test", 1).rcode == 3);
  add = test::run({test::dnsxlBinary(), "add", "-c", cfg, "*.wild.example", "--reason", "wild"});
  INFO(add.err);
  REQUIRE(add.status == 0);
  CHECK(reaches("x.wild.example.bl.test", 1, 0).rcode == 0);
  CHECK(test::udpQuery(d.port(), "z.wild.example.bl.test", 16).txt ==
        std::vector<std::string>{"wild - see https://bl.test/lookup?ref="});

  // an add that expires in two seconds: dnsxld stops answering it by itself; `expire` then
  // removes it from the store and bumps the serial
  add = test::run(
      {test::dnsxlBinary(), "add", "-c", cfg, "198.51.100.9", "--reason", "burst", "--for", "2s"});
  REQUIRE(add.status == 0);
  const auto added = std::time(nullptr);
  CHECK(reaches("9.100.51.198.bl.test", 1, 0).rcode == 0);
  CHECK(reaches("9.100.51.198.bl.test", 1, 3).rcode == 3);
  CHECK(std::time(nullptr) >= added + 1); // not gone before its time (whole seconds)
  const auto s2 = serial();
  auto exp = test::run({test::dnsxlBinary(), "expire", "-c", cfg, "--by", "cron"});
  REQUIRE(exp.status == 0);
  CHECK(exp.out.find("expired 198.51.100.9 in bl.test/abuse") != std::string::npos);
  CHECK(static_cast<uint32_t>(serial() - s2) - 1 < 0x7fffffffU);

  // a re-import keeps the operator's changes
  f.importOk();
  CHECK(reaches("5.2.0.192.bl.test", 1, 3).rcode == 3);
  CHECK(test::udpQuery(d.port(), "7.113.0.203.bl.test", 1).rcode == 0);

  checkHistory(cfg);
  const auto s3 = serial();
  checkRefusals(cfg);
  CHECK(serial() == s3);
}

namespace {
test::QueryOptions idOpt(uint16_t id) {
  test::QueryOptions o;
  o.id = id;
  return o;
}

// An IXFR query from a secondary at `serial`: the SOA in the authority section (RFC 1995 §3),
// its owner a pointer to the question name, root names for MNAME and RNAME.
std::vector<uint8_t> ixfrQuery(const std::string& zone, uint32_t serial, uint16_t id) {
  auto q = test::makeQuery(zone, dns::kTypeIXFR, idOpt(id));
  q[9] = 1;                                                             // NSCOUNT
  const uint8_t rr[] = {0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0}; // type SOA, rdlength 22
  q.insert(q.end(), std::begin(rr), std::end(rr));
  for (int shift = 24; shift >= 0; shift -= 8)
    q.push_back(static_cast<uint8_t>(serial >> shift));
  q.insert(q.end(), 16, 0); // refresh, retry, expire, minimum
  return q;
}
} // namespace

namespace {

// Reads one transfer on c: messages until the second SOA.
std::vector<test::Reply> readTransfer(test::TcpClient& c, uint16_t id) {
  std::vector<test::Reply> out;
  int soas = 0;
  while (soas < 2) {
    auto m = c.receive();
    if (!m) break;
    auto r = test::parseReply(*m);
    CHECK(r.id == id);
    CHECK(r.qr);
    CHECK(r.aa);
    CHECK(r.rcode == 0);
    for (const auto& rr : r.answer)
      if (rr.find("\tSOA\t") != std::string::npos) ++soas;
    out.push_back(r);
    if (r.answer.empty()) break;
  }
  return out;
}

// The serial of an SOA record as ldns prints it (owner ttl class SOA mname rname serial ...).
uint32_t soaSerial(const std::string& rr) {
  std::istringstream words(rr);
  std::string word;
  for (int i = 0; i < 7; ++i)
    words >> word;
  return static_cast<uint32_t>(std::stoul(word));
}

// IXFR from `serial` after one added entry (198.18.0.1): the new SOA, the old SOA, nothing
// deleted, the new SOA, the added records, the new SOA — the change, not the zone.
void checkIncrement(test::TcpClient& c, uint32_t serial) {
  REQUIRE(c.sendFramed(ixfrQuery("bl.test", serial, 0x4444)));
  auto msgs = readTransfer(c, 0x4444);
  REQUIRE(msgs.size() == 1);
  const auto& rrs = msgs[0].answer;
  REQUIRE(rrs.size() >= 4);
  const uint32_t now = soaSerial(rrs.front());
  CHECK(now != serial);
  CHECK(soaSerial(rrs[1]) == serial);
  CHECK(soaSerial(rrs[2]) == now);
  CHECK(soaSerial(rrs.back()) == now);
  CHECK(std::find(rrs.begin(), rrs.end(), "1.0.18.198.bl.test.\t2100\tIN\tTXT\t\"new\"") !=
        rrs.end());
  CHECK(rrs.size() < 20);
}

} // namespace

TEST_CASE("AXFR over TCP: SOA first and last, one connection for transfers and queries, access "
          "list, NOTAUTH, NOTIMP over UDP, IXFR when current",
          "[server][axfr]") {
  test::Fixture f("", {{"a.txt", "192.0.2.0/25 net\n198.51.100.7 host\nevil.example domain\n"
                                 "203.0.113.0/24 listed: $\n"}});
  f.dir.write("dnsxl.toml", "[server]\nstore = \"store\"\ntransfer_allow = [\"127.0.0.0/8\"]\n"
                            "[[zone]]\nname = \"bl.test\"\nns = [\"ns1.example.net\"]\n"
                            "  [[zone.dataset]]\n  name = \"abuse\"\n  format = \"list\"\n"
                            "  files = [\"a.txt\"]\n");
  f.importOk();
  test::Daemon d(f.configPath);
  test::TcpClient c(d.port());
  auto transfer = [&](uint16_t id) { return readTransfer(c, id); };
  for (uint16_t id : {uint16_t{0x1111}, uint16_t{0x2222}}) {
    REQUIRE(c.sendFramed(test::makeQuery("bl.test", dns::kTypeAXFR, idOpt(id))));
    auto msgs = transfer(id);
    REQUIRE_FALSE(msgs.empty());
    std::vector<std::string> all;
    for (const auto& m : msgs)
      all.insert(all.end(), m.answer.begin(), m.answer.end());
    REQUIRE(all.size() > 4);
    CHECK(all.front().find("\tSOA\t") != std::string::npos);
    CHECK(all.back() == all.front()); // the same SOA closes it
    CHECK(std::count_if(all.begin(), all.end(), [](const std::string& rr) {
            return rr.find("\tSOA\t") != std::string::npos;
          }) == 2);
    CHECK(std::find(all.begin(), all.end(), "*.0.0.0.2.0.192.bl.test.\t2100\tIN\tA\t127.0.0.2") ==
          all.end());
    CHECK(std::find(all.begin(), all.end(), "7.100.51.198.bl.test.\t2100\tIN\tA\t127.0.0.2") !=
          all.end());
    CHECK(std::find(all.begin(), all.end(), "evil.example.bl.test.\t2100\tIN\tTXT\t\"domain\"") !=
          all.end());
    // `$` in a wildcard's TXT is the block (README); an explicit name has its address
    CHECK(std::find(all.begin(), all.end(),
                    "*.113.0.203.bl.test.\t2100\tIN\tTXT\t\"listed: 203.0.113.0/24\"") !=
          all.end());
    // an ordinary query on the same connection after the transfer (RFC 5936 §4.1.2)
    REQUIRE(c.sendFramed(test::makeQuery("7.100.51.198.bl.test", 1, idOpt(7))));
    auto q = c.receive();
    REQUIRE(q);
    CHECK(test::parseReply(*q).a == std::vector<std::string>{"127.0.0.2"});
  }
  CHECK(test::udpQuery(d.port(), "9.113.0.203.bl.test", 16).txt ==
        std::vector<std::string>{"listed: 203.0.113.9"});
  // a zone we do not serve: NOTAUTH, and the connection stays usable
  REQUIRE(c.sendFramed(test::makeQuery("other.test", dns::kTypeAXFR, idOpt(9))));
  auto na = c.receive();
  REQUIRE(na);
  CHECK(test::parseReply(*na).rcode == 9);
  // over UDP: not a transfer
  CHECK(test::udpQuery(d.port(), "bl.test", dns::kTypeAXFR).rcode == dns::kNotImp);
  // IXFR from a secondary that is current: the SOA alone (RFC 1995 §2)
  auto soa = test::udpQuery(d.port(), "bl.test", 6);
  REQUIRE(soa.answer.size() == 1);
  const auto serial = soaSerial(soa.answer[0]);
  for (uint32_t theirs : {serial, serial - 1}) {
    auto ixfr = ixfrQuery("bl.test", theirs, 0x3333);
    REQUIRE(c.sendFramed(ixfr));
    auto msgs = transfer(0x3333);
    REQUIRE_FALSE(msgs.empty());
    if (theirs == serial) {
      REQUIRE(msgs.size() == 1);
      CHECK(msgs[0].answer.size() == 1); // current: one SOA
    } else {
      CHECK(msgs[0].answer.size() > 4); // older: the whole zone
    }
  }

  // after a change, IXFR from the old serial is the difference alone (RFC 1995 §4)
  REQUIRE(test::run({test::dnsxlBinary(), "add", "-c", f.configPath.string(), "198.18.0.1",
                     "--reason", "new"})
              .status == 0);
  checkIncrement(c, serial);

  // outside the access list: REFUSED (one dnsxld per store: the first one goes)
  CHECK(d.stop() == 0);
  f.dir.write("dnsxl.toml", "[server]\nstore = \"store\"\ntransfer_allow = [\"192.0.2.1\"]\n"
                            "[[zone]]\nname = \"bl.test\"\nns = [\"ns1.example.net\"]\n"
                            "  [[zone.dataset]]\n  name = \"abuse\"\n  format = \"list\"\n"
                            "  files = [\"a.txt\"]\n");
  test::Daemon closed(f.configPath);
  auto refused = test::tcpExchange(closed.port(), test::makeQuery("bl.test", dns::kTypeAXFR));
  REQUIRE(refused);
  CHECK(test::parseReply(*refused).rcode == dns::kRefused);
  CHECK(test::parseReply(*refused).answer.empty());
}

TEST_CASE("TSIG on AXFR checked with ldns: every message signed; BADKEY, BADSIG, BADTIME",
          "[server][tsig]") {
  const char* secret = "zW8o5QGsGR2QBNjJ0F0T1QXzC9cFSyUMH5mJgS2B0Wo=";
  test::Fixture f("", {{"a.txt", "192.0.2.0/25 net\n198.51.100.0/24 block\n"}});
  f.dir.write("dnsxl.toml",
              fmt::format("[server]\nstore = \"store\"\ntsig_keys = [{{ name = \"xfr.key\", "
                          "secret = \"{}\" }}]\ntransfer_key = \"xfr.key\"\n[[zone]]\nname = "
                          "\"bl.test\"\nns = [\"ns1.example.net\"]\n  [[zone.dataset]]\n  name = "
                          "\"abuse\"\n  format = \"list\"\n  files = [\"a.txt\"]\n",
                          secret));
  f.importOk();
  test::Daemon d(f.configPath);

  // a good request: ldns verifies the first message with the request MAC and each next one with
  // the previous MAC and the timers (RFC 8945 §5.3.1)
  std::vector<uint8_t> mac;
  auto query = test::ldnsSignedQuery("bl.test", dns::kTypeAXFR, "xfr.key.", secret, mac);
  test::TcpClient c(d.port());
  REQUIRE(c.sendFramed(query));
  size_t messages = 0;
  int soas = 0;
  while (soas < 2) {
    auto m = c.receive();
    REQUIRE(m);
    std::vector<uint8_t> next;
    CHECK(test::ldnsVerifyTsig(*m, "xfr.key.", secret, mac, messages > 0, next));
    mac = next;
    for (const auto& rr : test::parseReply(*m).answer)
      if (rr.find("\tSOA\t") != std::string::npos) ++soas;
    ++messages;
  }
  CHECK(messages >= 1);

  // an unknown key: NOTAUTH, BADKEY, unsigned (§5.2.1)
  query = test::ldnsSignedQuery("bl.test", dns::kTypeAXFR, "other.key.", secret, mac);
  auto r = test::tcpExchange(d.port(), query);
  REQUIRE(r);
  CHECK(test::parseReply(*r).rcode == 9);
  CHECK(test::tsigFields(*r).error == 17);
  CHECK(test::tsigFields(*r).macSize == 0);
  // a wrong secret: NOTAUTH, BADSIG (§5.2.2)
  query = test::ldnsSignedQuery("bl.test", dns::kTypeAXFR, "xfr.key.",
                                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", mac);
  r = test::tcpExchange(d.port(), query);
  REQUIRE(r);
  CHECK(test::parseReply(*r).rcode == 9);
  CHECK(test::tsigFields(*r).error == 16);
  CHECK(test::tsigFields(*r).macSize == 0);
  // a good MAC over an old time: NOTAUTH, BADTIME, signed, our time in Other Data (§5.2.3)
  std::string err;
  auto key = answer::tsig::makeKey("xfr.key", "hmac-sha256", secret, err);
  REQUIRE(key);
  auto old = test::makeQuery("bl.test", dns::kTypeAXFR);
  answer::tsig::sign(old, *key, 0x1234, {}, false,
                     static_cast<uint64_t>(std::time(nullptr)) - 3600);
  r = test::tcpExchange(d.port(), old);
  REQUIRE(r);
  CHECK(test::parseReply(*r).rcode == 9);
  CHECK(test::tsigFields(*r).error == 18);
  CHECK(test::tsigFields(*r).macSize == 32);  // signed: a full MAC
  CHECK(test::tsigFields(*r).otherSize == 6); // other data: our time
  // an ordinary signed query (a secondary's SOA check, over UDP): a signed reply ldns accepts
  query = test::ldnsSignedQuery("bl.test", dns::kTypeSOA, "xfr.key.", secret, mac);
  auto soa = test::udpExchange(d.port(), query);
  REQUIRE(soa);
  std::vector<uint8_t> next;
  CHECK(test::parseReply(*soa).answer.size() == 1);
  CHECK(test::ldnsVerifyTsig(*soa, "xfr.key.", secret, mac, false, next));
  // unsigned: REFUSED (the key is required)
  r = test::tcpExchange(d.port(), test::makeQuery("bl.test", dns::kTypeAXFR));
  REQUIRE(r);
  CHECK(test::parseReply(*r).rcode == dns::kRefused);
}
