#include "zonegen/export.hh"

#include "render/zone.hh"
#include "store/store.hh"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

namespace dnsxl::zonegen {

int exportCommand(const config::Config& cfg, const ExportOptions& options) {
  if (options.format != "zone") {
    fmt::print(stderr, "dnsxl: unknown export format '{}' (known: zone)\n", options.format);
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
