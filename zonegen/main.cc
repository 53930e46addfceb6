// dnsxl: the operator's command line. `import` compiles the configured feeds into the store in one
// transaction; `check` does the same without writing. Exit status 0 on success, 1 on refused data,
// 2 on usage errors.
#include "config/config.hh"
#include "store/store.hh"
#include "zonegen/import.hh"
#include "zonegen/why.hh"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <iostream>
#include <unistd.h>

namespace {

int importCommand(const std::string& configPath, bool dryRun, bool quiet, bool force) {
  using namespace dnsxl;
  config::Config cfg;
  try {
    cfg = config::load(configPath);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "dnsxl: {}\n", e.what());
    return 1;
  }
  zonegen::ImportResult res;
  try {
    zonegen::ImportOptions options;
    options.dryRun = dryRun;
    options.force = force;
    // A progress bar on a terminal, a line per dataset in logs.
    if (!quiet && !::isatty(STDERR_FILENO))
      options.progress = [](size_t i, size_t n, const std::string& what) {
        fmt::print(stderr, "dnsxl: reading {} ({}/{})\n", what, i + 1, n);
      };
    if (!quiet && ::isatty(STDERR_FILENO))
      options.progress = [](size_t i, size_t n, const std::string& what) {
        constexpr size_t kWidth = 30;
        size_t done = n ? i * kWidth / n : kWidth;
        fmt::print(stderr, "\r[{:#<{}}{:<{}}] {}/{} reading {:<40.40}", "", done, "", kWidth - done,
                   i + 1, n, what);
        if (i + 1 == n) fmt::print(stderr, "\r{:<90}\r", "");
      };
    res = zonegen::runImport(cfg, options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "dnsxl: import failed, the store is unchanged: {}\n", e.what());
    return 1;
  }
  constexpr size_t kMaxShown = 50;
  for (size_t i = 0; i < res.warnings.size() && i < kMaxShown; ++i)
    fmt::print(stderr, "warning: {} (line skipped)\n", res.warnings[i]);
  if (res.warnings.size() > kMaxShown)
    fmt::print(stderr, "warning: {} more skipped lines\n", res.warnings.size() - kMaxShown);
  for (size_t i = 0; i < res.errors.size() && i < kMaxShown; ++i)
    fmt::print(stderr, "error: {}\n", res.errors[i]);
  if (res.errors.size() > kMaxShown)
    fmt::print(stderr, "error: ... and {} more\n", res.errors.size() - kMaxShown);
  if (!res.ok) {
    fmt::print(stderr, "dnsxl: import refused ({} errors); the store is unchanged\n",
               res.errors.size());
    if (res.guardRefusals > 0 && res.guardRefusals == res.errors.size())
      fmt::print(stderr, "dnsxl: only the import guard refused it; `dnsxl import --force` imports "
                         "it anyway\n");
    return 1;
  }
  if (!quiet) {
    uint64_t lines = 0, entries = 0, expired = 0, skipped = 0;
    for (const auto& d : res.datasets) {
      fmt::print("{:<24} {:<16} {:<8} {:>9} lines {:>9} entries -> {:>9} ip4 + {:>9} ip6 "
                 "intervals, {:>9} names, {} values",
                 d.zone, d.dataset, d.format, d.lines, d.entries, d.ip4Intervals, d.ip6Intervals,
                 d.domains, d.valueSets);
      if (d.expired) fmt::print(", {} expired", d.expired);
      if (d.skipped) fmt::print(", {} bad lines skipped", d.skipped);
      if (d.previousEntries) {
        auto delta = static_cast<int64_t>(d.entries) - static_cast<int64_t>(d.previousEntries);
        fmt::print(", {:+} since the last import", delta);
      }
      fmt::print("\n");
      lines += d.lines, entries += d.entries, expired += d.expired, skipped += d.skipped;
    }
    fmt::print("total: {} datasets, {} lines read, {} entries accepted, {} expired, {} bad lines "
               "skipped\n",
               res.datasets.size(), lines, entries, expired, skipped);
    if (dryRun) {
      fmt::print("check passed in {:.3f} s; nothing written (--dry-run)\n", res.seconds);
    } else {
      for (const auto& [zone, serial] : res.serials)
        fmt::print("zone {} serial {}\n", zone, serial);
      fmt::print("imported in {:.3f} s into {}\n", res.seconds, cfg.server.store.string());
    }
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"dnsxl - import DNSBL/RHSBL feeds into the dnsxl store"};
  app.require_subcommand(1);
  std::string configPath;
  bool dryRun = false, quiet = false, force = false;

  auto* imp =
      app.add_subcommand("import", "compile the configured feeds into the store (one transaction)");
  imp->add_option("-c,--config", configPath, "TOML config file")->required();
  imp->add_flag("-n,--dry-run", dryRun, "parse and check everything, write nothing");
  imp->add_flag("-q,--quiet", quiet, "print errors only");
  imp->add_flag("-f,--force", force,
                "import even what the guard refuses (too wide, special space, shrinking)");

  auto* chk = app.add_subcommand("check", "parse and check the configured feeds; write nothing");
  chk->add_option("-c,--config", configPath, "TOML config file")->required();

  std::string subject, zone;
  bool json = false;
  auto* why = app.add_subcommand(
      "why", "what each zone answers for an address or domain, and the feed lines behind it");
  why->add_option("subject", subject, "an IPv4 or IPv6 address, or a domain name")->required();
  why->add_option("-c,--config", configPath, "TOML config file")->required();
  why->add_option("-z,--zone", zone, "only this zone");
  why->add_flag("--json", json, "machine-readable output");

  app.add_flag_callback("-V,--version", [] {
    fmt::print("dnsxl {} (store schema {})\n", DNSXL_VERSION, dnsxl::store::kSchemaVersion);
    std::exit(0);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*imp) return importCommand(configPath, dryRun, quiet, force);
  if (*chk) return importCommand(configPath, true, quiet, false);
  if (*why) {
    try {
      return dnsxl::zonegen::whyCommand(dnsxl::config::load(configPath), subject, zone, json);
    } catch (const std::exception& e) {
      fmt::print(stderr, "dnsxl: {}\n", e.what());
      return 2;
    }
  }
  return 2;
}
