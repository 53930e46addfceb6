// dnsxld run as a service: /metrics (counts checked before and after known queries), /healthz,
// /readyz, NSID and id.server, the query log, --check-config, journald priorities, and one
// dnsxld per store and per listen address. The real dnsxld on 127.0.0.1, port 0.
#include "tests/support/fixture.hh"

#include <catch2/catch.hpp>
#include <csignal>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

using namespace dnsxl;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t A = 1, SOA = 6, TXT = 16;

const char* kZone = R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]
soa = { mname = "ns1.bl.test", rname = "hostmaster.bl.test", minimum = 300, ttl = 3600 }

  [[zone.dataset]]
  name = "main"
  format = "ip4set"
  files = ["a.txt"]
  txt = "Listed: $"

  [[zone.dataset]]
  name = "extra"
  format = "ip4set"
  files = ["b.txt"]
  a = "127.0.0.3"
)";

// The samples of a Prometheus text page: `name{labels}` → value. Checks the format as it goes:
// every family announced by HELP and TYPE before its samples.
std::map<std::string, double> scrape(uint16_t httpPort) {
  auto r = test::httpGet(httpPort, "/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.headers.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  std::map<std::string, double> out;
  std::set<std::string> help, type;
  static const std::regex kSample(R"(^([a-z_]+)(\{[^}]*\})? (-?[0-9]+(\.[0-9]+)?)$)");
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      help.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const auto name = line.substr(7, line.find(' ', 7) - 7);
      const auto kind = line.substr(line.rfind(' ') + 1);
      CHECK((kind == "counter" || kind == "gauge"));
      if (kind == "counter")
        CHECK((name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0));
      type.insert(name);
      continue;
    }
    std::smatch m;
    INFO(line);
    REQUIRE(std::regex_match(line, m, kSample));
    CHECK(help.count(m[1].str()));
    CHECK(type.count(m[1].str()));
    out[m[1].str() + m[2].str()] = std::stod(m[3].str());
  }
  return out;
}

double delta(const std::map<std::string, double>& before,
             const std::map<std::string, double>& after, const std::string& key) {
  const auto b = before.find(key), a = after.find(key);
  return (a == after.end() ? 0 : a->second) - (b == before.end() ? 0 : b->second);
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// Polls until the file has at least n lines (the query log's writer is a thread of its own).
std::vector<std::string> waitLines(const std::filesystem::path& p, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  auto l = lines(readFile(p));
  while (l.size() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    l = lines(readFile(p));
  }
  return l;
}

} // namespace

TEST_CASE("/metrics: the counts of known queries by zone, transport, type, rcode, dataset",
          "[service][metrics]") {
  test::Fixture f("[http]\nlisten = [\"127.0.0.1:0\"]\n" + std::string(kZone),
                  {{"a.txt", "192.0.2.0/24\n"}, {"b.txt", "192.0.2.7\n203.0.113.5\n"}});
  f.importOk();
  test::Daemon d(f.configPath);
  const uint16_t web = d.httpPort();
  const auto before = scrape(web);

  for (const char* name : {"1.2.0.192.bl.test", "2.2.0.192.bl.test", "7.2.0.192.bl.test"})
    CHECK(test::udpQuery(d.port(), name, A).rcode == 0);
  CHECK(test::udpQuery(d.port(), "5.113.0.203.bl.test", A).a ==
        std::vector<std::string>{"127.0.0.3"});
  for (const char* name : {"1.100.51.198.bl.test", "2.100.51.198.bl.test"})
    CHECK(test::udpQuery(d.port(), name, A).rcode == 3);
  CHECK(test::tcpQuery(d.port(), "9.2.0.192.bl.test", TXT).txt ==
        std::vector<std::string>{"Listed: 192.0.2.9"});
  CHECK(test::udpQuery(d.port(), "bl.test", SOA).answer.size() == 1);
  CHECK(test::udpQuery(d.port(), "example.com", A).rcode == 5); // no zone of ours
  const auto after = scrape(web);

  auto dz = [&](const std::string& key) { return delta(before, after, key); };
  CHECK(dz(R"(dnsxl_queries_total{zone="bl.test",transport="udp"})") == 7);
  CHECK(dz(R"(dnsxl_queries_total{zone="bl.test",transport="tcp"})") == 1);
  CHECK(dz(R"(dnsxl_query_types_total{zone="bl.test",qtype="A"})") == 6);
  CHECK(dz(R"(dnsxl_query_types_total{zone="bl.test",qtype="TXT"})") == 1);
  CHECK(dz(R"(dnsxl_query_types_total{zone="bl.test",qtype="SOA"})") == 1);
  CHECK(dz(R"(dnsxl_responses_total{zone="bl.test",rcode="NOERROR"})") == 6);
  CHECK(dz(R"(dnsxl_responses_total{zone="bl.test",rcode="NXDOMAIN"})") == 2);
  CHECK(dz(R"(dnsxl_lookups_total{zone="bl.test",result="listed"})") == 5);
  CHECK(dz(R"(dnsxl_lookups_total{zone="bl.test",result="unlisted"})") == 2);
  // 7.2.0.192 is in both datasets: each counts it
  CHECK(dz(R"(dnsxl_dataset_hits_total{zone="bl.test",dataset="main"})") == 4);
  CHECK(dz(R"(dnsxl_dataset_hits_total{zone="bl.test",dataset="extra"})") == 2);
  CHECK(dz(R"(dnsxl_queries_total{zone="",transport="udp"})") == 1);
  CHECK(dz(R"(dnsxl_responses_total{zone="",rcode="REFUSED"})") == 1);
  CHECK(dz(R"(dnsxl_request_bytes_total{zone="bl.test"})") > 0);
  CHECK(dz(R"(dnsxl_response_bytes_total{zone="bl.test"})") > 0);

  // the zone's serial as served, the store's size and the data's age
  const auto soa = test::udpQuery(d.port(), "bl.test", SOA);
  REQUIRE(soa.answer.size() == 1);
  std::istringstream rr(soa.answer[0]);
  std::vector<std::string> f7;
  for (std::string w; rr >> w;)
    f7.push_back(w);
  REQUIRE(f7.size() >= 7);
  CHECK(after.at(R"(dnsxl_zone_serial{zone="bl.test"})") == std::stod(f7[6]));
  CHECK(after.at("dnsxl_store_used_bytes") > 0);
  CHECK(after.at("dnsxl_store_file_bytes") > 0);
  CHECK(after.at("dnsxl_data_age_seconds") >= 0);
  CHECK(after.at("dnsxl_data_age_seconds") < 600);
  CHECK(after.count(R"(dnsxl_build_info{version=")" DNSXL_VERSION_TEXT R"("})"));

  // the other endpoints
  auto h = test::httpGet(web, "/healthz");
  CHECK(h.status == 200);
  CHECK(h.body == "ok\n");
  auto r = test::httpGet(web, "/readyz");
  CHECK(r.status == 200);
  CHECK(r.body.rfind("ready: 1 zones", 0) == 0);
  CHECK(test::httpGet(web, "/nothing").status == 404);
  CHECK(test::httpGet(web, "/metrics", "POST").status == 405);
  auto head = test::httpGet(web, "/metrics", "HEAD");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(d.stop() == 0);
}

TEST_CASE("/readyz: not ready until the config's zone is in the store, nor when the data is "
          "older than max_data_age_s",
          "[service][metrics]") {
  test::Fixture f(std::string(kZone), {{"a.txt", "192.0.2.0/24\n"}, {"b.txt", ""}});
  f.importOk();
  // dnsxld's config names another zone than the store holds
  f.dir.write("other.toml",
              "[server]\nstore = \"store\"\n[http]\nlisten = [\"127.0.0.1:0\"]\n"
              "max_data_age_s = 2\n[[zone]]\nname = \"other.test\"\nns = [\"ns1.other.test\"]\n"
              "  [[zone.dataset]]\n  name = \"x\"\n  format = \"ip4set\"\n  files = [\"a.txt\"]\n");
  test::Daemon d(f.dir / "other.toml");
  const uint16_t web = d.httpPort();
  auto r = test::httpGet(web, "/readyz");
  CHECK(r.status == 503);
  CHECK(r.body == "not ready: no zone of the config in the store\n");
  CHECK(test::udpQuery(d.port(), "1.2.0.192.bl.test", A).rcode == 5); // not served: REFUSED
  // imported: ready (the data is new)
  REQUIRE(
      test::run({test::dnsxlBinary(), "import", "-c", (f.dir / "other.toml").string()}).status ==
      0);
  CHECK(test::httpGet(web, "/readyz").status == 200);
  CHECK(test::udpQuery(d.port(), "1.2.0.192.other.test", A).rcode == 0);
  // two seconds on, past max_data_age_s
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((r = test::httpGet(web, "/readyz")).status == 200 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  CHECK(r.status == 503);
  CHECK(std::regex_match(
      r.body, std::regex(R"(not ready: the data is \d+ s old \(max_data_age_s = 2\)\n)")));
  CHECK(test::httpGet(web, "/healthz").status == 200); // alive all the same
}

TEST_CASE("NSID (RFC 5001) and CH TXT id.server / hostname.bind from the config",
          "[service][nsid]") {
  test::Fixture f("identity = \"ns1.fra.example\"\nnsid = \"fra-1\"\n" + std::string(kZone),
                  {{"a.txt", "192.0.2.0/24\n"}, {"b.txt", ""}});
  f.importOk();
  test::Daemon d(f.configPath);
  test::QueryOptions o;
  o.nsid = true;
  auto r = test::udpQuery(d.port(), "1.2.0.192.bl.test", A, o);
  CHECK(r.rcode == 0);
  CHECK(r.hasNsid);
  CHECK(r.nsid == "fra-1");
  r = test::tcpQuery(d.port(), "1.1.1.1.bl.test", A, o); // on negative answers too, over TCP
  CHECK(r.rcode == 3);
  CHECK(r.nsid == "fra-1");
  test::QueryOptions plain;
  plain.edns = true;
  CHECK_FALSE(test::udpQuery(d.port(), "1.2.0.192.bl.test", A, plain).hasNsid); // not asked
  test::QueryOptions ch;
  ch.qclass = 3;
  for (const char* name : {"id.server", "hostname.bind", "ID.SERVER"}) {
    auto c = test::udpQuery(d.port(), name, TXT, ch);
    CHECK(c.rcode == 0);
    CHECK(c.txt == std::vector<std::string>{"ns1.fra.example"});
  }
  CHECK(test::udpQuery(d.port(), "version.bind", TXT, ch).txt == std::vector<std::string>{"dnsxl"});
  d.stop();
  // without them: REFUSED, and no NSID
  test::Fixture g(std::string(kZone), {{"a.txt", "192.0.2.0/24\n"}, {"b.txt", ""}});
  g.importOk();
  test::Daemon e(g.configPath);
  CHECK(test::udpQuery(e.port(), "id.server", TXT, ch).rcode == 5);
  CHECK_FALSE(test::udpQuery(e.port(), "1.2.0.192.bl.test", A, o).hasNsid);
}

TEST_CASE("the query log: rbldnsd's lines or JSON lines; SIGHUP opens it again after rotation",
          "[service][querylog]") {
  test::Fixture f("[query_log]\npath = \"q.log\"\n[http]\nlisten = [\"127.0.0.1:0\"]\n" +
                      std::string(kZone),
                  {{"a.txt", "192.0.2.0/24\n"}, {"b.txt", ""}});
  f.importOk();
  test::Daemon d(f.configPath);
  CHECK(test::udpQuery(d.port(), "1.2.0.192.bl.test", A).rcode == 0);
  CHECK(test::tcpQuery(d.port(), "1.1.1.1.bl.test", TXT).rcode == 3);
  auto l = waitLines(f.dir / "q.log", 2);
  REQUIRE(l.size() == 2);
  CHECK(std::regex_match(
      l[0], std::regex(R"(\d+ 127\.0\.0\.1 1\.2\.0\.192\.bl\.test A IN: NOERROR/1/\d+)")));
  CHECK(std::regex_match(
      l[1], std::regex(R"(\d+ 127\.0\.0\.1 1\.1\.1\.1\.bl\.test TXT IN: NXDOMAIN/0/\d+)")));
  // logrotate: the file is renamed, dnsxld gets SIGHUP, the next line goes to a new file
  std::filesystem::rename(f.dir / "q.log", f.dir / "q.log.1");
  ::kill(d.pid(), SIGHUP);
  d.readStderr(500ms);
  CHECK(test::udpQuery(d.port(), "3.2.0.192.bl.test", A).rcode == 0);
  auto fresh = waitLines(f.dir / "q.log", 1);
  REQUIRE(fresh.size() == 1);
  CHECK(fresh[0].find(" 3.2.0.192.bl.test A IN: NOERROR/1/") != std::string::npos);
  CHECK(lines(readFile(f.dir / "q.log.1")).size() == 2);
  const auto m = scrape(d.httpPort());
  CHECK(m.at("dnsxl_query_log_lines_total") == 3);
  CHECK(m.at("dnsxl_query_log_dropped_total") == 0);
  d.stop();

  // JSON Lines
  test::Fixture g("[query_log]\npath = \"q.jsonl\"\nformat = \"json\"\n" + std::string(kZone),
                  {{"a.txt", "192.0.2.0/24\n"}, {"b.txt", ""}});
  g.importOk();
  test::Daemon e(g.configPath);
  CHECK(test::udpQuery(e.port(), "1.2.0.192.bl.test", A).rcode == 0);
  CHECK(test::tcpQuery(e.port(), "x\"y.bl.test", TXT).rcode == 3);
  auto j = waitLines(g.dir / "q.jsonl", 2);
  REQUIRE(j.size() == 2);
  auto a = nlohmann::json::parse(j[0]);
  CHECK(a["client"] == "127.0.0.1");
  CHECK(a["transport"] == "udp");
  CHECK(a["qname"] == "1.2.0.192.bl.test");
  CHECK(a["qtype"] == "A");
  CHECK(a["rcode"] == "NOERROR");
  CHECK(a["answers"] == 1);
  CHECK(a["tc"] == false);
  CHECK(a["time"].get<int64_t>() > 1700000000);
  auto b = nlohmann::json::parse(j[1]); // a quote in the name stays valid JSON
  CHECK(b["transport"] == "tcp");
  CHECK(b["qname"] == "x\"y.bl.test");
  CHECK(b["rcode"] == "NXDOMAIN");
}

TEST_CASE("dnsxld --check-config: exit 0 when it would start, else the reason with file:line",
          "[service][config]") {
  test::Fixture f(std::string(kZone), {{"a.txt", "192.0.2.0/24\n"}, {"b.txt", ""}});
  // before the first import: no store yet
  auto r = test::run({test::dnsxldBinary(), "--check-config", "-c", f.configPath.string()});
  CHECK(r.status == 1);
  CHECK(r.err.find("does not exist yet (dnsxl import --config") != std::string::npos);
  f.importOk();
  r = test::run({test::dnsxldBinary(), "--check-config", "-c", f.configPath.string()});
  CHECK(r.status == 0);
  CHECK(r.out.find(": OK (1 zones, store ") != std::string::npos);
  const auto bad = f.dir.write("bad.toml", "[server]\nstore = \"store\"\nlisten = [\"nowhere\"]\n");
  r = test::run({test::dnsxldBinary(), "--check-config", "-c", bad.string()});
  CHECK(r.status == 1);
  CHECK(r.err == fmt::format("dnsxld: {}:3: listen address 'nowhere' is not ADDRESS:PORT or "
                             "[IPv6]:PORT\n",
                             bad.string()));
  const auto key = f.dir.write(
      "key.toml", "[server]\nstore = \"store\"\ntsig_keys = [{ name = \"k\", secret = \"@@\" }]\n");
  r = test::run({test::dnsxldBinary(), "--check-config", "-c", key.string()});
  CHECK(r.status == 1);
  CHECK(r.err.find("tsig key k:") != std::string::npos);
  // under systemd (stderr is the journal's stream) the line carries its priority: <3> = err
  r = test::run({"/bin/sh", "-c",
                 "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec \"$0\" --check-config "
                 "-c \"$1\"",
                 test::dnsxldBinary(), bad.string()});
  CHECK(r.status == 1);
  CHECK(r.err.rfind("<3>" + bad.string() + ":3: listen address", 0) == 0);
}

TEST_CASE("one dnsxld per store and per listen address: a second one is refused, the first "
          "keeps all the traffic",
          "[service][instance]") {
  test::Fixture f(std::string(kZone), {{"a.txt", "192.0.2.0/24\n"}, {"b.txt", ""}});
  f.importOk();
  test::Daemon first(f.configPath);
  auto r = test::run({test::dnsxldBinary(), "-c", f.configPath.string(), "--listen", "127.0.0.1:0",
                      "--workers", "1"});
  CHECK(r.status == 1);
  CHECK(r.err.find("another dnsxld serves this store (one per store)") != std::string::npos);
  // another store, the first one's address: refused too (SO_REUSEPORT would split the queries)
  test::Fixture g(std::string(kZone), {{"a.txt", "198.51.100.0/24\n"}, {"b.txt", ""}});
  g.importOk();
  const auto addr = fmt::format("127.0.0.1:{}", first.port());
  r = test::run({test::dnsxldBinary(), "-c", g.configPath.string(), "--listen", addr});
  CHECK(r.status == 1);
  CHECK(r.err.find(fmt::format("cannot listen on 127.0.0.1 port {}: another dnsxld listens "
                               "there",
                               first.port())) != std::string::npos);
  for (int i = 0; i < 50; ++i)
    REQUIRE(test::udpQuery(first.port(), fmt::format("{}.2.0.192.bl.test", i), A).rcode == 0);
  CHECK(first.stop() == 0);
  // once it has gone, the next one starts
  test::Daemon second(f.configPath);
  CHECK(test::udpQuery(second.port(), "1.2.0.192.bl.test", A).rcode == 0);
}

TEST_CASE("dnsxl web over HTTP: the lookup API and page from the store dnsxld serves; a live "
          "delisting shows at once",
          "[service][web]") {
  test::Fixture f(
      "[web]\nlisten = [\"127.0.0.1:0\"]\nrate_per_minute = 1000\n" + std::string(kZone),
      {{"a.txt", "192.0.2.0/24 :2:Listed for spam, see https://example.org/\n"}, {"b.txt", ""}});
  f.importOk();
  test::Daemon dns(f.configPath);
  auto web =
      test::Daemon::program({test::dnsxlBinary(), "web", "--config", f.configPath.string()}, 1);
  const uint16_t port = web->port();
  auto r = test::httpGet(port, "/v1/lookup?q=192.0.2.9");
  REQUIRE(r.status == 200);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["listed"] == true);
  CHECK(j["zones"][0]["txt"] ==
        nlohmann::json::array({"Listed for spam, see https://example.org/"}));
  CHECK(r.body.find("a.txt") == std::string::npos);
  auto page = test::httpGet(port, "/?q=192.0.2.9");
  CHECK(page.status == 200);
  CHECK(page.body.find("Listed for spam") != std::string::npos);
  CHECK(test::httpGet(port, "/v1/lookup?q=999.0.0.1").status == 400);
  // the request form's POST over the wire: a bad one is refused with a page; a body over 16 KB
  // gets 413; other methods 405 naming the allowed ones
  const auto form = "application/x-www-form-urlencoded";
  auto bad =
      test::httpRequest(port, "POST", "/request", "subject=192.0.2.9&contact=x&text=y", form);
  CHECK(bad.status == 400);
  CHECK(bad.body.find("Give a mail address") != std::string::npos);
  CHECK(test::httpRequest(port, "POST", "/request", std::string(20000, 'a'), form).status == 413);
  auto put = test::httpRequest(port, "PUT", "/request", "x", form);
  CHECK(put.status == 405);
  CHECK(put.headers.find("Allow: GET, HEAD, POST") != std::string::npos);
  // the operator delists it: DNS and the page agree at the next request
  REQUIRE(test::run({test::dnsxlBinary(), "delist", "-c", f.configPath.string(), "-d", "main",
                     "192.0.2.9", "--reason", "request 1"})
              .status == 0);
  CHECK(test::udpQuery(dns.port(), "9.2.0.192.bl.test", A).rcode == 3);
  j = nlohmann::json::parse(test::httpGet(port, "/v1/lookup?q=192.0.2.9").body);
  CHECK(j["listed"] == false);
  CHECK(web->stop() == 0);
}
