#include "bench/data.hh"

#include "config/config.hh"
#include "dns/wire.hh"
#include "zonegen/import.hh"

#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <random>
#include <stdexcept>

namespace dnsxl::bench {

namespace {

std::string rev4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a & 255, (a >> 8) & 255, (a >> 16) & 255, a >> 24);
}

std::string ip4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

} // namespace

Data::~Data() {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::vector<uint8_t> query(const std::string& name, uint16_t type) {
  std::vector<uint8_t> q = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  if (!dns::encodeName(name, q)) throw std::runtime_error("bad name " + name);
  q.insert(q.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1});
  return q;
}

Data makeData(size_t ranges, size_t hosts, size_t domains, size_t queries) {
  Data d;
  std::string tmpl = (std::filesystem::temp_directory_path() / "dnsxl-bench-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  d.dir = tmpl;
  d.store = d.dir / "store";
  std::mt19937 rng(42);
  auto r32 = [&] { return static_cast<uint32_t>(rng()); };

  // Ranges in 16.0.0.0-31.255.255.255, hosts in 64.0.0.0-95.255.255.255: disjoint spaces.
  std::ofstream pbl(d.dir / "pbl.txt"), xbl(d.dir / "xbl.txt"), dbl(d.dir / "dbl.txt");
  std::vector<uint32_t> rangeStarts, hostAddrs;
  for (size_t i = 0; i < ranges; ++i) {
    int bits = 16 + static_cast<int>(r32() % 14);
    uint32_t m = ~uint32_t{0} << (32 - bits);
    uint32_t lo = (0x10000000U | (r32() & 0x0fffffffU)) & m;
    pbl << fmt::format("{}/{}\n", ip4(lo), bits);
    rangeStarts.push_back(lo);
  }
  for (size_t i = 0; i < hosts; ++i) {
    uint32_t a = 0x40000000U | (r32() & 0x1fffffffU);
    xbl << fmt::format("{} Seen sending spam {}, ref X{}\n", ip4(a), i % 30 + 1, i);
    hostAddrs.push_back(a);
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < domains; ++i) {
    auto name = fmt::format("d{:x}{:x}.example{}.com", r32(), i, i % 7);
    dbl << name << "\n";
    names.push_back(name);
  }
  pbl.close();
  xbl.close();
  dbl.close();
  d.entries = ranges + hosts + domains;

  std::ofstream(d.dir / "bench.toml") << R"(
[server]
store = "store"
[[zone]]
name = "bl.bench"
ns = ["ns1.bench"]
  [[zone.dataset]]
  name = "pbl"
  format = "ip4set"
  files = ["pbl.txt"]
  a = "127.0.0.10"
  txt = "Dynamic IP space $ - see https://bl.bench/why?ip=$"
  [[zone.dataset]]
  name = "xbl"
  format = "list"
  files = ["xbl.txt"]
  a = "127.0.0.4"
[[zone]]
name = "dbl.bench"
ns = ["ns1.bench"]
  [[zone.dataset]]
  name = "dbl"
  format = "dnset"
  files = ["dbl.txt"]
  a = "127.0.1.2"
  txt = "Domain $ is listed"
)";
  auto res = zonegen::runImport(config::load(d.dir / "bench.toml"), {});
  if (!res.ok) throw std::runtime_error(res.errors.empty() ? "import failed" : res.errors[0]);
  d.importSeconds = res.seconds;

  for (size_t i = 0; i < queries; ++i) {
    uint16_t type = i % 8 == 7 ? 16 : 1; // ~87% A, 13% TXT
    uint32_t a = i % 2 && !rangeStarts.empty()
                     ? rangeStarts[r32() % rangeStarts.size()] + (r32() % 8)
                 : hostAddrs.empty() ? 0x7f000002U
                                     : hostAddrs[r32() % hostAddrs.size()];
    d.listed4.push_back(query(rev4(a) + ".bl.bench", type));
    d.unlisted4.push_back(query(rev4(0xc0000000U | (r32() & 0x0fffffff)) + ".bl.bench", type));
    d.listedDomain.push_back(query(
        (names.empty() ? std::string("test") : names[r32() % names.size()]) + ".dbl.bench", type));
    d.unlistedDomain.push_back(query(fmt::format("n{:x}.example.net.dbl.bench", r32()), type));
  }
  return d;
}

} // namespace dnsxl::bench
