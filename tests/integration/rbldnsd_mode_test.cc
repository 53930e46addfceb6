// dnsxld with rbldnsd's command line: serves a directory of rbldnsd files, re-imports on a
// content change (even one that keeps size and mtime), keeps the last good data when a
// re-import fails, writes rbldnsd's query log and a pid file.
#include "tests/support/fixture.hh"

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <regex>
#include <sys/stat.h>
#include <thread>

using namespace dnsxl;
using namespace std::chrono_literals;

namespace {

// Polls until the answer's rcode is the wanted one (or times out).
int waitForRcode(uint16_t port, const std::string& name, int want, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  int last = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    last = test::udpQuery(port, name, 1).rcode;
    if (last == want) break;
    std::this_thread::sleep_for(100ms);
  }
  return last;
}

} // namespace

TEST_CASE("dnsxld -b ADDR/PORT -w DIR zone:type:files serves rbldnsd files", "[rbldnsd]") {
  test::TempDir dir;
  dir.write("a.txt", "$SOA 1h ns1.bl.example hostmaster.bl.example 0 1h 15m 1w 5m\n"
                     "$NS 1h ns1.bl.example\n:127.0.0.2:Listed $\n10.0.0.0/24\n");
  dir.write("b.txt", "10.1.0.1\n");
  dir.write("d.txt", ":127.0.1.2:Domain $\nexample.com\n");
  auto log = dir / "query.log";
  auto pidfile = dir / "dnsxld.pid";
  auto statsfile = dir / "stats.log";
  test::Daemon d({"-n", "-c", "1", "-b", "127.0.0.1/0", "-w", dir.path().string(), "-l",
                  fmt::format("+{}", log.string()), "-p", pidfile.string(), "-s",
                  statsfile.string(), "bl.example:ip4set:a.txt,b.txt", "dbl.example:dnset:d.txt"},
                 1);
  const auto port = d.port();

  auto r = test::udpQuery(port, "1.0.0.10.bl.example", 16);
  CHECK(r.txt == std::vector<std::string>{"Listed 10.0.0.1"});
  CHECK(test::udpQuery(port, "1.0.1.10.bl.example", 1).a == std::vector<std::string>{"127.0.0.2"});
  CHECK(test::udpQuery(port, "example.com.dbl.example", 16).txt ==
        std::vector<std::string>{"Domain example.com"});
  auto soa = test::tcpQuery(port, "bl.example", 6);
  REQUIRE(soa.answer.size() == 1);
  CHECK(soa.answer[0].find("ns1.bl.example. hostmaster.bl.example.") != std::string::npos);
  // `$SOA ... 0 ...`: the serial is the newest modification time of the zone's files (rbldnsd)
  time_t newest = 0;
  for (auto name : {"a.txt", "b.txt"}) {
    struct stat st {};
    REQUIRE(::stat((dir / name).c_str(), &st) == 0);
    newest = std::max(newest, st.st_mtime);
  }
  CHECK(soa.answer[0].find(fmt::format(" {} ", newest)) != std::string::npos);
  CHECK(test::udpQuery(port, "9.9.9.9.dbl.example", 1).rcode == 3);

  std::ifstream pidIn(pidfile);
  int pid = 0;
  pidIn >> pid;
  CHECK(pid == d.pid());

  // A same-size edit that restores the modification time: rbldnsd misses it, dnsxld does not.
  struct stat before {};
  REQUIRE(::stat((dir / "b.txt").c_str(), &before) == 0);
  dir.write("b.txt", "10.1.0.2\n");
  timespec times[2] = {before.st_atim, before.st_mtim};
  REQUIRE(::utimensat(AT_FDCWD, (dir / "b.txt").c_str(), times, 0) == 0);
  CHECK(waitForRcode(port, "1.0.1.10.bl.example", 3, 10s) == 3);
  CHECK(test::udpQuery(port, "2.0.1.10.bl.example", 1).a == std::vector<std::string>{"127.0.0.2"});

  // A file goes missing: the re-import fails and the last good data stays.
  std::filesystem::remove(dir / "d.txt");
  d.readStderr(3s);
  CHECK(d.stderrText().find("d.txt: cannot open file") != std::string::npos);
  CHECK(d.stderrText().find("still serving the last good data") != std::string::npos);
  CHECK(test::udpQuery(port, "example.com.dbl.example", 1).a ==
        std::vector<std::string>{"127.0.1.2"});

  CHECK(d.stop() == 0);
  CHECK_FALSE(std::filesystem::exists(pidfile));

  // rbldnsd's statistics file: a bare timestamp at start and end, counter lines in between.
  std::ifstream st(statsfile);
  std::vector<std::string> lines;
  for (std::string l; std::getline(st, l);)
    lines.push_back(l);
  REQUIRE(lines.size() >= 3);
  CHECK(std::regex_match(lines.front(), std::regex(R"(\d+)")));
  CHECK(std::regex_match(lines.back(), std::regex(R"(\d+)")));
  const auto& final = lines[lines.size() - 2];
  INFO(final);
  CHECK(std::regex_search(final, std::regex(R"( bl\.example:\d+:\d+:\d+:\d+:\d+ )")));
  CHECK(std::regex_search(final, std::regex(R"( dbl\.example:\d+:\d+:1:\d+:\d+ )")));
  CHECK(std::regex_search(final, std::regex(R"( \*:\d+:\d+:\d+:\d+:\d+$)")));
  std::ifstream in(log);
  std::string first;
  std::getline(in, first);
  INFO("query log: " << first);
  CHECK(std::regex_match(first, std::regex(R"(\d+ 127\.0\.0\.1 1\.0\.0\.10\.bl\.example TXT IN: )"
                                           R"(NOERROR/1/\d+)")));
}

TEST_CASE("a failing first load exits non-zero with file:line", "[rbldnsd]") {
  test::TempDir dir;
  auto r = test::run({test::dnsxldBinary(), "-n", "-b", "127.0.0.1/0", "-w", dir.path().string(),
                      "bl.example:ip4set:missing.txt"});
  CHECK(r.status == 1);
  CHECK(r.err.find("missing.txt: cannot open file") != std::string::npos);
  auto usage = test::run({test::dnsxldBinary(), "-b", "127.0.0.1/0", "-X", "x", "z:ip4set:f"});
  CHECK(usage.status == 2);
  CHECK(usage.err.find("not supported by dnsxld") != std::string::npos);
}

TEST_CASE("-r: the server chroots into the data root; a helper outside re-imports", "[rbldnsd]") {
  test::TempDir dir;
  dir.write("data/a.txt", "10.0.0.0/24\n");
  // LeakSanitizer needs /proc, which a chroot hides: no leak check for this daemon (ASan build).
  ::setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
  test::Daemon d({"-n", "-c", "1", "-r", dir.path().string(), "-w", "/data", "-b", "127.0.0.1/0",
                  "-s", "/stats.log", "bl.example:ip4set:a.txt"},
                 1);
  CHECK(test::udpQuery(d.port(), "1.0.0.10.bl.example", 1).a ==
        std::vector<std::string>{"127.0.0.2"});
  std::error_code ec;
  auto root = std::filesystem::read_symlink(fmt::format("/proc/{}/root", d.pid()), ec);
  CHECK(root == dir.path()); // chrooted
  dir.write("data/a.txt", "10.0.1.0/24\n");
  CHECK(waitForRcode(d.port(), "1.0.0.10.bl.example", 3, 10s) == 3); // re-imported outside
  CHECK(test::udpQuery(d.port(), "1.1.0.10.bl.example", 1).rcode == 0);
  CHECK(d.stop() == 0);
  ::unsetenv("ASAN_OPTIONS");
  CHECK(std::filesystem::exists(dir / "stats.log")); // -s is inside the root
}

TEST_CASE("SIGUSR1 logs rbldnsd's counter lines; SIGUSR2 logs and resets them", "[rbldnsd]") {
  test::TempDir dir;
  dir.write("a.txt", "$NS 1h ns1.bl.example\n:127.0.0.2:Listed $\n10.0.0.0/24\n");
  auto statsfile = dir / "stats.log";
  test::Daemon d({"-n", "-b", "127.0.0.1/0", "-w", dir.path().string(), "-s", statsfile.string(),
                  "bl.example:ip4set:a.txt"},
                 1);
  CHECK(test::udpQuery(d.port(), "1.0.0.10.bl.example", 1).rcode == 0);
  CHECK(test::udpQuery(d.port(), "2.0.0.10.bl.example", 16).rcode == 0);
  CHECK(test::udpQuery(d.port(), "1.0.0.11.bl.example", 1).rcode == 3);
  auto count = [&](const std::regex& re) {
    auto text = d.stderrText();
    return std::distance(std::sregex_iterator(text.begin(), text.end(), re),
                         std::sregex_iterator());
  };
  auto waitFor = [&](const std::regex& re, long times = 1) {
    for (int i = 0; i < 50 && count(re) < times; ++i)
      d.readStderr(100ms);
    return count(re) >= times;
  };
  ::kill(d.pid(), SIGUSR1);
  CHECK(waitFor(std::regex(
      R"(stats for \d+secs zone bl\.example: tot=3 ok=2 nxd=1 err=0 in=\d+ out=\d+\n)")));
  CHECK(waitFor(std::regex(R"(stats for \d+sec: tot=3 ok=2 nxd=1 err=0 in=\d+ out=\d+\n)")));

  ::kill(d.pid(), SIGUSR2); // logs the same, then starts counting from zero
  CHECK(waitFor(std::regex(R"(stats for \d+sec: tot=3 )"), 2));
  CHECK(test::udpQuery(d.port(), "9.0.0.10.bl.example", 1).rcode == 0);
  ::kill(d.pid(), SIGUSR1);
  CHECK(waitFor(std::regex(R"(zone bl\.example: tot=1 ok=1 nxd=0 err=0 )")));
  CHECK(d.stop() == 0);
  CHECK(std::regex_search(d.readStderr(1s), std::regex(R"(stats for \d+sec: tot=1 ok=1 )")));

  // The statistics file: start mark, a line per signal, the reset mark, the final line, end mark.
  std::ifstream st(statsfile);
  std::vector<std::string> lines;
  for (std::string l; std::getline(st, l);)
    lines.push_back(l);
  REQUIRE(lines.size() == 7);
  CHECK(
      std::regex_match(lines[1], std::regex(R"(\d+ bl\.example:3:2:1:\d+:\d+ \*:3:2:1:\d+:\d+)")));
  CHECK(std::regex_match(lines[3], std::regex(R"(\d+)"))); // SIGUSR2's reset
  CHECK(
      std::regex_match(lines[4], std::regex(R"(\d+ bl\.example:1:1:0:\d+:\d+ \*:1:1:0:\d+:\d+)")));
}

TEST_CASE("-n mode: `*.name` makes name an empty non-terminal; the data's own test entries win",
          "[rbldnsd]") {
  test::TempDir dir;
  dir.write("dn.txt", "*.subs.example :127.0.1.4:subs of $\ntest :127.0.1.9:our test name\n");
  dir.write("ip.txt", "127.0.0.2 :127.0.0.10:our test address\n10.0.0.0/24\n");
  test::Daemon d({"-n", "-q", "-b", "127.0.0.1/0", "-w", dir.path().string(), "dbl.x:dnset:dn.txt",
                  "bl.x:ip4set:ip.txt"},
                 1);
  const auto port = d.port();
  // RFC 8020: a QNAME-minimising resolver asks subs.example.dbl.x first; NXDOMAIN there would
  // hide the listing below it.
  auto ent = test::udpQuery(port, "subs.example.dbl.x", 1);
  CHECK(ent.rcode == 0);
  CHECK(ent.aa);
  CHECK(ent.answer.empty());
  CHECK(ent.authoritySoa == 1);
  CHECK(test::udpQuery(port, "a.subs.example.dbl.x", 16).txt ==
        std::vector<std::string>{"subs of subs.example"});
  CHECK(test::udpQuery(port, "example.dbl.x", 1).rcode == 0); // above the wildcard's owner
  CHECK(test::udpQuery(port, "other.dbl.x", 1).rcode == 3);
  // The data lists `test` and 127.0.0.2 itself: one answer each, the data's.
  auto name = test::udpQuery(port, "test.dbl.x", 1);
  CHECK(name.a == std::vector<std::string>{"127.0.1.9"});
  CHECK(test::udpQuery(port, "test.dbl.x", 16).txt == std::vector<std::string>{"our test name"});
  CHECK(test::udpQuery(port, "2.0.0.127.bl.x", 1).a == std::vector<std::string>{"127.0.0.10"});
  CHECK(test::udpQuery(port, "2.0.0.127.bl.x", 16).txt ==
        std::vector<std::string>{"our test address"});
  // Where the data has nothing, the synthetic test point still answers.
  CHECK(test::udpQuery(port, "2.0.0.127.dbl.x", 1).a == std::vector<std::string>{"127.0.0.2"});
  CHECK(test::udpQuery(port, "test.bl.x", 1).a == std::vector<std::string>{"127.0.0.2"});
  CHECK(d.stop() == 0);
}
