// dnsxld's lifecycle as systemd drives it: SIGHUP reloads the config while a load generator
// loses nothing (and a bad config is refused, the old kept), SIGTERM lets a zone transfer in
// progress complete, sd_notify tells READY, RELOADING and STOPPING.
#include "dns/wire.hh"
#include "tests/support/fixture.hh"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <fmt/format.h>
#include <functional>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

using namespace dnsxl;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t A = 1;

std::string zone(const std::string& name, const std::string& file) {
  return fmt::format("[[zone]]\nname = \"{}\"\nns = [\"ns1.{}\"]\n  [[zone.dataset]]\n"
                     "  name = \"main\"\n  format = \"ip4set\"\n  files = [\"{}\"]\n",
                     name, name, file);
}

// Queries one name after another over UDP until stopped, each waiting for its reply: counts
// what went unanswered (within a second) or answered otherwise than expected.
class Load {
public:
  Load(uint16_t port, std::string name)
      : d_thread([this, port, name] {
          const auto q = test::makeQuery(name, A);
          while (!d_stop) {
            const auto r = test::udpExchange(port, q, 1000ms);
            ++d_sent;
            if (!r || test::parseReply(*r).rcode != 0) ++d_lost;
          }
        }) {}
  ~Load() { stop(); }
  void stop() {
    d_stop = true;
    if (d_thread.joinable()) d_thread.join();
  }
  uint64_t sent() const { return d_sent; }
  uint64_t lost() const { return d_lost; }

private:
  std::atomic<bool> d_stop{false};
  std::atomic<uint64_t> d_sent{0}, d_lost{0};
  std::thread d_thread;
};

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

} // namespace

TEST_CASE("SIGHUP: a changed zone list and listen addresses are served while a load generator "
          "loses nothing; a bad config is refused and the old one kept",
          "[lifecycle][reload]") {
  test::Fixture f(zone("a.test", "a.txt") + zone("b.test", "b.txt"),
                  {{"a.txt", "192.0.2.0/24\n"}, {"b.txt", "198.51.100.0/24\n"}});
  f.importOk(); // the store holds both zones
  const uint16_t p1 = test::freePort(), p2 = test::freePort();
  auto serve = [&](const std::string& listen, const std::string& zones) {
    f.dir.write("serve.toml", fmt::format("[server]\nstore = \"store\"\nlisten = [{}]\n"
                                          "[http]\nlisten = [\"127.0.0.1:0\"]\n{}",
                                          listen, zones));
  };
  serve(fmt::format("\"127.0.0.1:{}\"", p1), zone("a.test", "a.txt"));
  test::Daemon d(f.dir / "serve.toml", {}, {});
  REQUIRE(test::waitForAnswer(p1, "1.2.0.192.a.test", 5s));
  CHECK(test::udpQuery(p1, "1.100.51.198.b.test", A).rcode == 5); // not in the config: REFUSED

  Load load(p1, "1.2.0.192.a.test");
  REQUIRE(waitFor([&] { return load.sent() > 200; }, 10s));
  // both zones, and a second address
  serve(fmt::format("\"127.0.0.1:{}\", \"127.0.0.1:{}\"", p1, p2),
        zone("a.test", "a.txt") + zone("b.test", "b.txt"));
  ::kill(d.pid(), SIGHUP);
  CHECK(waitFor([&] { return test::udpQuery(p1, "1.100.51.198.b.test", A).rcode == 0; }, 5s));
  CHECK(waitFor([&] { return test::udpQuery(p2, "1.100.51.198.b.test", A).rcode == 0; }, 5s));
  CHECK(d.readStderr(200ms).find("config reloaded: zones a.test, b.test") != std::string::npos);

  // a config that does not parse: refused with file:line, the one in force stays
  f.dir.write("serve.toml", "[server]\nstore = = \"store\"\n");
  ::kill(d.pid(), SIGHUP);
  CHECK(
      waitFor([&] { return d.readStderr(50ms).find("reload refused") != std::string::npos; }, 5s));
  CHECK(d.stderrText().find("serve.toml:2:") != std::string::npos);
  CHECK(test::udpQuery(p2, "1.100.51.198.b.test", A).rcode == 0);

  // back to one zone on the second address only: the first address closes
  serve(fmt::format("\"127.0.0.1:{}\"", p2), zone("b.test", "b.txt"));
  const uint64_t sentBefore = load.sent();
  ::kill(d.pid(), SIGHUP);
  CHECK(waitFor([&] { return test::udpQuery(p2, "1.2.0.192.a.test", A).rcode == 5; }, 5s));
  load.stop();
  // everything sent before the last reload was answered (the last reload closed the address the
  // load used: what it sent after that may go unanswered, as it should)
  INFO("sent " << load.sent() << ", lost " << load.lost());
  CHECK(load.sent() > sentBefore);
  CHECK(load.lost() <= load.sent() - sentBefore);
  CHECK(!test::udpExchange(p1, test::makeQuery("1.100.51.198.b.test", A), 300ms));
  auto m = test::httpGet(d.httpPort(), "/metrics");
  CHECK(m.body.find("dnsxl_config_reloads_total{result=\"ok\"} 2\n") != std::string::npos);
  CHECK(m.body.find("dnsxl_config_reloads_total{result=\"failed\"} 1\n") != std::string::npos);
  CHECK(d.stop() == 0);
}

TEST_CASE("SIGHUP under load: nothing lost across reloads that keep the address",
          "[lifecycle][reload]") {
  test::Fixture f(zone("a.test", "a.txt") + zone("b.test", "b.txt"),
                  {{"a.txt", "192.0.2.0/24\n"}, {"b.txt", "198.51.100.0/24\n"}});
  f.importOk();
  f.dir.write("serve.toml", "[server]\nstore = \"store\"\n" + zone("a.test", "a.txt"));
  test::Daemon d(f.dir / "serve.toml", {"--workers", "2"});
  Load load(d.port(), "1.2.0.192.a.test");
  REQUIRE(waitFor([&] { return load.sent() > 20; }, 10s));
  for (int i = 0; i < 10; ++i) {
    const uint64_t before = load.sent();
    f.dir.write("serve.toml", "[server]\nstore = \"store\"\n" + zone("a.test", "a.txt") +
                                  (i % 2 == 0 ? zone("b.test", "b.txt") : ""));
    ::kill(d.pid(), SIGHUP);
    const int want = i % 2 == 0 ? 0 : 5;
    CHECK(waitFor([&] { return test::udpQuery(d.port(), "1.100.51.198.b.test", A).rcode == want; },
                  5s));
    // the load kept going through this reload (on a busy machine a reload can be quicker than
    // a few queries, so wait for them rather than count on a rate)
    CHECK(waitFor([&] { return load.sent() > before + 10; }, 10s));
  }
  load.stop();
  INFO("sent " << load.sent() << ", lost " << load.lost());
  CHECK(load.lost() == 0);
  CHECK(d.stop() == 0);
}

TEST_CASE("SIGTERM during an AXFR: the transfer completes, new connections are not taken, then "
          "dnsxld exits 0",
          "[lifecycle][drain]") {
  // 100,000 addresses, none adjacent (adjacent ones would make ranges, rendered as wildcards)
  constexpr int kAddresses = 100000;
  std::string addresses;
  for (int i = 0; i < kAddresses; ++i) {
    const int v = 2 * i + 1;
    addresses += fmt::format("10.{}.{}.{}\n", v >> 16, (v >> 8) & 255, v & 255);
  }
  test::Fixture f("transfer_allow = [\"127.0.0.0/8\"]\n" + zone("big.test", "a.txt"),
                  {{"a.txt", addresses}});
  f.importOk();
  test::Daemon d(f.configPath);
  // an undisturbed transfer first, for its record count
  auto count = [](test::TcpClient& c, std::optional<std::vector<uint8_t>> m, size_t& soas) {
    size_t records = 0;
    for (; m; m = soas < 2 ? c.receive(5000ms) : std::nullopt) {
      const auto r = test::parseReply(*m);
      for (const auto& rr : r.answer)
        if (rr.find("\tSOA\t") != std::string::npos) ++soas;
      records += r.answer.size();
    }
    return records;
  };
  size_t whole = 0, soas = 0;
  {
    test::TcpClient c(d.port());
    REQUIRE(c.sendFramed(test::makeQuery("big.test", dns::kTypeAXFR)));
    whole = count(c, c.receive(), soas);
    REQUIRE(soas == 2);
    CHECK(whole > kAddresses);
  }
  test::TcpClient c(d.port(), 16384); // a small window: the transfer waits for us
  REQUIRE(c.sendFramed(test::makeQuery("big.test", dns::kTypeAXFR)));
  auto first = c.receive();
  REQUIRE(first); // the transfer has begun; we read the rest slowly
  ::kill(d.pid(), SIGTERM);
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(d.waitExit(0ms)); // draining: still there, the transfer unfinished
  test::TcpClient late(d.port());
  CHECK((!late.connected() || late.closedWithin(2000ms)));
  soas = 0;
  const size_t records = count(c, first, soas);
  CHECK(soas == 2); // complete: the closing SOA came
  CHECK(records == whole);
  const auto status = d.waitExit(10s);
  REQUIRE(status);
  CHECK(*status == 0);
}

TEST_CASE("sd_notify: READY=1 once listening, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 "
          "on SIGTERM",
          "[lifecycle][systemd]") {
  test::Fixture f(zone("a.test", "a.txt"), {{"a.txt", "192.0.2.0/24\n"}});
  f.importOk();
  const auto path = f.dir / "notify.sock";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto next = [&] {
    char buf[1024];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  };
  test::Daemon d(f.configPath, {}, {"127.0.0.1:0"}, {"NOTIFY_SOCKET=" + path.string()});
  CHECK(next().rfind("READY=1\n", 0) == 0);
  ::kill(d.pid(), SIGHUP);
  CHECK(next().rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
  CHECK(next().rfind("READY=1\n", 0) == 0);
  ::kill(d.pid(), SIGTERM);
  CHECK(next().rfind("STOPPING=1\n", 0) == 0);
  const auto status = d.waitExit(10s);
  REQUIRE(status);
  CHECK(*status == 0);
  ::close(fd);
}

TEST_CASE("an rsync mirror (mirror = true): each store file renamed into place is served within "
          "a second, without a restart and without a lost query",
          "[lifecycle][mirror]") {
  test::Fixture primary(zone("a.test", "a.txt"), {{"a.txt", "192.0.2.0/24\n"}});
  primary.importOk();
  test::TempDir mirror;
  std::filesystem::create_directories(mirror / "store");
  // `dnsxl snapshot` on the primary, the file renamed into the mirror's store (what
  // rsync --delay-updates does)
  int round = 0;
  auto ship = [&] {
    const auto dir = primary.dir / fmt::format("snap{}", round++);
    const auto r = test::run(
        {test::dnsxlBinary(), "snapshot", "-c", primary.configPath.string(), dir.string()});
    REQUIRE(r.status == 0);
    std::filesystem::copy_file(dir / "data.mdb", mirror / "store" / ".data.mdb.tmp");
    std::filesystem::rename(mirror / "store" / ".data.mdb.tmp", mirror / "store" / "data.mdb");
  };
  ship();
  const auto config = mirror.write("dnsxl.toml", "[server]\nstore = \"store\"\nmirror = true\n");
  test::Daemon d(config, {"--workers", "2"});
  CHECK(test::udpQuery(d.port(), "1.2.0.192.a.test", A).rcode == 0);
  CHECK(test::udpQuery(d.port(), "1.100.51.198.a.test", A).rcode == 3);

  Load load(d.port(), "1.2.0.192.a.test");
  REQUIRE(waitFor([&] { return load.sent() > 20; }, 10s));
  for (const char* added : {"198.51.100.1", "203.0.113.1"}) {
    const uint64_t before = load.sent();
    REQUIRE(test::run({test::dnsxlBinary(), "add", "-c", primary.configPath.string(), added,
                       "--reason", "test"})
                .status == 0);
    ship();
    const auto octets = [&] {
      std::vector<std::string> o;
      std::string cur;
      for (char ch : std::string(added) + ".") {
        if (ch == '.') {
          o.insert(o.begin(), cur);
          cur.clear();
        } else {
          cur += ch;
        }
      }
      std::string out;
      for (const auto& x : o)
        out += x + ".";
      return out + "a.test";
    }();
    CHECK(waitFor([&] { return test::udpQuery(d.port(), octets, A).rcode == 0; }, 5s));
    CHECK(waitFor([&] { return load.sent() > before + 10; }, 10s)); // the load went on
  }
  load.stop();
  INFO("sent " << load.sent() << ", lost " << load.lost());
  CHECK(load.lost() == 0);
  const auto primarySoa = [&] {
    test::Daemon p(primary.configPath);
    return test::udpQuery(p.port(), "a.test", 6).answer;
  }();
  CHECK(test::udpQuery(d.port(), "a.test", 6).answer == primarySoa);
  CHECK(d.readStderr(100ms).find("mirror: new store file served: a.test") != std::string::npos);
  CHECK(d.stop() == 0);
}

TEST_CASE("SIGHUP applies TSIG keys, transfer access and NOTIFY targets", "[lifecycle][reload]") {
  const char* secret = "zW8o5QGsGR2QBNjJ0F0T1QXzC9cFSyUMH5mJgS2B0Wo=";
  test::Fixture f(zone("a.test", "a.txt"), {{"a.txt", "192.0.2.0/24\n"}});
  f.importOk();
  // a secondary's NOTIFY socket
  const int sec = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(sec, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(sec, reinterpret_cast<sockaddr*>(&sa), &len);
  timeval tv{5, 0};
  ::setsockopt(sec, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  f.dir.write("serve.toml", "[server]\nstore = \"store\"\n" + zone("a.test", "a.txt"));
  test::Daemon d(f.dir / "serve.toml");
  auto axfr = [&](const std::vector<uint8_t>& q) {
    auto r = test::tcpExchange(d.port(), q);
    return r ? test::parseReply(*r).rcode : -1;
  };
  CHECK(axfr(test::makeQuery("a.test", dns::kTypeAXFR)) == 0); // loopback may transfer

  f.dir.write("serve.toml",
              fmt::format("[server]\nstore = \"store\"\ntsig_keys = [{{ name = \"xfr.key\", "
                          "secret = \"{}\" }}]\ntransfer_key = \"xfr.key\"\nnotify = "
                          "[\"127.0.0.1:{}\"]\nnotify_delay_ms = 0\n{}",
                          secret, ntohs(sa.sin_port), zone("a.test", "a.txt")));
  ::kill(d.pid(), SIGHUP);
  REQUIRE(waitFor([&] { return axfr(test::makeQuery("a.test", dns::kTypeAXFR)) == 5; }, 5s));
  std::vector<uint8_t> mac;
  CHECK(axfr(test::ldnsSignedQuery("a.test", dns::kTypeAXFR, "xfr.key.", secret, mac)) == 0);
  // the new secondary is told about the zone: a NOTIFY (opcode 4) for a.test
  uint8_t buf[1024];
  const ssize_t n = ::recv(sec, buf, sizeof buf, 0);
  REQUIRE(n > 12);
  CHECK(((buf[2] >> 3) & 0xf) == 4);
  CHECK(test::parseReply(std::vector<uint8_t>(buf, buf + n)).question == "a.test.");
  ::close(sec);
}
