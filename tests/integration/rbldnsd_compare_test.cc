// Debian's rbldnsd and dnsxld on the same data files, asked the same questions: rcode, A set and
// TXT set must agree, except where dnsxl does better by design (README "Differences from
// rbldnsd"): NODATA instead of NXDOMAIN for empty non-terminals.
#include "tests/support/fixture.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <csignal>
#include <fmt/format.h>
#include <fstream>
#include <netinet/in.h>
#include <random>
#include <set>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <zlib.h>

using namespace dnsxl;
using namespace std::chrono_literals;

namespace {

constexpr const char* kRbldnsd = "/usr/sbin/rbldnsd";

struct Question {
  std::string name;
  uint16_t type;
  bool mayBeEnt = false; // dnsxl may say NODATA where rbldnsd says NXDOMAIN (RFC 8020)
};

uint16_t freeUdpPort() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(u, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(u, reinterpret_cast<sockaddr*>(&sa), &len);
    ::close(u);
    uint16_t port = ntohs(sa.sin_port);
    if (port != 0) return port;
  }
  return 0;
}

class Rbldnsd {
public:
  Rbldnsd(const std::filesystem::path& dir, const std::vector<std::string>& zones) {
    d_port = freeUdpPort();
    std::vector<std::string> argv = {
        kRbldnsd, "-n", "-b", fmt::format("127.0.0.1/{}", d_port), "-w", dir.string()};
    if (::geteuid() == 0) argv.insert(argv.end(), {"-u", "nobody"});
    argv.insert(argv.end(), zones.begin(), zones.end());
    d_pid = ::fork();
    if (d_pid == 0) {
      std::vector<char*> args;
      for (auto& a : argv)
        args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(kRbldnsd, args.data());
      ::_exit(127);
    }
    // Ready when it answers.
    for (int i = 0; i < 100; ++i) {
      if (test::udpExchange(d_port, test::makeQuery("ready.invalid", 1), 50ms)) return;
      std::this_thread::sleep_for(50ms);
    }
  }
  ~Rbldnsd() {
    ::kill(d_pid, SIGTERM);
    ::waitpid(d_pid, nullptr, 0);
  }
  uint16_t port() const { return d_port; }

private:
  pid_t d_pid = -1;
  uint16_t d_port = 0;
};

std::string rev4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a & 255, (a >> 8) & 255, (a >> 16) & 255, a >> 24);
}
std::string ip4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

// A value suffix in rbldnsd syntax, chosen at random.
struct Rng {
  explicit Rng(unsigned seed) : e(seed) {}
  std::mt19937 e;
  uint32_t operator()() { return static_cast<uint32_t>(e()); }
};

std::string randomValue(Rng& rng, int i) {
  switch (rng() % 6) {
  case 0:
    return "";
  case 1:
    return fmt::format(" :{}", 2 + rng() % 20);
  case 2:
    return fmt::format(" :{}:", 2 + rng() % 20);
  case 3:
    return fmt::format(" :{}:entry {} for $", 2 + rng() % 20, i);
  case 4:
    return fmt::format(" text {} about $ and $$", i);
  default:
    return fmt::format(":127.0.0.{}:tight {}", 2 + rng() % 20, i);
  }
}

struct Generated {
  std::string ip4set, ip4trie, dnset, ip6trie, ip4tset, ip6tset;
  std::vector<Question> questions;
};

Generated generate(unsigned seed) {
  Rng rng(seed);
  Generated g;
  auto ask4 = [&](const std::string& zone, uint32_t a) {
    g.questions.push_back({rev4(a) + "." + zone, static_cast<uint16_t>(rng() % 3 == 0 ? 16 : 255)});
  };
  // ip4set: addresses, prefixes, CIDRs, both range forms, exclusions and default lines
  // in 10.100/16.
  const uint32_t base = 0x0a640000;
  for (int i = 0; i < 400; ++i) {
    if (rng() % 25 == 0) g.ip4set += fmt::format(":{}:default {} $\n", 2 + rng() % 20, i);
    uint32_t a = base | (rng() & 0xffff);
    uint32_t lo = a, hi = a;
    std::string key;
    switch (rng() % 6) {
    case 0:
      key = ip4(a);
      break;
    case 1:
      lo = a & 0xffffff00, hi = lo | 0xff;
      key = fmt::format("{}.{}.{}", lo >> 24, (lo >> 16) & 255, (lo >> 8) & 255);
      break;
    case 2: {
      int bits = 22 + static_cast<int>(rng() % 11);
      uint32_t m = ~uint32_t{0} << (32 - bits);
      lo = a & m, hi = lo | ~m;
      key = fmt::format("{}/{}", ip4(lo), bits);
      break;
    }
    case 3: {
      uint32_t end = std::min<uint32_t>(255, (a & 255) + rng() % 40);
      hi = (a & 0xffffff00) | end;
      key = fmt::format("{}-{}", ip4(a), end);
      break;
    }
    case 4:
      hi = std::min<uint32_t>(base | 0xffff, a + rng() % 700);
      key = fmt::format("{}-{}", ip4(a), ip4(hi));
      break;
    default:
      key = "!" + ip4(a & (rng() % 2 ? 0xffffff00 : 0xffffffff));
    }
    g.ip4set += key + (key[0] == '!' ? "" : randomValue(rng, i)) + "\n";
    for (uint32_t q : {lo - 1, lo, hi, hi + 1})
      ask4("gen.test", q);
  }
  for (int i = 0; i < 600; ++i)
    ask4("gen.test", base | (rng() & 0xffff));
  for (int i = 0; i < 60; ++i) {
    uint32_t a = base | (rng() & 0xffff);
    g.questions.push_back(
        {fmt::format("{}.{}.10.gen.test", (a >> 8) & 255, (a >> 16) & 255), 1, true});
  }

  // ip4trie: prefixes /12../32 in 172.16/12, exclusions, duplicates.
  const uint32_t tbase = 0xac100000;
  for (int i = 0; i < 300; ++i) {
    int bits = 12 + static_cast<int>(rng() % 21);
    uint32_t m = ~uint32_t{0} << (32 - bits);
    uint32_t lo = (tbase | (rng() & 0xfffff)) & m;
    std::string key = fmt::format("{}/{}", ip4(lo), bits);
    bool excl = rng() % 5 == 0;
    g.ip4trie += (excl ? "!" : "") + key + (excl ? "" : randomValue(rng, i)) + "\n";
    for (uint32_t q : {lo - 1, lo, lo | ~m, (lo | ~m) + 1})
      ask4("gtrie.test", q);
  }
  for (int i = 0; i < 400; ++i)
    ask4("gtrie.test", tbase | (rng() & 0xfffff));

  // dnset: exact, *.name, .name, exclusions, several values per name.
  const char* words[] = {"spam", "evil", "shop", "mail", "cdn", "login", "pay", "x"};
  auto word = [&] { return std::string(words[rng() % 8]); };
  std::vector<std::string> names;
  std::set<std::string> keys, belowKeys; // every key; keys with a "*." or "." entry
  for (int i = 0; i < 200; ++i) {
    std::string name = word() + "." + (rng() % 2 ? word() + "." : "") + (rng() % 2 ? "com" : "net");
    names.push_back(name);
    std::string prefix[] = {"", "*.", ".", "!", "!*."};
    auto p = prefix[rng() % 5];
    std::string value = p[0] == '!' ? "" : randomValue(rng, i);
    if (!value.empty() && value[0] == ':') value = " " + value; // a domain key ends at a blank
    g.dnset += p + name + value + "\n";
    keys.insert(name);
    if (p.find('.') != std::string::npos) belowKeys.insert(name);
  }
  // An empty non-terminal: something is listed (or excluded) below the name.
  auto hasBelow = [&](const std::string& q) {
    if (belowKeys.count(q)) return true;
    for (const auto& k : keys)
      if (k.size() > q.size() && k.ends_with("." + q)) return true;
    return false;
  };
  auto askDomain = [&](const std::string& q, uint16_t type) {
    g.questions.push_back({q + ".gdom.test", type, hasBelow(q)});
  };
  for (const auto& n : names) {
    askDomain(n, 255);
    askDomain(word() + "." + n, 16);
    askDomain(word() + "." + word() + "." + n, 1);
    askDomain(n.substr(n.find('.') + 1), 1);
  }

  // ip6trie: prefixes /32../128 in 2001:db8::/32.
  auto nibbles = [](const std::array<uint8_t, 16>& a) {
    std::string s;
    for (int i = 31; i >= 0; --i)
      s += fmt::format("{:x}.", (a[static_cast<size_t>(i / 2)] >> (i % 2 ? 0 : 4)) & 15);
    return s;
  };
  for (int i = 0; i < 150; ++i) {
    int bits = 32 + static_cast<int>(rng() % 25) * 4;
    std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
    for (size_t k = 4; k < 16; ++k)
      a[k] = static_cast<uint8_t>(rng());
    for (int b = bits; b < 128; ++b)
      a[static_cast<size_t>(b / 8)] &= static_cast<uint8_t>(~(0x80 >> (b % 8)));
    char text[64];
    inet_ntop(AF_INET6, a.data(), text, sizeof text);
    bool excl = rng() % 5 == 0;
    std::string value = excl ? "" : randomValue(rng, i);
    if (!value.empty() && value[0] == ':') value = " " + value; // an IPv6 key ends at a blank
    g.ip6trie += fmt::format("{}{}/{}{}\n", excl ? "!" : "", text, bits, value);
    g.questions.push_back({nibbles(a) + "g6.test", 255});
    auto b = a;
    b[15] ^= 1;
    g.questions.push_back({nibbles(b) + "g6.test", 16});
  }
  // ip4tset: addresses in 10.50/16 sharing the first default line; values after them ignored.
  g.ip4tset = ":127.0.0.20:tset $\n:127.0.0.21:ignored\n";
  for (int i = 0; i < 300; ++i) {
    uint32_t a = 0x0a320000 | (rng() & 0x3ff);
    g.ip4tset += ip4(a) + (i % 7 == 0 ? " :22:per-entry value, ignored" : "") + "\n";
    ask4("gtset.test", a);
    ask4("gtset.test", a + 1);
  }
  // ip6tset: /64s in 2001:db8:5::/48 with single-address exclusions.
  g.ip6tset = ":127.0.0.14:v6 tset $\n";
  for (int i = 0; i < 100; ++i) {
    std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8,
                              0x00, 0x05, 0,    static_cast<uint8_t>(rng() % 64)};
    char text[64];
    inet_ntop(AF_INET6, a.data(), text, sizeof text);
    std::string prefix = fmt::format("2001:db8:5:{:x}", a[7]);
    g.ip6tset += prefix + "\n";
    a[15] = static_cast<uint8_t>(rng() % 8);
    if (i % 3 == 0) {
      inet_ntop(AF_INET6, a.data(), text, sizeof text);
      g.ip6tset += std::string("!") + text + "\n";
    }
    g.questions.push_back({nibbles(a) + "g6tset.test", 255});
    a[15] = static_cast<uint8_t>(rng() % 8);
    g.questions.push_back({nibbles(a) + "g6tset.test", 1});
  }
  return g;
}

std::vector<Question> probeQuestions() {
  std::vector<Question> q;
  for (auto n : {"1.0.0.10",  "7.0.0.10",  "9.0.0.10",   "3.2.1.10",    "51.2.1.10",   "99.3.2.10",
                 "5.4.3.10",  "5.0.5.10",  "6.0.5.10",   "127.2.0.192", "128.2.0.192", "5.0.6.10",
                 "6.0.6.10",  "7.0.6.10",  "8.0.6.10",   "1.0.7.10",    "5.1.8.10",    "5.2.8.10",
                 "5.5.9.10",  "6.1.9.10",  "5.1.9.10",   "1.0.12.10",   "1.0.13.10",   "2.0.13.10",
                 "1.0.10.10", "01.0.0.10", "1.1.0.0.10", "foo",         "256.0.0.10",  "1.0.11.10"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}, uint16_t{28}})
      q.push_back({std::string(n) + ".bl.test", t});
  q.push_back({"0.0.10.bl.test", 1, true});
  for (auto n : {"1.0.80.10", "2.0.80.10", "3.0.80.10", "4.0.80.10", "5.0.80.10", "6.0.80.10",
                 "1.0.81.10", "1.0.82.10", "1.0.83.10", "1.0.84.10"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}})
      q.push_back({std::string(n) + ".tmpl.test", t});
  for (auto n : {"example.com", "foo.wild.test", "evil.net", "www.evil.net", "two.test", "x.y"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}})
      q.push_back({std::string(n) + ".gz.test", t});
  // combined (rbldnsd §10.1 rows 99-121)
  for (auto n : {"1.2.20.10.comb.test",
                 "1.2.20.10.dyn.comb.test",
                 "dyn.comb.test",
                 "www.dyn.comb.test",
                 "v6.comb.test",
                 "v6t.comb.test",
                 "nosuch.comb.test",
                 "spam.example.dom.comb.test",
                 "spam.example.comb.test",
                 "dom.comb.test",
                 "comb.test",
                 "1.2.20.10.v6.comb.test",
                 "9.9.20.10.dom.comb.test",
                 "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.comb.test",
                 "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.comb.test",
                 "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.b.d.0.1.0.0.2.comb.test",
                 "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.b.d.0.1.0.0.2.comb.test",
                 "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.v6t.comb.test",
                 "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.v6t.comb.test",
                 "2.0.1.0.4.1.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.comb.test"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}, uint16_t{28}})
      q.push_back({n, t});
  q.push_back({"8.b.d.0.1.0.0.2.comb.test", 1, true});
  for (auto n :
       {"bl.test", "www.bl.test", "multi.bl.test", "ns1.bl.test", "foo.bl.test", "x.www.bl.test"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{15}, uint16_t{28}, uint16_t{255}})
      q.push_back({n, t});
  q.push_back({"1.0.0.10.BL.Test", 1});
  for (auto n : {"1.0.16.172", "1.5.16.172", "129.5.16.172", "1.0.17.172", "1.1.18.172",
                 "9.2.18.172", "1.0.19.172", "1.0.32.172", "1.0.20.172"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}})
      q.push_back({std::string(n) + ".trie.bl.test", t});
  for (auto n : {"example.com", "sub.example.com", "foo.wild.test", "a.b.wild.test", "wild.test",
                 "both.test", "x.both.test", "good.wild.test", "a.good.wild.test", "evil.net",
                 "www.evil.net", "MiXeD.case.TEST", "two.test", "nothing.test"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}})
      q.push_back({std::string(n) + ".dbl.test", t, std::string(n) == "wild.test"});
  q.push_back({"com.dbl.test", 1, true});
  return q;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

} // namespace

TEST_CASE("dnsxld answers like rbldnsd given the same command line and files", "[rbldnsd]") {
  if (::access(kRbldnsd, X_OK) != 0) FAIL("rbldnsd is not installed (apt-get install rbldnsd)");
  auto g = generate(20261129);
  const std::filesystem::path probe =
      std::filesystem::path(DNSXL_SOURCE_DIR) / "tests/data/rbldnsd-probe";
  test::TempDir dir;
  for (auto name :
       {"ip4set.txt", "ip4set2.txt", "ip4trie.txt", "dnset.txt", "generic.txt", "combined.txt"})
    std::filesystem::copy_file(probe / name, dir / name);
  dir.write("gen4set.txt", g.ip4set);
  dir.write("gen4trie.txt", g.ip4trie);
  dir.write("gendom.txt", g.dnset);
  dir.write("gen6.txt", g.ip6trie);
  dir.write("gen4tset.txt", g.ip4tset);
  // $= base templates (rbldnsd §4.3's verified table), $MAXRANGE4, $TIMESTAMP
  dir.write("tmpl.txt", "$= See http://bl.test/why?$= ($) for details\n"
                        ":127.0.0.2:default-text\n10.80.0.1 r123\n10.80.0.2\n"
                        "10.80.0.3 =Other lists: $\n10.80.0.4 :6:\n10.80.0.5 :7\n"
                        "$MAXRANGE4 /24\n10.81.0.0/16\n10.82.0.0/24\n$MAXRANGE4 /28\n"
                        "10.83.0.0/24\n10.84.0.0/28\n$TIMESTAMP 2026:01:01 +3650d\n");
  {
    // the dnset probe file, gzip-compressed
    std::ifstream in(probe / "dnset.txt", std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    gzFile gz = gzopen((dir / "dnset.txt.gz").c_str(), "wb");
    gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
    gzclose(gz);
  }
  dir.write("gen6tset.txt", g.ip6tset);
  // rbldnsd drops privileges to nobody: let it read the files.
  std::filesystem::permissions(
      dir.path(), std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                      std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                      std::filesystem::perms::others_exec);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.is_regular_file())
      std::filesystem::permissions(e.path(), std::filesystem::perms::others_read,
                                   std::filesystem::perm_options::add);

  const std::vector<std::string> zones = {"bl.test:ip4set:ip4set.txt,ip4set2.txt",
                                          "bl.test:generic:generic.txt",
                                          "comb.test:combined:combined.txt",
                                          "tmpl.test:ip4set:tmpl.txt",
                                          "gz.test:dnset:dnset.txt.gz",
                                          "trie.bl.test:ip4trie:ip4trie.txt",
                                          "dbl.test:dnset:dnset.txt",
                                          "gen.test:ip4set:gen4set.txt",
                                          "gtrie.test:ip4trie:gen4trie.txt",
                                          "gdom.test:dnset:gendom.txt",
                                          "g6.test:ip6trie:gen6.txt",
                                          "gtset.test:ip4tset:gen4tset.txt",
                                          "g6tset.test:ip6tset:gen6tset.txt"};
  Rbldnsd ref(dir.path(), zones);
  REQUIRE(test::udpQuery(ref.port(), "1.0.0.10.bl.test", 1).parsed);
  std::vector<std::string> args = {"-n", "-b", "127.0.0.1/0", "-w", dir.path().string()};
  args.insert(args.end(), zones.begin(), zones.end());
  test::Daemon ours(args, 1);

  auto questions = probeQuestions();
  questions.insert(questions.end(), g.questions.begin(), g.questions.end());
  size_t compared = 0, entImprovements = 0, listed = 0;
  for (const auto& q : questions) {
    auto theirs = test::udpQuery(ref.port(), q.name, q.type);
    auto mine = test::udpQuery(ours.port(), q.name, q.type);
    INFO(q.name << " type " << q.type);
    REQUIRE(theirs.parsed);
    REQUIRE(mine.parsed);
    if (q.mayBeEnt && theirs.rcode == 3 && mine.rcode == 0 && mine.answer.empty()) {
      ++entImprovements;
      continue;
    }
    CHECK(mine.rcode == theirs.rcode);
    CHECK(sorted(mine.a) == sorted(theirs.a));
    CHECK(sorted(mine.txt) == sorted(theirs.txt));
    listed += mine.a.empty() ? size_t{0} : size_t{1};
    ++compared;
  }
  WARN(fmt::format("{} questions compared with rbldnsd ({} listed), {} empty non-terminals "
                   "answered NODATA instead of NXDOMAIN",
                   compared, listed, entImprovements));
  CHECK(compared > 3000);
  CHECK(listed > 500);
}

TEST_CASE("acl: the same actions per client as rbldnsd (rbldnsd §5.9)", "[rbldnsd]") {
  if (::access(kRbldnsd, X_OK) != 0) FAIL("rbldnsd is not installed (apt-get install rbldnsd)");
  const std::filesystem::path probe =
      std::filesystem::path(DNSXL_SOURCE_DIR) / "tests/data/rbldnsd-probe";
  test::TempDir dir;
  for (auto name : {"ip4set.txt", "ip4set2.txt", "generic.txt", "acl.txt", "dnset.txt"})
    std::filesystem::copy_file(probe / name, dir / name);
  dir.write("global.txt", "127.0.0.6 :refuse\n127.0.0.7\n");
  std::filesystem::permissions(
      dir.path(), std::filesystem::perms::others_read | std::filesystem::perms::others_exec,
      std::filesystem::perm_options::add);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    std::filesystem::permissions(e.path(), std::filesystem::perms::others_read,
                                 std::filesystem::perm_options::add);
  const std::vector<std::string> zones = {"bl.test:ip4set:ip4set.txt,ip4set2.txt",
                                          "bl.test:generic:generic.txt", "bl.test:acl:acl.txt",
                                          "dbl.test:dnset:dnset.txt", ":acl:global.txt"};
  Rbldnsd ref(dir.path(), zones);
  std::vector<std::string> args = {"-n", "-b", "127.0.0.1/0", "-w", dir.path().string()};
  args.insert(args.end(), zones.begin(), zones.end());
  test::Daemon ours(args, 1);

  size_t compared = 0;
  for (auto client : {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6",
                      "127.0.0.7", "127.0.0.8"}) {
    test::QueryOptions o;
    o.source = client;
    bool ignored = false;
    for (auto name :
         {"1.0.0.10.bl.test", "9.9.9.9.bl.test", "foo.bl.test", "bl.test", "www.bl.test",
          "example.com.dbl.test", "nothing.dbl.test", "1.0.0.10.dbl.test"})
      for (uint16_t type : {uint16_t{1}, uint16_t{16}, uint16_t{255}, uint16_t{6}}) {
        if (ignored) break;
        INFO(client << " asks " << name << " type " << type);
        auto theirs = test::udpExchange(ref.port(), test::makeQuery(name, type, o),
                                        std::chrono::milliseconds(300), client);
        auto mine = test::udpExchange(ours.port(), test::makeQuery(name, type, o),
                                      std::chrono::milliseconds(300), client);
        REQUIRE(theirs.has_value() == mine.has_value()); // :ignore drops the query
        if (!theirs) {
          ignored = true; // every query of this client is dropped: one check is enough
          break;
        }
        auto t = test::parseReply(*theirs), m = test::parseReply(*mine);
        bool generic = std::string(name) == "bl.test" || std::string(name) == "www.bl.test";
        bool hidden = std::string(client) == "127.0.0.4" || std::string(client) == "127.0.0.5";
        if (generic && hidden && type != 6) {
          // rbldnsd's bug 1: its :empty and always-listed clients lose the generic records.
          CHECK(m.answer.size() > t.answer.size());
          continue;
        }
        CHECK(m.rcode == t.rcode);
        CHECK(sorted(m.a) == sorted(t.a));
        CHECK(sorted(m.txt) == sorted(t.txt));
        ++compared;
      }
  }
  CHECK(compared > 150);
}
