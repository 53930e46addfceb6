// Who may ask, and how much, against the real dnsxld: [[zone.access]] rules from the config
// (prefixes and a clients_file) by source address on loopback, UDP response rate limiting with
// slip, the TCP caps (per client, and a query trickled in byte by byte is cut at the idle
// timeout), and 1,000 idle TCP connections beside UDP answers. Replies are parsed by ldns.
#include "dns/wire.hh"
#include "tests/support/fixture.hh"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace dnsxl;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t A = 1;

std::string zone(const std::string& access = "") {
  return "[[zone]]\nname = \"bl.test\"\nns = [\"ns1.bl.test\"]\n  [[zone.dataset]]\n"
         "  name = \"set\"\n  format = \"ip4set\"\n  files = [\"set.txt\"]\n" +
         access;
}

// Sends count queries at once from 127.0.0.1 over one UDP socket, then collects what comes back
// within the wait: (full answers, truncated answers).
std::pair<int, int> burst(uint16_t port, int count, std::chrono::milliseconds wait = 500ms) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rcvbuf = 1 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  for (int i = 0; i < count; ++i) {
    auto q = test::makeQuery(fmt::format("{}.2.0.192.bl.test", i % 250), A);
    ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  int full = 0, tc = 0;
  const auto end = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    std::vector<uint8_t> buf(4096);
    const auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    buf.resize(static_cast<size_t>(n));
    const auto r = test::parseReply(buf);
    (r.tc ? tc : full) += 1;
  }
  ::close(fd);
  return {full, tc};
}

uint64_t metric(uint16_t httpPort, const std::string& line) {
  const auto body = test::httpGet(httpPort, "/metrics").body;
  const auto at = body.find("\n" + line + " "); // a sample, not its # HELP line
  return at == std::string::npos ? 0 : std::stoull(body.substr(at + line.size() + 2));
}

} // namespace

TEST_CASE("[[zone.access]] from the config: refuse by default, allow a prefix, answer a fixed "
          "code to the clients of a clients_file; counted",
          "[access]") {
  test::Fixture f(
      "[http]\nlisten = [\"127.0.0.1:0\"]\n" +
          zone("  [[zone.access]]\n  clients = [\"0.0.0.0/0\", \"::/0\"]\n  action = \"refuse\"\n"
               "  [[zone.access]]\n  clients = [\"127.0.0.1\"]\n  action = \"allow\"\n"
               "  [[zone.access]]\n  clients_file = \"resolvers.txt\"\n  action = \"answer\"\n"
               "  a = \"127.255.255.254\"\n  txt = \"Use your own resolver\"\n"),
      {{"set.txt", "192.0.2.0/24\n"},
       {"resolvers.txt", "# public resolvers, as a test knows them\n127.0.0.3/32\n"}});
  f.importOk();
  test::Daemon d(f.configPath);
  const auto q = test::makeQuery("5.2.0.192.bl.test", A);
  auto from = [&](const std::string& source) {
    auto r = test::udpExchange(d.port(), q, 2000ms, source);
    REQUIRE(r);
    return test::parseReply(*r);
  };
  CHECK(from("127.0.0.1").a == std::vector<std::string>{"127.0.0.2"});
  CHECK(from("127.0.0.2").rcode == 5);
  auto fixed = from("127.0.0.3");
  CHECK(fixed.a == std::vector<std::string>{"127.255.255.254"});
  const auto port = d.httpPort();
  CHECK(metric(port, "dnsxl_access_total{zone=\"bl.test\",action=\"refuse\"}") == 1);
  CHECK(metric(port, "dnsxl_access_total{zone=\"bl.test\",action=\"answer\"}") == 1);
  CHECK(metric(port, "dnsxl_access_total{zone=\"bl.test\",action=\"allow\"}") == 1);
}

TEST_CASE("rate limiting: a burst past the budget is dropped, every second one slipped (TC)",
          "[rrl]") {
  test::Fixture f(zone(), {{"set.txt", "192.0.2.0/24\n"}});
  f.dir.write("dnsxl.toml", "[server]\nstore = \"store\"\nrrl_responses_per_second = 50\n"
                            "rrl_slip = 2\n[http]\nlisten = [\"127.0.0.1:0\"]\n" +
                                zone());
  f.importOk();
  test::Daemon d(f.configPath, {"--workers", "2"});
  const auto [full, tc] = burst(d.port(), 400);
  INFO("full " << full << ", truncated " << tc);
  CHECK(full >= 50);
  CHECK(full <= 150); // at most three seconds' budgets, had the burst spanned them
  CHECK(tc > 50);
  CHECK(full + tc < 400); // the rest dropped
  const auto port = d.httpPort();
  CHECK(metric(port, "dnsxl_rrl_limited_total{action=\"slipped\"}") == static_cast<uint64_t>(tc));
  // (a query the kernel dropped before dnsxld read it is in neither count)
  const auto dropped = metric(port, "dnsxl_rrl_limited_total{action=\"dropped\"}");
  CHECK(dropped > 0);
  CHECK(static_cast<uint64_t>(full + tc) + dropped <= 400);
  // TCP is not limited: the client a TC sends there is answered
  CHECK(test::tcpQuery(d.port(), "5.2.0.192.bl.test", A).a ==
        std::vector<std::string>{"127.0.0.2"});
}

TEST_CASE("TCP: a client past its cap is closed at once; a trickled query is cut at the idle "
          "timeout",
          "[tcp]") {
  test::Fixture f(zone(), {{"set.txt", "192.0.2.0/24\n"}});
  auto serve = [&](int idleMs) {
    f.dir.write("dnsxl.toml", fmt::format("[server]\nstore = \"store\"\ntcp_max_per_client = 3\n"
                                          "tcp_idle_timeout_ms = {}\n[http]\nlisten = "
                                          "[\"127.0.0.1:0\"]\n",
                                          idleMs) +
                                  zone());
  };
  serve(30000); // idle connections stay: only the cap closes one
  f.importOk();
  {
    test::Daemon d(f.configPath);
    std::vector<std::unique_ptr<test::TcpClient>> open;
    for (int i = 0; i < 3; ++i)
      open.push_back(std::make_unique<test::TcpClient>(d.port()));
    for (auto& c : open) { // each answers
      REQUIRE(c->sendFramed(test::makeQuery("5.2.0.192.bl.test", A)));
      CHECK(c->receive());
    }
    {
      test::TcpClient fourth(d.port());
      CHECK(fourth.closedWithin(1000ms));
      CHECK(metric(d.httpPort(), "dnsxl_tcp_refused_total{limit=\"client\"}") == 1);
    }
    open.pop_back(); // one closes: a new one is taken again
    std::this_thread::sleep_for(100ms);
    CHECK(test::tcpQuery(d.port(), "5.2.0.192.bl.test", A).a.size() == 1);
  }
  serve(600);
  test::Daemon d(f.configPath);
  // slowloris: one byte every 100 ms keeps the connection busy, not alive
  test::TcpClient slow(d.port());
  auto q = test::makeQuery("5.2.0.192.bl.test", A);
  std::vector<uint8_t> framed = {static_cast<uint8_t>(q.size() >> 8),
                                 static_cast<uint8_t>(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  const auto start = std::chrono::steady_clock::now();
  bool cut = false;
  for (size_t i = 0; i < framed.size() && !cut; ++i) {
    cut = !slow.send({framed[i]}) || slow.closedWithin(100ms);
  }
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(cut);
  CHECK(took < 2000ms); // the 3.5 s the whole query would take: cut at about 600 ms
}

TEST_CASE("1,000 idle TCP connections: all taken, and UDP is answered beside them", "[tcp]") {
  rlimit l{};
  ::getrlimit(RLIMIT_NOFILE, &l);
  l.rlim_cur = l.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &l);
  REQUIRE(l.rlim_cur > 1100);
  test::Fixture f(zone(), {{"set.txt", "192.0.2.0/24\n"}});
  f.dir.write("dnsxl.toml", "[server]\nstore = \"store\"\ntcp_max_per_client = 0\n"
                            "tcp_max_connections = 1100\ntcp_idle_timeout_ms = 60000\n"
                            "[http]\nlisten = [\"127.0.0.1:0\"]\n" +
                                zone());
  f.importOk();
  test::Daemon d(f.configPath, {"--workers", "2"});
  std::vector<std::unique_ptr<test::TcpClient>> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.push_back(std::make_unique<test::TcpClient>(d.port()));
    REQUIRE(idle.back()->connected());
  }
  for (int i = 0; i < 100 && metric(d.httpPort(), "dnsxl_tcp_connections") < 1000; ++i)
    std::this_thread::sleep_for(50ms);
  CHECK(metric(d.httpPort(), "dnsxl_tcp_connections") == 1000);
  CHECK(metric(d.httpPort(), "dnsxl_tcp_refused_total{limit=\"total\"}") == 0);
  int answered = 0;
  for (int i = 0; i < 500; ++i)
    answered += test::udpQuery(d.port(), fmt::format("{}.2.0.192.bl.test", i % 250), A).rcode == 0;
  CHECK(answered == 500);
  // and a TCP query on one of them is answered too
  REQUIRE(idle[500]->sendFramed(test::makeQuery("5.2.0.192.bl.test", A)));
  CHECK(idle[500]->receive());
}

TEST_CASE("keys from the command line: add (named, random), list, revoke; dnsxld answers them at "
          "once; counted",
          "[keys]") {
  test::Fixture f(zone(), {{"set.txt", "192.0.2.0/24\n"}});
  f.dir.write("dnsxl.toml",
              "[server]\nstore = \"store\"\n[http]\nlisten = [\"127.0.0.1:0\"]\n"
              "[[zone]]\nname = \"bl.test\"\nns = [\"ns1.bl.test\"]\nkeyed = true\n"
              "key_unknown = { a = \"127.255.255.250\" }\n  [[zone.dataset]]\n  name = \"set\"\n"
              "  format = \"ip4set\"\n  files = [\"set.txt\"]\n");
  f.importOk();
  const auto cfg = f.configPath.string();
  auto made = test::run(
      {test::dnsxlBinary(), "key", "add", "-c", cfg, "--per-day", "100", "--note", "customer 7"});
  REQUIRE(made.status == 0);
  const auto key = made.out.substr(0, made.out.find('\n'));
  CHECK(key.size() == 24);
  CHECK(test::run({test::dnsxlBinary(), "key", "add", "mailhost01", "-c", cfg}).status == 0);
  CHECK(test::run({test::dnsxlBinary(), "key", "add", "mailhost01", "-c", cfg}).status == 1);
  auto bad = test::run({test::dnsxlBinary(), "key", "add", "Bad_Key", "-c", cfg});
  CHECK(bad.status == 2);
  CHECK(bad.err.find("a key is 8 to 63 of a-z and 0-9") != std::string::npos);
  test::Daemon d(f.configPath);
  auto q = [&](const std::string& k) {
    return test::udpQuery(d.port(), "5.2.0.192." + k + ".bl.test", A);
  };
  CHECK(q(key).a == std::vector<std::string>{"127.0.0.2"});
  CHECK(q("mailhost01").a == std::vector<std::string>{"127.0.0.2"});
  CHECK(q("guessed1").a == std::vector<std::string>{"127.255.255.250"});
  REQUIRE(test::run({test::dnsxlBinary(), "key", "revoke", "mailhost01", "-c", cfg}).status == 0);
  CHECK(q("mailhost01").a == std::vector<std::string>{"127.255.255.250"}); // at once
  auto list = test::run({test::dnsxlBinary(), "key", "list", "-c", cfg, "--json"});
  REQUIRE(list.status == 0);
  CHECK(list.out.find("\"note\": \"customer 7\"") != std::string::npos);
  CHECK(list.out.find("\"per_day\": 100") != std::string::npos);
  CHECK(list.out.find("\"revoked\": true") != std::string::npos);
  // not given away by zone transfer: a secondary would answer without keys
  auto axfr = test::tcpExchange(d.port(), test::makeQuery("bl.test", dns::kTypeAXFR));
  REQUIRE(axfr);
  CHECK(test::parseReply(*axfr).rcode == 9); // NOTAUTH (RFC 5936 §2.2.1)
  CHECK(metric(d.httpPort(), "dnsxl_key_queries_total{zone=\"bl.test\",result=\"ok\"}") == 2);
  CHECK(metric(d.httpPort(), "dnsxl_key_queries_total{zone=\"bl.test\",result=\"unknown\"}") == 2);
}
