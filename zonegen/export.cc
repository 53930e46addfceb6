#include "zonegen/export.hh"

#include "render/zone.hh"
#include "store/store.hh"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <unistd.h>

namespace dnsxl::zonegen {

namespace {

std::string ip4Text(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::string ip6Text(const store::Ip6& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

// rbldnsd's value syntax: `:A:TXT`, or `:A:` for an A without TXT.
std::string valueText(const store::ValueView& v) {
  return fmt::format(":{}:{}", ip4Text(v.a), v.hasTxt ? std::string(v.txt) : std::string());
}

// The CIDR blocks covering [lo, hi] (for ip6trie, which takes prefixes only).
__extension__ typedef unsigned __int128 U128;
void cidrs(U128 lo, U128 hi, const std::function<void(U128, int)>& f) {
  while (true) {
    int len = 128;
    while (len > 0) {
      const U128 size = U128{1} << (128 - (len - 1));
      const U128 mask = size - 1;
      if ((lo & mask) != 0 || lo + mask > hi || lo + mask < lo) break;
      --len;
    }
    f(lo, len);
    const U128 last = len == 0 ? ~U128{0} : lo + ((U128{1} << (128 - len)) - 1);
    if (last >= hi) return;
    lo = last + 1;
  }
}

// rbldnsd data files for each dataset of a zone (checklist S-1): ip4set, ip6trie, dnset, with
// $SOA and $NS in the first file and each dataset's $TTL and $n variables; written to DIR under
// temporary names and renamed. Prints the rbldnsd zone specs (zone:type:file).
class RbldnsdExport {
public:
  RbldnsdExport(store::Snapshot& snap, const store::ZoneRecord& zone, const std::string& dir)
      : d_snap(snap), d_zone(zone), d_dir(dir), d_now(static_cast<int64_t>(std::time(nullptr))) {}

  int run() {
    namespace fs = std::filesystem;
    fs::create_directories(d_dir);
    for (const auto& ds : d_zone.datasets) {
      if (ds.kinds & store::kAcl) continue;
      if (!ds.subzones.empty()) {
        fmt::print(stderr,
                   "dnsxl: {}/{}: datasets of a combined file (subzones) are not exported\n",
                   d_zone.name, ds.name);
        continue;
      }
      if (ds.kinds & store::kIp4) write(ds, "ip4set", ip4(ds));
      if (ds.kinds & store::kIp6) write(ds, "ip6trie", ip6(ds));
      if (ds.kinds & store::kDomain) write(ds, "dnset", names(ds));
    }
    if (d_dropped)
      fmt::print(stderr,
                 "dnsxl: warning: {} IPv6 values beyond the first of their range left out "
                 "(ip6trie keeps one value per prefix)\n",
                 d_dropped);
    std::string all;
    for (const auto& s : d_specs)
      all += s + "\n";
    const auto cmd = fs::path(d_dir) / (d_zone.name + ".rbldnsd");
    {
      std::ofstream out(cmd.string() + ".tmp", std::ios::trunc);
      out << all;
    }
    fs::rename(cmd.string() + ".tmp", cmd);
    fmt::print("{}", all);
    return 0;
  }

private:
  // $SOA and $NS in the first file; each file's $TTL and $n variables.
  std::string header(const store::DatasetRecord& ds) {
    std::string out;
    if (d_first) {
      const auto& soa = d_zone.soa;
      out += fmt::format("$SOA {} {} {} {} {} {} {} {}\n", soa.ttl, soa.mname, soa.rname,
                         soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum);
      if (!d_zone.ns.empty()) {
        out += fmt::format("$NS {}", d_zone.nsTtl);
        for (const auto& n : d_zone.ns)
          out += " " + n;
        out += "\n";
      }
      d_first = false;
    }
    out += fmt::format("$TTL {}\n", ds.ttl);
    for (size_t i = 0; i < ds.vars.size(); ++i)
      if (!ds.vars[i].empty()) out += fmt::format("${} {}\n", i, ds.vars[i]);
    return out;
  }

  // The values of a set that are served now.
  void values(uint32_t set, const std::function<void(const store::ValueView&)>& f) {
    store::ValueSetReader r(d_snap.valueSet(set));
    for (store::ValueView v; r.next(v);)
      if (v.expires == 0 || v.expires > d_now) f(v);
  }
  bool live(uint32_t set) {
    bool any = false;
    if (set != store::kNoValue && set != store::kExcluded)
      values(set, [&](const store::ValueView&) { any = true; });
    return any;
  }

  // The test points fill in only where the data has nothing of its own (as dnsxld answers): an
  // entry of the test points' dataset is left out where another dataset lists the address or
  // name, or holds a generic record at the name.
  bool dataHas4(uint32_t a) {
    for (const auto& other : d_zone.datasets)
      if (!(other.kinds & (store::kTestPoints | store::kAcl)) && (other.kinds & store::kIp4))
        if (auto iv = d_snap.ip4(other.id, a); iv && live(iv->valueSet)) return true;
    return false;
  }
  bool dataHasName(std::string_view key) {
    for (const auto& other : d_zone.datasets) {
      if (other.kinds & (store::kTestPoints | store::kAcl)) continue;
      if (other.kinds & store::kDomain)
        if (auto e = d_snap.domain(other.id, key); e && live(e->exact)) return true;
      if ((other.kinds & store::kGeneric) && !d_snap.generic(other.id, key).empty()) return true;
    }
    return false;
  }

  std::string ip4(const store::DatasetRecord& ds) {
    const bool testPoints = (ds.kinds & store::kTestPoints) != 0;
    std::string text = header(ds);
    d_snap.forEachIp4(ds.id, [&](const store::IpInterval4& iv) {
      if (testPoints && iv.start == iv.end && dataHas4(iv.start)) return;
      const auto key =
          iv.start == iv.end ? ip4Text(iv.start) : ip4Text(iv.start) + "-" + ip4Text(iv.end);
      values(iv.valueSet,
             [&](const store::ValueView& v) { text += key + " " + valueText(v) + "\n"; });
    });
    return text;
  }

  std::string ip6(const store::DatasetRecord& ds) {
    std::string text = header(ds);
    d_snap.forEachIp6(ds.id, [&](const store::IpInterval6& iv) {
      U128 lo = 0, hi = 0;
      for (size_t b = 0; b < 16; ++b) {
        lo = lo << 8 | iv.start[b];
        hi = hi << 8 | iv.end[b];
      }
      std::string value;
      size_t n = 0;
      values(iv.valueSet, [&](const store::ValueView& v) {
        if (n++ == 0) value = valueText(v);
      });
      if (n == 0) return;
      d_dropped += n - 1;
      cidrs(lo, hi, [&](U128 a, int len) {
        store::Ip6 b{};
        for (size_t i = 16; i-- > 0;) {
          b[i] = static_cast<uint8_t>(a & 0xff);
          a >>= 8;
        }
        text += fmt::format("{}/{} {}\n", ip6Text(b), len, value);
      });
    });
    return text;
  }

  std::string names(const store::DatasetRecord& ds) {
    const bool testPoints = (ds.kinds & store::kTestPoints) != 0;
    std::string text = header(ds);
    d_snap.forEachDomain(ds.id, [&](std::string_view key, store::DomainEntry e) {
      if (testPoints && dataHasName(key)) return;
      std::string name; // "com\0example\0" -> "example.com"
      for (size_t start = 0; start < key.size();) {
        size_t end = key.find('\0', start);
        if (end == std::string_view::npos) end = key.size();
        name = name.empty() ? std::string(key.substr(start, end - start))
                            : std::string(key.substr(start, end - start)) + "." + name;
        start = end + 1;
      }
      for (const auto& entry : {std::pair{e.exact, name}, std::pair{e.wild, "*." + name}}) {
        const std::string& owner = entry.second; // (clang 14 cannot capture a binding)
        if (entry.first == store::kNoValue) continue;
        if (entry.first == store::kExcluded) {
          text += "!" + owner + "\n";
          continue;
        }
        values(entry.first,
               [&](const store::ValueView& v) { text += owner + " " + valueText(v) + "\n"; });
      }
    });
    return text;
  }

  void write(const store::DatasetRecord& ds, const std::string& type, const std::string& text) {
    namespace fs = std::filesystem;
    const auto name = fmt::format("{}.{}.{}", d_zone.name, ds.name, type);
    const auto path = fs::path(d_dir) / name;
    const auto tmp = path.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
      if (!out.flush()) throw std::runtime_error("cannot write " + tmp);
    }
    fs::rename(tmp, path);
    d_specs.push_back(fmt::format("{}:{}:{}", d_zone.name, type, name));
  }

  store::Snapshot& d_snap;
  const store::ZoneRecord& d_zone;
  const std::string& d_dir;
  const int64_t d_now;
  std::vector<std::string> d_specs;
  size_t d_dropped = 0; // IPv6 values past the first of a set: ip6trie keeps one
  bool d_first = true;
};

} // namespace

int exportCommand(const config::Config& cfg, const ExportOptions& options) {
  if (options.format != "zone" && options.format != "rbldnsd") {
    fmt::print(stderr, "dnsxl: unknown export format '{}' (known: zone, rbldnsd)\n",
               options.format);
    return 2;
  }
  if (options.format == "rbldnsd" && (options.output.empty() || options.output == "-")) {
    fmt::print(stderr, "dnsxl: --format rbldnsd writes files: name a directory with -o DIR\n");
    return 2;
  }
  store::Env env(cfg.server.store, {.readOnly = true, .mapSize = cfg.server.mapSize});
  store::Snapshot snap(env); // one consistent view for the whole file
  const store::ZoneRecord* zone = nullptr;
  const auto zones = snap.zones();
  std::string names;
  for (const auto& z : zones) {
    if (z.name.empty()) continue; // the global acl's pseudo zone
    names += (names.empty() ? "" : ", ") + z.name;
    if (z.name == options.zone || (options.zone.empty() && !zone))
      zone = &z;
    else if (options.zone.empty()) {
      fmt::print(stderr, "dnsxl: the store has several zones ({}...): name one with --zone\n",
                 names);
      return 2;
    }
  }
  if (!zone) {
    fmt::print(stderr, "dnsxl: no zone {} in the store (it has: {})\n", options.zone,
               names.empty() ? "none" : names);
    return 1;
  }
  if (options.format == "rbldnsd") return RbldnsdExport(snap, *zone, options.output).run();
  const bool toStdout = options.output.empty() || options.output == "-";
  const std::string tmp =
      toStdout ? std::string() : options.output + ".tmp." + std::to_string(::getpid());
  std::FILE* out = toStdout ? stdout : std::fopen(tmp.c_str(), "w");
  if (!out) {
    fmt::print(stderr, "dnsxl: cannot write {}: {}\n", tmp, std::strerror(errno));
    return 1;
  }
  fmt::print(out, "; zone {} serial {}, exported by dnsxl from {}\n", zone->name, zone->soa.serial,
             cfg.server.store.string());
  fmt::print(out, "; TXT `$` of a wildcard (a whole block) is the block, e.g. 192.0.2.0/24\n");
  render::Stats stats;
  std::string error;
  const bool ok = render::renderZone(
      snap, *zone, static_cast<int64_t>(std::time(nullptr)), options.maxRecords,
      [&](const render::Record& r) { fmt::print(out, "{}\n", render::toText(r, zone->name)); },
      stats, error);
  if (!toStdout) {
    const bool written = std::fflush(out) == 0 && ::fsync(fileno(out)) == 0;
    std::fclose(out);
    if (!ok || !written) {
      std::filesystem::remove(tmp);
      fmt::print(stderr, "dnsxl: {}\n", ok ? fmt::format("cannot write {}", tmp) : error);
      return 1;
    }
    std::error_code ec;
    std::filesystem::rename(tmp, options.output, ec);
    if (ec) {
      std::filesystem::remove(tmp);
      fmt::print(stderr, "dnsxl: cannot rename {} to {}: {}\n", tmp, options.output, ec.message());
      return 1;
    }
  } else if (!ok) {
    fmt::print(stderr, "dnsxl: {}\n", error);
    return 1;
  }
  fmt::print(stderr, "dnsxl: zone {} serial {}: {} records ({} names, {} wildcards)\n", zone->name,
             zone->soa.serial, stats.records, stats.names, stats.wildcards);
  return 0;
}

} // namespace dnsxl::zonegen
