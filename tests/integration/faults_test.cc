// Faults an operator meets: a disk that fills, an import killed part way, imports and changes
// run at the same time. Every time the store must hold a committed state, dnsxl must say what
// happened (never die by a signal), and dnsxld must go on serving the last committed data.
//
// The full disk is a small tmpfs mounted in a mount namespace of this test's own (root, or a
// user namespace otherwise), so nothing outside the test sees it.
#include "tests/support/fixture.hh"

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <random>
#include <sched.h>
#include <sys/mount.h>
#include <thread>
#include <unistd.h>

using namespace dnsxl;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t A = 1;

void writeProc(const char* file, const std::string& text) {
  std::ofstream out(file);
  out << text;
  out.flush();
  INFO(file);
  REQUIRE(out.good());
}

// This process, and what it starts, in a mount namespace of its own. Must run before the test
// starts a thread (a user namespace is refused to a threaded process): the first test case
// calls it.
void privateMounts() {
  static bool done = false;
  if (done) return;
  if (::geteuid() != 0) {
    const auto uid = ::geteuid();
    const auto gid = ::getegid();
    INFO("unshare(CLONE_NEWUSER | CLONE_NEWNS): " << std::strerror(errno)
                                                  << " (run as root or allow user namespaces)");
    REQUIRE(::unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0);
    writeProc("/proc/self/setgroups", "deny");
    writeProc("/proc/self/uid_map", fmt::format("0 {} 1", uid));
    writeProc("/proc/self/gid_map", fmt::format("0 {} 1", gid));
  } else {
    INFO("unshare(CLONE_NEWNS): " << std::strerror(errno));
    REQUIRE(::unshare(CLONE_NEWNS) == 0);
  }
  REQUIRE(::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
  done = true;
}

// A tmpfs of `megabytes` at dir (created), unmounted on destruction.
class SmallDisk {
public:
  SmallDisk(const std::filesystem::path& dir, int megabytes) : d_dir(dir) {
    privateMounts();
    std::filesystem::create_directories(dir);
    const auto options = fmt::format("size={}m,mode=0755", megabytes);
    INFO("mount tmpfs " << dir << ": " << std::strerror(errno));
    REQUIRE(::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0);
  }
  ~SmallDisk() { ::umount2(d_dir.c_str(), MNT_DETACH); }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  // Fills what is left of it with a file (ENOSPC ends it); returns the file.
  std::filesystem::path fill() const {
    const auto ballast = d_dir / "ballast";
    std::FILE* out = std::fopen(ballast.c_str(), "w");
    REQUIRE(out);
    std::setvbuf(out, nullptr, _IONBF, 0);
    std::vector<char> block(64 * 1024, 'x');
    for (size_t size = block.size(); size > 0; size /= 2)
      while (std::fwrite(block.data(), 1, size, out) == size) {
      }
    std::fclose(out);
    return ballast;
  }

private:
  std::filesystem::path d_dir;
};

// count lines 10.<b>.x.y (x.y counting from 0.0)
std::string feedLines(int b, int count) {
  std::string out;
  for (int i = 0; i < count; ++i)
    out += fmt::format("10.{}.{}.{}\n", b, i / 256 % 256, i % 256);
  return out;
}
std::string lastOf(int b, int count) {
  return fmt::format("10.{}.{}.{}", b, (count - 1) / 256 % 256, (count - 1) % 256);
}

const std::string kZone = "[[zone]]\nname = \"bl.test\"\nns = [\"ns1.bl.test\"]\n"
                          "  [[zone.dataset]]\n  name = \"main\"\n  format = \"ip4set\"\n"
                          "  files = [\"feed.txt\"]\n  a = \"127.0.0.2\"\n";

test::RunResult cli(const test::Fixture& f, std::vector<std::string> args) {
  args.insert(args.begin(), {test::dnsxlBinary()});
  args.insert(args.begin() + 2, {"-c", f.configPath.string()});
  return test::run(args);
}

// Whether the store lists an address (dnsxl why: 0 listed, 1 not).
bool stored(const test::Fixture& f, const std::string& ip) {
  const auto r = cli(f, {"why", ip});
  INFO(r.err);
  REQUIRE((r.status == 0 || r.status == 1));
  return r.status == 0;
}

std::string reversed(const std::string& ip) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  std::sscanf(ip.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d);
  return fmt::format("{}.{}.{}.{}.bl.test", d, c, b, a);
}
// Whether dnsxld answers an address as listed (A 127.0.0.2) within the timeout (else NXDOMAIN).
bool servedWithin(uint16_t port, const std::string& ip, bool listed,
                  std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto r = test::udpQuery(port, reversed(ip), A);
    if (listed ? (r.rcode == 0 && r.a == std::vector<std::string>{"127.0.0.2"}) : r.rcode == 3)
      return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

std::string serveConfig(const test::Fixture& f) {
  return f.dir
      .write("serve.toml", "[server]\nstore = \"store\"\nlisten = [\"127.0.0.1:0\"]\n" + kZone)
      .string();
}

} // namespace

TEST_CASE("full disk: an import that outgrows the disk fails with a message and exit 1, the "
          "store keeps the last import",
          "[faults][disk]") {
  test::Fixture f(kZone, {{"feed.txt", "192.0.2.1\n"}});
  SmallDisk disk(f.store(), 8);
  REQUIRE(cli(f, {"import", "-q"}).status == 0);

  // Nobody reads the store: before, the import wrote through a sparse memory map and died by
  // SIGBUS (exit 135) once the disk was full.
  f.dir.write("feed.txt", feedLines(1, 100000));
  const auto r = cli(f, {"import", "-q", "--force"});
  INFO(r.err);
  CHECK(r.status == 1);
  CHECK(r.err.find("the disk holding " + f.store().string() + " is full") != std::string::npos);
  CHECK(r.err.find("the store is unchanged") != std::string::npos);
  CHECK(stored(f, "192.0.2.1"));
  CHECK_FALSE(stored(f, "10.1.0.0"));

  test::Daemon d(serveConfig(f));
  CHECK(servedWithin(d.port(), "192.0.2.1", true));
  CHECK(servedWithin(d.port(), "10.1.0.0", false));
}

TEST_CASE("full disk: add, delist, expire, snapshot and import each fail with a message and exit "
          "1 while dnsxld serves; with room again the next change is served",
          "[faults][disk]") {
  test::Fixture f(kZone, {{"feed.txt", "192.0.2.1\n192.0.2.2\n"}});
  SmallDisk disk(f.store(), 16);
  REQUIRE(cli(f, {"import", "-q"}).status == 0);
  // entries for expire to drop
  f.dir.write("expiring.txt", feedLines(200, 5000));
  REQUIRE(cli(f, {"add", "--file", (f.dir / "expiring.txt").string(), "--for", "1", "-r", "short"})
              .status == 0);
  test::Daemon d(serveConfig(f));
  REQUIRE(servedWithin(d.port(), "192.0.2.1", true));
  const auto ballast = disk.fill();
  std::this_thread::sleep_for(1100ms); // the expiring entries' time passes

  f.dir.write("more.txt", feedLines(3, 5000));
  f.dir.write("feed.txt", feedLines(4, 5000));
  const std::vector<std::vector<std::string>> commands = {
      {"add", "--file", (f.dir / "more.txt").string(), "-r", "more"},
      {"add", "192.0.2.77", "-r", "one"},
      {"delist", "192.0.2.1", "-r", "gone"},
      {"expire"},
      {"import", "-q"},
  };
  for (const auto& c : commands) {
    const auto r = cli(f, c);
    INFO(c.front() << ": " << r.out << r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("the disk holding " + f.store().string() + " is full") != std::string::npos);
    const bool said = r.err.find("nothing was committed") != std::string::npos ||
                      r.err.find("the store is unchanged") != std::string::npos;
    CHECK(said);
  }
  const auto snapshots = f.store() / "snap";
  const auto snap = cli(f, {"snapshot", snapshots.string()});
  INFO(snap.err);
  CHECK(snap.status == 1);
  CHECK(snap.err.find("is full") != std::string::npos);
  CHECK(std::filesystem::is_empty(snapshots)); // its temporary copy removed

  // dnsxld serves what was there: nothing added, delisted or expired
  CHECK(servedWithin(d.port(), "192.0.2.1", true));
  CHECK(servedWithin(d.port(), "10.3.0.0", false));
  CHECK(servedWithin(d.port(), "192.0.2.77", false));

  std::filesystem::remove(ballast);
  const auto again = cli(f, {"delist", "192.0.2.1", "-r", "gone"});
  INFO(again.err);
  CHECK(again.status == 0);
  CHECK(cli(f, {"expire", "-q"}).status == 0);
  CHECK(servedWithin(d.port(), "192.0.2.1", false));
  CHECK(servedWithin(d.port(), "192.0.2.2", true));
}

TEST_CASE("kill -9: an import killed at random points leaves the last committed import served, "
          "and the next import succeeds",
          "[faults][kill]") {
  constexpr int kLines = 20000;
  test::Fixture f(kZone, {{"feed.txt", feedLines(1, kLines)}});
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(cli(f, {"import", "-q"}).status == 0);
  const auto took = std::chrono::steady_clock::now() - start;
  test::Daemon d(serveConfig(f));
  REQUIRE(servedWithin(d.port(), "10.1.0.0", true));

  std::mt19937 rng(test::seed());
  INFO("seed " << test::seed());
  // up to 1.2 times one import's time: some kills land after the commit
  std::uniform_int_distribution<long> delay(
      0, std::chrono::duration_cast<std::chrono::microseconds>(took).count() * 6 / 5);
  int committed = 1, killed = 0, completed = 0;
  for (int b = 2; killed < 20 && b < 100; ++b) {
    f.dir.write("feed.txt", feedLines(b, kLines));
    test::Process import({test::dnsxlBinary(), "import", "-q", "-c", f.configPath.string()});
    std::this_thread::sleep_for(std::chrono::microseconds(delay(rng)));
    const int status = import.kill(SIGKILL);
    INFO("feed " << b << ", import status " << status << ": " << import.output());
    REQUIRE((status == 0 || status == -SIGKILL));
    (status == 0 ? completed : killed) += 1;
    // the store holds one whole import, this one or the one before (dnsxl why reads the store),
    // and dnsxld serves all of it and nothing of the other: never a mix
    const bool now = stored(f, fmt::format("10.{}.0.0", b));
    if (status == 0) CHECK(now);
    const int other = now ? committed : b;
    if (now) committed = b;
    CHECK(servedWithin(d.port(), fmt::format("10.{}.0.0", committed), true));
    CHECK(servedWithin(d.port(), lastOf(committed, kLines), true));
    CHECK(servedWithin(d.port(), fmt::format("10.{}.0.0", other), false));
    CHECK(servedWithin(d.port(), lastOf(other, kLines), false));
  }
  INFO(killed << " killed, " << completed << " completed");
  CHECK(killed >= 20);

  f.dir.write("feed.txt", feedLines(250, kLines));
  const auto next = cli(f, {"import", "-q"});
  INFO(next.err);
  CHECK(next.status == 0);
  CHECK(servedWithin(d.port(), "10.250.0.0", true));
  CHECK(servedWithin(d.port(), fmt::format("10.{}.0.0", committed), false));
}

TEST_CASE("two imports and an add at the same time end as one of their serial orders",
          "[faults][concurrency]") {
  constexpr int kLines = 10000;
  test::Fixture f(kZone, {{"x.txt", feedLines(1, 1)}, {"y.txt", feedLines(2, 1)}});
  const auto other = [&](const std::string& feed) {
    std::string text = "[server]\nstore = \"store\"\n" + kZone;
    text.replace(text.find("feed.txt"), 8, feed);
    return f.dir.write(feed + ".toml", text).string();
  };
  const auto x = other("x.txt"), y = other("y.txt");
  REQUIRE(test::run({test::dnsxlBinary(), "import", "-q", "-c", x}).status == 0);
  for (int round = 0; round < 2; ++round) {
    const int bx = 10 + 2 * round, by = 11 + 2 * round;
    f.dir.write("x.txt", feedLines(bx, kLines));
    f.dir.write("y.txt", feedLines(by, kLines));
    const auto added = fmt::format("192.0.2.{}", 10 + round);
    test::Process ix({test::dnsxlBinary(), "import", "-q", "-c", x});
    test::Process iy({test::dnsxlBinary(), "import", "-q", "-c", y});
    test::Process add({test::dnsxlBinary(), "add", "-c", x, added, "-r", "manual"});
    INFO("round " << round);
    CHECK(ix.wait() == 0);
    CHECK(iy.wait() == 0);
    CHECK(add.wait() == 0);
    INFO(ix.output() << iy.output() << add.output());
    // every serial order ends with the last import's feed whole, the other's not at all, and
    // the manual addition kept (an import re-applies the manual changes)
    const bool xLast = stored(f, fmt::format("10.{}.0.0", bx));
    CHECK(stored(f, lastOf(bx, kLines)) == xLast);
    CHECK(stored(f, fmt::format("10.{}.0.0", by)) == !xLast);
    CHECK(stored(f, lastOf(by, kLines)) == !xLast);
    for (int r = 0; r <= round; ++r)
      CHECK(stored(f, fmt::format("192.0.2.{}", 10 + r)));
    CHECK_FALSE(stored(f, fmt::format("10.{}.0.0", bx - 2)));
    CHECK_FALSE(stored(f, fmt::format("10.{}.0.0", by - 2)));
  }
}
