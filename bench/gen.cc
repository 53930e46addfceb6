// Deterministic load-test data: the three data sets of the performance table (and an IPv6 one)
// as rbldnsd data files that dnsxl imports and Debian's rbldnsd loads unchanged, and a query
// file for each (dnsperf's "name TYPE" lines: 30% listed, ~87% A / 13% TXT).
//   dnsxl_benchgen DIR [pbl xbl xbl2 dbl v6 ...]   (default: pbl xbl dbl v6)
// Same output on every machine: a fixed seed, mt19937_64 (exactly specified) and plain modulo.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr size_t kQueries = 500000; // per query file; the load generator cycles through it
constexpr unsigned kListedPercent = 30;

std::mt19937_64 rng(20261129);
uint64_t rnd(uint64_t n) {
  return rng() % n;
}

std::string ip4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}
std::string rev4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a & 255, (a >> 8) & 255, (a >> 16) & 255, a >> 24);
}

// A public-looking unicast address: first octet 1..223 except 10 and 127.
uint32_t randomAddress() {
  for (;;) {
    const auto a = static_cast<uint32_t>(rng());
    const uint32_t o = a >> 24;
    if (o >= 1 && o <= 223 && o != 10 && o != 127) return a;
  }
}

const char* qtype() {
  return rnd(100) < 13 ? "TXT" : "A";
}

void header(std::ofstream& f, const std::string& what, const std::string& a) {
  f << "# " << what << " (dnsxl_benchgen)\n"
    << "$SOA 3600 ns1.bench. hostmaster.bench. 1 3600 600 604800 300\n"
    << "$NS 3600 ns1.bench.\n"
    << ":" << a << ":Listed in the " << what << " list: $\n";
}

// Merged, sorted [lo, hi] intervals; covers(a) by binary search.
struct Intervals {
  std::vector<std::pair<uint32_t, uint32_t>> v;
  void merge() {
    std::sort(v.begin(), v.end());
    std::vector<std::pair<uint32_t, uint32_t>> m;
    for (const auto& r : v) {
      if (!m.empty() && uint64_t{r.first} <= uint64_t{m.back().second} + 1)
        m.back().second = std::max(m.back().second, r.second);
      else
        m.push_back(r);
    }
    v = std::move(m);
  }
  bool covers(uint32_t a) const {
    auto it = std::upper_bound(v.begin(), v.end(), std::pair<uint32_t, uint32_t>{a, UINT32_MAX});
    return it != v.begin() && std::prev(it)->second >= a;
  }
};

// PBL-like: 200k ranges /16../29 (overlaps allowed, as in real feeds).
void pbl(const std::filesystem::path& dir) {
  std::ofstream f(dir / "pbl.txt"), q(dir / "pbl.queries");
  header(f, "PBL-like", "127.0.0.10");
  Intervals iv;
  for (size_t i = 0; i < 200000; ++i) {
    const int bits = 16 + static_cast<int>(rnd(14));
    const uint32_t mask = ~uint32_t{0} << (32 - bits);
    const uint32_t lo = randomAddress() & mask;
    f << ip4(lo) << '/' << bits << '\n';
    iv.v.emplace_back(lo, lo | ~mask);
  }
  const auto ranges = iv.v;
  iv.merge();
  for (size_t i = 0; i < kQueries; ++i) {
    uint32_t a;
    if (rnd(100) < kListedPercent) {
      const auto& r = ranges[rnd(ranges.size())];
      a = r.first + static_cast<uint32_t>(rnd(uint64_t{r.second - r.first} + 1));
    } else {
      do
        a = randomAddress();
      while (iv.covers(a));
    }
    q << rev4(a) << ".pbl.bench " << qtype() << '\n';
  }
}

// XBL-like: 1M single addresses (xbl2: another million, the import that replaces them all).
void xbl(const std::filesystem::path& dir, const std::string& name) {
  std::ofstream f(dir / (name + ".txt")), q(dir / (name + ".queries"));
  header(f, "XBL-like", "127.0.0.4");
  std::vector<uint32_t> hosts;
  hosts.reserve(1000000);
  while (hosts.size() < 1000000)
    hosts.push_back(randomAddress());
  std::vector<uint32_t> sorted = hosts;
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t a : hosts)
    f << ip4(a) << '\n';
  for (size_t i = 0; i < kQueries; ++i) {
    uint32_t a;
    if (rnd(100) < kListedPercent) {
      a = hosts[rnd(hosts.size())];
    } else {
      do
        a = randomAddress();
      while (std::binary_search(sorted.begin(), sorted.end(), a));
    }
    q << rev4(a) << ".xbl.bench " << qtype() << '\n';
  }
}

std::string randomDomain() {
  static const char* const tlds[] = {"com",    "net",  "org",  "info", "xyz", "top",
                                     "online", "site", "shop", "ru",   "de",  "co.uk"};
  std::string s;
  const size_t len = 6 + rnd(10);
  for (size_t i = 0; i < len; ++i)
    s += "abcdefghijklmnopqrstuvwxyz0123456789"[rnd(i == 0 ? 26 : 36)];
  return s + "." + tlds[rnd(std::size(tlds))];
}

// DBL-like: 1M registered domains.
void dbl(const std::filesystem::path& dir) {
  std::ofstream f(dir / "dbl.txt"), q(dir / "dbl.queries");
  header(f, "DBL-like", "127.0.1.2");
  std::vector<std::string> names;
  names.reserve(1000000);
  for (size_t i = 0; i < 1000000; ++i)
    names.push_back(randomDomain());
  for (const auto& n : names)
    f << n << '\n';
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < kQueries; ++i) {
    std::string n;
    if (rnd(100) < kListedPercent) {
      n = names[rnd(names.size())];
    } else {
      do
        n = randomDomain();
      while (std::binary_search(sorted.begin(), sorted.end(), n));
    }
    q << n << ".dbl.bench " << qtype() << '\n';
  }
}

// IPv6: 100k prefixes /48../64 in 2000::/4, queried at /64 (RFC 5782 §2.4 nibbles).
void v6(const std::filesystem::path& dir) {
  std::ofstream f(dir / "v6.txt"), q(dir / "v6.queries");
  header(f, "IPv6", "127.0.0.3");
  std::vector<std::pair<uint64_t, int>> prefixes; // the upper 64 bits
  for (size_t i = 0; i < 100000; ++i) {
    const int bits = 48 + static_cast<int>(rnd(17));
    const uint64_t mask = ~uint64_t{0} << (64 - bits);
    const uint64_t p = ((rng() & 0x0fffffffffffffffULL) | 0x2000000000000000ULL) & mask;
    f << fmt::format("{:x}:{:x}:{:x}:{:x}::/{}\n", p >> 48, (p >> 32) & 0xffff, (p >> 16) & 0xffff,
                     p & 0xffff, bits);
    prefixes.emplace_back(p, bits);
  }
  auto name = [](uint64_t hi, uint64_t lo) {
    std::string s;
    for (uint64_t w : {lo, hi})
      for (int i = 0; i < 16; ++i)
        s += fmt::format("{:x}.", (w >> (4 * i)) & 15);
    return s + "v6.bench";
  };
  for (size_t i = 0; i < kQueries; ++i) {
    uint64_t hi;
    if (rnd(100) < kListedPercent) {
      const auto& [p, bits] = prefixes[rnd(prefixes.size())];
      hi = p | (bits == 64 ? 0 : rng() & ~(~uint64_t{0} << (64 - bits)));
    } else {
      hi = (rng() & 0x0fffffffffffffffULL) | 0x3000000000000000ULL; // 3000::/4: never listed
    }
    q << name(hi, rng()) << ' ' << qtype() << '\n';
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') { // -h, --help: not a directory to fill
    std::fprintf(stderr, "usage: %s DIR [pbl|xbl|xbl2|dbl|v6 ...]\n", argv[0]);
    return argc == 2 && (std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "--help")
               ? 0
               : 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  std::vector<std::string> sets(argv + 2, argv + argc);
  if (sets.empty()) sets = {"pbl", "xbl", "dbl", "v6"};
  for (const auto& s : sets) {
    // each set from its own seed: one set's output does not depend on which others are made
    if (s == "pbl")
      rng.seed(1), pbl(dir);
    else if (s == "xbl" || s == "xbl2")
      rng.seed(s == "xbl" ? 2 : 5), xbl(dir, s);
    else if (s == "dbl")
      rng.seed(3), dbl(dir);
    else if (s == "v6")
      rng.seed(4), v6(dir);
    else {
      std::fprintf(stderr, "unknown data set '%s' (pbl, xbl, xbl2, dbl, v6)\n", s.c_str());
      return 2;
    }
  }
}
