// The zone as a standard secondary serves it (checklist W-2, W-3, Q-8): `dnsxl export --format
// zone` loaded into Debian's NSD and Knot must answer every test name as dnsxld does — rcode, A
// set and TXT set — including exclusions inside wildcarded blocks, IPv6 names below IPv4
// wildcards, v4-mapped and 6to4 names, domain wildcards with exclusions, and the test points.
#include "dns/wire.hh"
#include "tests/support/fixture.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace dnsxl;

namespace {

const char* kZone = R"toml(
[[zone]]
name = "bl.test"
ns = ["ns1.example.net", "ns2.example.net"]
soa = { mname = "ns1.example.net", rname = "hostmaster.example.net", minimum = 300, ttl = 3600 }

  [[zone.dataset]]
  name = "dyn"
  format = "ip4set"
  files = ["dyn.txt"]
  a = "127.0.0.10"
  txt = "dynamic space"

  [[zone.dataset]]
  name = "abuse"
  format = "list"
  files = ["abuse.txt"]

  [[zone.dataset]]
  name = "dom"
  format = "dnset"
  files = ["dom.txt"]
)toml";

const char* kDyn = "192.0.2.0/24\n!192.0.2.77\n198.51.100.0/22\n3.0.0.0/8\n10.0.0.0/16\n"
                   "10.0.5.0/24 :127.0.0.4:special block\n";
const char* kAbuse =
    "203.0.113.5 bad host\n203.0.113.0/25 bad net\n192.0.2.10 listed twice\n"
    "127.0.0.2 our own test address\n2001:db8::/48 v6 network\n2001:db8::5 v6 host\n!2001:db8::7\n"
    "10.0.0.0-10.0.3.7 an odd range\n2001:db8:ffff::/64 another v6 net\n";
const char* kDom = "evil.test :2:evil domain\n.phish.test :3:phishing\n*.spam.test :4:spam\n"
                   "!good.phish.test\nsub.evil.test :5:sub of evil\n*.subs.test :6:subs\n"
                   "test :7:our own test name\n";

std::string rev4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, a >> 24);
}

std::string rev6(const std::string& text) {
  unsigned char b[16];
  REQUIRE(inet_pton(AF_INET6, text.c_str(), b) == 1);
  std::string out;
  for (int i = 15; i >= 0; --i)
    out += fmt::format("{:x}.{:x}.", b[i] & 0xf, b[i] >> 4);
  out.pop_back();
  return out;
}

uint32_t ip4(const std::string& text) {
  in_addr a{};
  REQUIRE(inet_pton(AF_INET, text.c_str(), &a) == 1);
  return ntohl(a.s_addr);
}

// "NXDOMAIN" or "NOERROR A:... TXT:..." with sorted sets.
std::string answerOf(uint16_t port, const std::string& name) {
  auto a = test::udpQuery(port, name, 1);
  auto t = test::udpQuery(port, name, 16);
  if (!a.parsed || !t.parsed) return "no answer";
  std::sort(a.a.begin(), a.a.end());
  std::sort(t.txt.begin(), t.txt.end());
  std::string s = a.rcode == 3 ? "NXDOMAIN" : fmt::format("rcode {}", a.rcode);
  if (t.rcode != a.rcode) s += fmt::format(" (TXT rcode {})", t.rcode);
  for (const auto& x : a.a)
    s += " A:" + x;
  for (const auto& x : t.txt)
    s += " TXT:" + x;
  return s;
}

// What rbldnsd answers where dnsxld answers `ours`: the same, except for a name whose only entry
// is its own `*.name`, which is an empty non-terminal to dnsxld (NODATA, RFC 8020) and NXDOMAIN
// to rbldnsd (docs/rbldnsd.md, "Differences from rbldnsd" 1).
std::string asRbldnsd(const std::string& name, const std::string& ours) {
  if (name == "spam.test.bl.test" || name == "subs.test.bl.test") {
    CHECK(ours == "rcode 0");
    return "NXDOMAIN";
  }
  return ours;
}

// Names worth asking: every edge of the data, mapped and Q-8 names, then random ones.
std::vector<std::string> testNames(uint32_t seed) {
  std::vector<std::string> names;
  for (const char* a :
       {"192.0.2.0",      "192.0.2.10",   "192.0.2.76",  "192.0.2.77",    "192.0.2.78",
        "192.0.2.255",    "192.0.3.0",    "192.0.1.255", "198.51.99.255", "198.51.100.0",
        "198.51.103.255", "198.51.104.0", "3.0.0.0",     "3.255.255.255", "2.255.255.255",
        "4.0.0.0",        "3.1.2.3",      "10.0.0.0",    "10.0.3.7",      "10.0.3.8",
        "10.0.5.5",       "10.0.255.255", "10.1.0.0",    "203.0.113.5",   "203.0.113.127",
        "203.0.113.128",  "127.0.0.1",    "127.0.0.2",   "127.0.0.4",     "127.0.0.10"})
    names.push_back(rev4(ip4(a)) + ".bl.test");
  for (const char* a : {"2001:db8::",
                        "2001:db8::5",
                        "2001:db8::7",
                        "2001:db8::8",
                        "2001:db8:0:ffff:ffff:ffff:ffff:ffff",
                        "2001:db8:1::",
                        "2001:db8:ffff::1",
                        "2001:db8:ffff:1::",
                        "3001::1",
                        "3fff::",
                        "3000::3",
                        "::ffff:192.0.2.5",
                        "::ffff:192.0.2.77",
                        "::ffff:3.4.5.6",
                        "::ffff:127.0.0.2",
                        "::ffff:127.0.0.1",
                        "2002:c000:205::1",
                        "2002:304:506::1",
                        "2002:c000:24d::",
                        "::1"})
    names.push_back(rev6(a) + ".bl.test");
  for (const char* n :
       {"evil.test", "www.evil.test", "sub.evil.test", "a.sub.evil.test", "phish.test",
        "a.phish.test", "b.a.phish.test", "good.phish.test", "x.good.phish.test", "spam.test",
        "a.spam.test", "b.a.spam.test", "test", "invalid", "other.example", "x.test", "subs.test",
        "a.subs.test", "b.a.subs.test"})
    names.push_back(std::string(n) + ".bl.test");
  std::mt19937 gen(seed);
  auto rng = [&] { return static_cast<uint32_t>(gen()); };
  const uint32_t blocks[] = {0x03000000, 0x0a000000, 0xc0000200, 0xc6336400, 0xcb007100};
  const uint32_t masks[] = {0xffffff, 0xffff, 0xff, 0x3ff, 0xff};
  for (int i = 0; i < 150; ++i) {
    const size_t b = rng() % 5;
    names.push_back(rev4(blocks[b] | (rng() & masks[b])) + ".bl.test");
    names.push_back(rev4(rng()) + ".bl.test");
  }
  for (int i = 0; i < 60; ++i) {
    char text[64];
    std::snprintf(text, sizeof text, "2001:db8:%x:%x::%x", rng() % 3 == 0 ? 0U : rng() & 0xffffU,
                  rng() & 0xffffU, rng() & 0xffffU);
    names.push_back(rev6(text) + ".bl.test");
    std::snprintf(text, sizeof text, "%x:%x::%x", rng() & 0xffffU, rng() & 0xffffU,
                  rng() & 0xffffU);
    names.push_back(rev6(text) + ".bl.test");
  }
  return names;
}

// NSD's server section for a test: 127.0.0.1@port, every file under dir, no control socket.
std::string nsdServer(uint16_t port, const std::string& dir) {
  return fmt::format(R"(server:
  ip-address: 127.0.0.1@{0}
  port: {0}
  username: ""
  chroot: ""
  database: ""
  zonelistfile: "{1}/zone.list"
  pidfile: "{1}/nsd.pid"
  xfrdfile: "{1}/xfrd.state"
  xfrdir: "{1}"
  zonesdir: "{1}"
  server-count: 1
  verbosity: 2
  rrl-ratelimit: 0
remote-control:
  control-enable: no
)",
                     port, dir);
}

// Knot's server, database and log sections for a test: 127.0.0.1@port, every file under dir.
std::string knotServer(uint16_t port, const std::string& dir) {
  return fmt::format(R"(server:
  listen: 127.0.0.1@{0}
  rundir: "{1}"
database:
  storage: "{1}/knotdb"
log:
  - target: stderr
    any: info
)",
                     port, dir);
}

} // namespace

TEST_CASE("NSD and Knot serving the exported zone answer as dnsxld does", "[interop][export]") {
  test::Fixture f(kZone, {{"dyn.txt", kDyn}, {"abuse.txt", kAbuse}, {"dom.txt", kDom}});
  f.importOk();
  const auto zoneFile = f.dir / "bl.test.zone";
  auto ex = test::run({test::dnsxlBinary(), "export", "-c", f.configPath.string(), "--zone",
                       "bl.test", "-o", zoneFile.string()});
  INFO(ex.err);
  REQUIRE(ex.status == 0);
  // the master file is what the other implementations accept
  auto named = test::run({"/usr/bin/named-checkzone", "bl.test", zoneFile.string()});
  INFO(named.out);
  CHECK(named.status == 0);
  auto nsdCheck = test::run({"/usr/sbin/nsd-checkzone", "bl.test", zoneFile.string()});
  INFO(nsdCheck.out << nsdCheck.err);
  CHECK(nsdCheck.status == 0);

  // a zone that needs more records than allowed is refused, and no file is left behind
  const auto small = f.dir / "small.zone";
  auto refused = test::run({test::dnsxlBinary(), "export", "-c", f.configPath.string(), "--zone",
                            "bl.test", "-o", small.string(), "--max-records", "100"});
  CHECK(refused.status == 1);
  CHECK(refused.err.find("needs more than 100 records") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(small));
  for (const auto& e : std::filesystem::directory_iterator(f.dir.path()))
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
  CHECK(test::run({test::dnsxlBinary(), "export", "-c", f.configPath.string(), "--zone", "nosuch"})
            .status == 1);

  test::Daemon d(f.configPath);
  const uint16_t nsdPort = test::freePort();
  f.dir.write("nsd.conf",
              nsdServer(nsdPort, f.dir.path().string()) +
                  fmt::format("zone:\n  name: bl.test\n  zonefile: \"{}\"\n", zoneFile.string()));
  test::Process nsd({"/usr/sbin/nsd", "-d", "-c", (f.dir / "nsd.conf").string()});
  const uint16_t knotPort = test::freePort();
  f.dir.write("knot.conf", fmt::format(R"(server:
  listen: 127.0.0.1@{0}
  rundir: "{1}"
database:
  storage: "{1}/knotdb"
log:
  - target: stderr
    any: warning
zone:
  - domain: bl.test
    file: "{2}"
    storage: "{1}"
    zonefile-sync: -1
    journal-content: none
)",
                                       knotPort, f.dir.path().string(), zoneFile.string()));
  std::filesystem::create_directories(f.dir / "knotdb"); // Knot keeps its IXFR journal there
  test::Process knot({"/usr/sbin/knotd", "-c", (f.dir / "knot.conf").string()});
  REQUIRE(test::waitForAnswer(nsdPort, "bl.test", std::chrono::seconds(10)));
  INFO("nsd: " << nsd.output());
  REQUIRE(test::waitForAnswer(knotPort, "bl.test", std::chrono::seconds(10)));
  INFO("knot: " << knot.output());

  // What they must agree on, pinned here too: `*.subs.test` makes subs.test an empty
  // non-terminal (RFC 8020), and the data's own `test` and 127.0.0.2 replace the test points'.
  CHECK(answerOf(d.port(), "subs.test.bl.test") == "rcode 0");
  CHECK(answerOf(d.port(), "test.bl.test") == "rcode 0 A:127.0.0.7 TXT:our own test name");
  CHECK(answerOf(d.port(), "2.0.0.127.bl.test") == "rcode 0 A:127.0.0.2 TXT:our own test address");
  const uint32_t seed = test::seed();
  INFO("seed " << seed);
  const auto names = testNames(seed);
  size_t compared = 0;
  for (const auto& name : names) {
    const auto ours = answerOf(d.port(), name);
    INFO(name << "\n  dnsxld: " << ours);
    CHECK(answerOf(nsdPort, name) == ours);
    CHECK(answerOf(knotPort, name) == ours);
    ++compared;
  }
  CHECK(compared > 450);
}

TEST_CASE("NSD and Knot as secondaries of dnsxld: AXFR, the same answers, NOTIFY after a change",
          "[interop][axfr]") {
  test::Fixture f(kZone, {{"dyn.txt", kDyn}, {"abuse.txt", kAbuse}, {"dom.txt", kDom}});
  const uint16_t nsdPort = test::freePort();
  uint16_t knotPort = test::freePort();
  while (knotPort == nsdPort)
    knotPort = test::freePort();
  f.dir.write("dnsxl.toml", fmt::format("[server]\nstore = \"store\"\nnotify = [\"127.0.0.1:{}\", "
                                        "\"127.0.0.1:{}\"]\nnotify_retry_ms = 500\n{}",
                                        nsdPort, knotPort, kZone));
  f.importOk();
  test::Daemon d(f.configPath);
  const auto dir = f.dir.path().string();
  f.dir.write("nsd.conf", nsdServer(nsdPort, dir) + fmt::format(R"(zone:
  name: bl.test
  zonefile: "{0}/nsd-bl.test.zone"
  request-xfr: AXFR 127.0.0.1@{1} NOKEY
  allow-notify: 127.0.0.1 NOKEY
)",
                                                                dir, d.port()));
  test::Process nsd({"/usr/sbin/nsd", "-d", "-c", (f.dir / "nsd.conf").string()});
  f.dir.write("knot.conf", knotServer(knotPort, dir) + fmt::format(R"(remote:
  - id: primary
    address: 127.0.0.1@{1}
acl:
  - id: notify
    address: 127.0.0.1
    action: notify
zone:
  - domain: bl.test
    master: primary
    acl: notify
    storage: "{0}"
    file: "knot-bl.test.zone"
)",
                                                                   dir, d.port()));
  std::filesystem::create_directories(f.dir / "knotdb"); // Knot keeps its IXFR journal there
  test::Process knot({"/usr/sbin/knotd", "-c", (f.dir / "knot.conf").string()});
  // transferred once the secondary answers the zone's SOA authoritatively
  auto transferred = [&](uint16_t port) {
    for (int i = 0; i < 200; ++i) {
      auto r = test::udpQuery(port, "bl.test", 6);
      if (r.parsed && r.rcode == 0 && r.aa && !r.answer.empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  INFO("dnsxld: " << d.readStderr(std::chrono::milliseconds(10)));
  REQUIRE(transferred(nsdPort));
  INFO("nsd: " << nsd.output());
  REQUIRE(transferred(knotPort));
  INFO("knot: " << knot.output());
  CHECK(test::udpQuery(nsdPort, "bl.test", 6).answer ==
        test::udpQuery(d.port(), "bl.test", 6).answer);

  const uint32_t seed = test::seed();
  INFO("seed " << seed);
  size_t compared = 0;
  for (const auto& name : testNames(seed)) {
    const auto ours = answerOf(d.port(), name);
    INFO(name << "\n  dnsxld: " << ours);
    CHECK(answerOf(nsdPort, name) == ours);
    CHECK(answerOf(knotPort, name) == ours);
    ++compared;
  }
  CHECK(compared > 450);

  // A change: dnsxld NOTIFYs both, they transfer again and answer the new state.
  const auto cfg = f.configPath.string();
  REQUIRE(test::run({test::dnsxlBinary(), "add", "-c", cfg, "-d", "abuse", "198.18.7.7", "--reason",
                     "new listing"})
              .status == 0);
  REQUIRE(test::run({test::dnsxlBinary(), "delist", "-c", cfg, "-d", "dyn", "192.0.2.5", "--reason",
                     "fixed"})
              .status == 0);
  const auto added = answerOf(d.port(), "7.7.18.198.bl.test");
  const auto removed = answerOf(d.port(), "5.2.0.192.bl.test");
  CHECK(added == "rcode 0 A:127.0.0.2 TXT:new listing");
  CHECK(removed == "NXDOMAIN");
  auto caughtUp = [&](uint16_t port) {
    for (int i = 0; i < 300; ++i) {
      if (answerOf(port, "7.7.18.198.bl.test") == added &&
          answerOf(port, "5.2.0.192.bl.test") == removed)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  const bool nsdCaughtUp = caughtUp(nsdPort), knotCaughtUp = caughtUp(knotPort);
  INFO("after the change, nsd: " << nsd.output() << "\nknot: " << knot.output()
                                 << "\ndnsxld: " << d.readStderr(std::chrono::milliseconds(10)));
  CHECK(nsdCaughtUp);
  CHECK(knotCaughtUp);
  CHECK(test::udpQuery(knotPort, "bl.test", 6).answer ==
        test::udpQuery(d.port(), "bl.test", 6).answer);
}

TEST_CASE("dnsxl snapshot through an rsync daemon (deploy/rsyncd.conf): a mirror dnsxld answers "
          "identically",
          "[interop][rsync]") {
  test::Fixture f(kZone, {{"dyn.txt", kDyn}, {"abuse.txt", kAbuse}, {"dom.txt", kDom}});
  f.importOk();
  const auto published = f.dir / "published";
  auto snap =
      test::run({test::dnsxlBinary(), "snapshot", "-c", f.configPath.string(), published.string()});
  INFO(snap.err);
  REQUIRE(snap.status == 0);
  CHECK(snap.out.find("bl.test ") != std::string::npos);
  // and the rbldnsd files, for mirrors still on rbldnsd
  auto ex = test::run({test::dnsxlBinary(), "export", "-c", f.configPath.string(), "--format",
                       "rbldnsd", "-o", (published / "rbldnsd").string()});
  REQUIRE(ex.status == 0);
  std::vector<std::string> specs;
  std::istringstream specLines(ex.out);
  for (std::string s; std::getline(specLines, s);)
    if (!s.empty()) specs.push_back(s);
  // the daemon, configured by deploy/rsyncd.conf with this test's paths and user
  std::ifstream in(std::string(DNSXL_SOURCE_DIR) + "/deploy/rsyncd.conf");
  std::string conf, line;
  while (std::getline(in, line)) {
    if (line.starts_with("path ="))
      line = "path = " + published.string();
    else if (line.starts_with("uid =") || line.starts_with("gid ="))
      line = line.substr(0, 3) + " = root";
    else if (line.starts_with("use chroot"))
      line = "use chroot = no";
    conf += line + "\n";
  }
  conf = "pid file = " + (f.dir / "rsyncd.pid").string() + "\n" + conf;
  f.dir.write("rsyncd.conf", conf);
  const uint16_t port = test::freePort();
  test::Process rsyncd({"/usr/bin/rsync", "--daemon", "--no-detach", "--address=127.0.0.1",
                        fmt::format("--port={}", port),
                        "--config=" + (f.dir / "rsyncd.conf").string()});
  const auto mirror = f.dir / "mirror";
  test::RunResult pulled;
  for (int i = 0; i < 50; ++i) { // until the daemon listens
    pulled = test::run({"/usr/bin/rsync", "-a", "--delay-updates",
                        fmt::format("rsync://127.0.0.1:{}/dnsxl/", port), mirror.string() + "/"});
    if (pulled.status == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(pulled.err << rsyncd.output());
  REQUIRE(pulled.status == 0);
  auto check =
      test::run({"/bin/sh", "-c", "cd " + mirror.string() + " && sha256sum -c data.mdb.sha256"});
  CHECK(check.status == 0);
  std::ifstream serials(mirror / "SERIALS");
  std::string zone;
  uint32_t serial = 0;
  serials >> zone >> serial;
  CHECK(zone == "bl.test");

  // the mirror: the same config, the rsynced store
  std::ifstream orig(f.configPath);
  std::string text((std::istreambuf_iterator<char>(orig)), std::istreambuf_iterator<char>());
  text.replace(text.find("store = \"store\""), 15, "store = \"mirror\"");
  const auto mirrorConfig = f.dir.write("mirror.toml", text);
  test::Daemon primary(f.configPath);
  test::Daemon copy(mirrorConfig);
  CHECK(test::udpQuery(copy.port(), "bl.test", 6).answer ==
        test::udpQuery(primary.port(), "bl.test", 6).answer);
  // an rbldnsd mirror serving the rsynced rbldnsd files
  namespace fs = std::filesystem;
  for (const auto& p : {f.dir.path(), mirror, mirror / "rbldnsd"})
    fs::permissions(p, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
  for (const auto& e : fs::directory_iterator(mirror / "rbldnsd"))
    fs::permissions(e.path(), fs::perms::others_read, fs::perm_options::add);
  const uint16_t rbPort = test::freePort();
  std::vector<std::string> argv = {
      "/usr/sbin/rbldnsd",          "-n", "-b", fmt::format("127.0.0.1/{}", rbPort), "-w",
      (mirror / "rbldnsd").string()};
  if (::geteuid() == 0) argv.insert(argv.end(), {"-u", "nobody"});
  argv.insert(argv.end(), specs.begin(), specs.end());
  test::Process rbldnsd(argv);
  REQUIRE(test::waitForAnswer(rbPort, "bl.test", std::chrono::seconds(10)));
  const uint32_t seed = test::seed();
  INFO("seed " << seed);
  for (const auto& name : testNames(seed)) {
    INFO(name);
    const auto ours = answerOf(primary.port(), name);
    CHECK(answerOf(copy.port(), name) == ours);
    CHECK(answerOf(rbPort, name) == asRbldnsd(name, ours));
  }
}

// A secondary's configuration from deploy/secondaries/, with the example's primary, zone, paths
// and secret swapped for this test's.
std::string deployed(const std::string& file, uint16_t primaryPort, const std::string& dir,
                     const std::string& secret) {
  std::ifstream in(std::string(DNSXL_SOURCE_DIR) + "/deploy/secondaries/" + file);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE_FALSE(s.empty());
  auto swap = [&s](const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
  };
  swap("192.0.2.1@53", fmt::format("127.0.0.1@{}", primaryPort));
  swap("192.0.2.1 port 53", fmt::format("127.0.0.1 port {}", primaryPort));
  swap("192.0.2.1", "127.0.0.1");
  swap("bl.example.org", "bl.test");
  for (const char* path : {"/var/lib/nsd", "/var/lib/knot", "/var/cache/bind"})
    swap(path, dir);
  swap("REPLACE-WITH-BASE64-SECRET", secret);
  return s;
}

TEST_CASE("TSIG (hmac-sha256) with the configurations of deploy/secondaries: NSD, Knot and BIND "
          "transfer with the key, accept the signed NOTIFY; unsigned transfers are refused",
          "[interop][tsig]") {
  test::Fixture f(kZone, {{"dyn.txt", kDyn}, {"abuse.txt", kAbuse}, {"dom.txt", kDom}});
  const char* secret = "zW8o5QGsGR2QBNjJ0F0T1QXzC9cFSyUMH5mJgS2B0Wo=";
  std::vector<uint16_t> ports;
  while (ports.size() < 3) {
    const uint16_t p = test::freePort();
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  }
  const uint16_t nsdPort = ports[0], knotPort = ports[1], bindPort = ports[2];
  f.dir.write("dnsxl.toml",
              fmt::format("[server]\nstore = \"store\"\nnotify = [\"127.0.0.1:{}\", "
                          "\"127.0.0.1:{}\", \"127.0.0.1:{}\"]\nnotify_retry_ms = 500\n"
                          "tsig_keys = [{{ name = \"dnsxl-xfr\", algorithm = \"hmac-sha256\", "
                          "secret = \"{}\" }}]\ntransfer_key = \"dnsxl-xfr\"\n{}",
                          nsdPort, knotPort, bindPort, secret, kZone));
  f.importOk();
  test::Daemon d(f.configPath);
  const auto dir = f.dir.path().string();
  // unsigned: refused, though the address is allowed
  auto plain = test::tcpExchange(d.port(), test::makeQuery("bl.test", dns::kTypeAXFR));
  REQUIRE(plain);
  CHECK(test::parseReply(*plain).rcode == dns::kRefused);

  f.dir.write("nsd.conf", nsdServer(nsdPort, dir) + deployed("nsd.conf", d.port(), dir, secret));
  test::Process nsd({"/usr/sbin/nsd", "-d", "-c", (f.dir / "nsd.conf").string()});
  f.dir.write("knot.conf",
              knotServer(knotPort, dir) + deployed("knot.conf", d.port(), dir, secret));
  std::filesystem::create_directories(f.dir / "knotdb"); // Knot keeps its IXFR journal there
  test::Process knot({"/usr/sbin/knotd", "-c", (f.dir / "knot.conf").string()});
  f.dir.write("named.conf", fmt::format(R"(options {{
  directory "{1}";
  pid-file "{1}/named.pid";
  listen-on port {0} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  dnssec-validation no;
  notify no;
}};
controls {{ }};
)",
                                        bindPort, dir) +
                                deployed("named.conf", d.port(), dir, secret));
  test::Process named({"/usr/sbin/named", "-g", "-c", (f.dir / "named.conf").string()});
  auto transferred = [&](uint16_t port) {
    for (int i = 0; i < 200; ++i) {
      auto r = test::udpQuery(port, "bl.test", 6);
      if (r.parsed && r.rcode == 0 && r.aa && !r.answer.empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  const bool nsdReady = transferred(nsdPort), knotReady = transferred(knotPort),
             bindReady = transferred(bindPort);
  INFO("nsd: " << nsd.output() << "\nknot: " << knot.output() << "\nnamed: " << named.output());
  REQUIRE(nsdReady);
  REQUIRE(knotReady);
  REQUIRE(bindReady);
  const uint32_t seed = test::seed();
  INFO("seed " << seed);
  for (const auto& name : testNames(seed)) {
    const auto ours = answerOf(d.port(), name);
    INFO(name << "\n  dnsxld: " << ours);
    CHECK(answerOf(nsdPort, name) == ours);
    CHECK(answerOf(knotPort, name) == ours);
    CHECK(answerOf(bindPort, name) == ours);
  }
  // a change: the signed NOTIFY is accepted (these secondaries take signed ones only)
  REQUIRE(test::run({test::dnsxlBinary(), "add", "-c", f.configPath.string(), "-d", "abuse",
                     "198.18.7.7", "--reason", "new listing"})
              .status == 0);
  const auto added = answerOf(d.port(), "7.7.18.198.bl.test");
  auto caughtUp = [&](uint16_t port) {
    for (int i = 0; i < 300; ++i) {
      if (answerOf(port, "7.7.18.198.bl.test") == added) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  CHECK(caughtUp(nsdPort));
  CHECK(caughtUp(knotPort));
  CHECK(caughtUp(bindPort));
  // the change went by IXFR from the journal (RFC 1995), not as the whole zone
  const auto knotLog = knot.output();
  INFO("knot: " << knotLog);
  CHECK(knotLog.find("IXFR, incoming") != std::string::npos);
  CHECK(knotLog.find("fallback to AXFR") == std::string::npos);
}

TEST_CASE("dnsxl export --format rbldnsd: Debian's rbldnsd serving the files answers as dnsxld",
          "[interop][rbldnsd-export]") {
  test::Fixture f(kZone, {{"dyn.txt", kDyn}, {"abuse.txt", kAbuse}, {"dom.txt", kDom}});
  f.importOk();
  const auto out = f.dir / "rbldnsd";
  auto ex = test::run({test::dnsxlBinary(), "export", "-c", f.configPath.string(), "--format",
                       "rbldnsd", "-o", out.string()});
  INFO(ex.err);
  REQUIRE(ex.status == 0);
  std::vector<std::string> specs;
  std::istringstream lines(ex.out);
  for (std::string s; std::getline(lines, s);)
    if (!s.empty()) specs.push_back(s);
  REQUIRE(specs.size() >= 4);
  // rbldnsd drops to nobody: let it read the files
  namespace fs = std::filesystem;
  fs::permissions(f.dir.path(), fs::perms::others_read | fs::perms::others_exec,
                  fs::perm_options::add);
  fs::permissions(out, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
  for (const auto& e : fs::directory_iterator(out))
    fs::permissions(e.path(), fs::perms::others_read, fs::perm_options::add);
  const uint16_t port = test::freePort();
  std::vector<std::string> argv = {
      "/usr/sbin/rbldnsd", "-n", "-b", fmt::format("127.0.0.1/{}", port), "-w", out.string()};
  if (::geteuid() == 0) argv.insert(argv.end(), {"-u", "nobody"});
  argv.insert(argv.end(), specs.begin(), specs.end());
  test::Process rbldnsd(argv);
  REQUIRE(test::waitForAnswer(port, "bl.test", std::chrono::seconds(10)));
  INFO("rbldnsd: " << rbldnsd.output());
  test::Daemon d(f.configPath);
  CHECK(test::udpQuery(port, "bl.test", 6).answer == test::udpQuery(d.port(), "bl.test", 6).answer);
  const uint32_t seed = test::seed();
  INFO("seed " << seed);
  for (const auto& name : testNames(seed)) {
    INFO(name);
    CHECK(answerOf(port, name) == asRbldnsd(name, answerOf(d.port(), name)));
  }
}
