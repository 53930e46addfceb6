// dnsxl: the operator's command line. `import` compiles the configured feeds into the store in one
// transaction; `check` does the same without writing; `add`, `delist` and `expire` change the
// served data in place; `why` and `history` explain it. Exit status 0 on success, 1 on refused
// data (or nothing changed / not listed), 2 on usage errors.
#include "config/config.hh"
#include "feeds/feed.hh"
#include "store/store.hh"
#include "zonegen/apply.hh"
#include "zonegen/export.hh"
#include "zonegen/import.hh"
#include "zonegen/keys.hh"
#include "zonegen/live.hh"
#include "zonegen/requests.hh"
#include "zonegen/snapshot.hh"
#include "zonegen/web.hh"
#include "zonegen/why.hh"

#include <CLI/CLI.hpp>
#include <csignal>
#include <fmt/format.h>
#include <iostream>
#include <unistd.h>

namespace {

// The last resort on a disk that fills while an import writes through LMDB's memory map (the
// store only does so when the free space covers the whole map, see store/env.cc, but another
// process can take it meanwhile): a page that cannot be backed faults. LMDB writes its meta
// page last, so the store still holds the last committed data; say so and exit 1 instead of
// dying by the signal.
void onBusError(int) {
  static constexpr char kText[] =
      "dnsxl: a write to the store's memory map failed (SIGBUS: the disk holding the store is "
      "full or failing); nothing was committed, the store holds the data it had before\n";
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, kText, sizeof kText - 1);
  ::_exit(1);
}

// "5 URLs on shared hosts not listed (docs.google.com 3, bit.ly 2)": the most frequent first.
std::string sharedHostsText(const std::map<std::string, uint64_t>& byHost) {
  std::vector<std::pair<uint64_t, std::string>> hosts;
  uint64_t total = 0;
  for (const auto& [host, n] : byHost)
    hosts.emplace_back(n, host), total += n;
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string shown;
  constexpr size_t kShown = 5;
  for (size_t i = 0; i < hosts.size() && i < kShown; ++i)
    shown += fmt::format("{}{} {}", i ? ", " : "", hosts[i].second, hosts[i].first);
  if (hosts.size() > kShown) shown += fmt::format(", {} more hosts", hosts.size() - kShown);
  return fmt::format("{} URL{} on shared hosts not listed ({})", total, total == 1 ? "" : "s",
                     shown);
}

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
    options.by = zonegen::currentUser();
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
      if (!d.sharedHostUrls.empty()) fmt::print(", {}", sharedHostsText(d.sharedHostUrls));
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

struct LiveArgs {
  std::vector<std::string> subjects;
  std::string file, zone, dataset, by, code, reason, ref, evidence, delist, expires, duration;
  bool force = false, dryRun = false;
};

int liveCommand(const std::string& configPath, const LiveArgs& a, bool delist) {
  using namespace dnsxl;
  try {
    const auto cfg = config::load(configPath);
    const auto now = static_cast<int64_t>(std::time(nullptr));
    std::array<std::string, feeds::kFieldCount> fields;
    fields[feeds::kCode] = a.code;
    fields[feeds::kReason] = a.reason;
    fields[feeds::kRef] = a.ref;
    fields[feeds::kEvidence] = a.evidence;
    fields[feeds::kDelist] = a.delist;
    fields[feeds::kExpires] = a.expires;
    if (!a.duration.empty()) {
      auto d = feeds::parseTime(a.duration);
      if (!d || *d == 0) {
        fmt::print(stderr, "dnsxl: --for '{}' is not a duration (e.g. 3600, 12h, 7d, 2w)\n",
                   a.duration);
        return 2;
      }
      const auto until = static_cast<std::time_t>(now + *d);
      char buf[32];
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&until));
      fields[feeds::kExpires] = buf;
    }
    std::vector<std::string> errors;
    std::vector<zonegen::Change> changes;
    for (size_t i = 0; i < a.subjects.size(); ++i) {
      zonegen::Change c;
      c.subject = a.subjects[i];
      c.source = delist ? "dnsxl delist" : "dnsxl add";
      c.fields = fields;
      changes.push_back(std::move(c));
    }
    if (!a.file.empty())
      for (auto& c : zonegen::readChanges(a.file, errors)) {
        auto own = c.fields[feeds::kReason];
        c.fields = fields;
        if (!own.empty()) c.fields[feeds::kReason] = own; // the line's reason wins
        changes.push_back(std::move(c));
      }
    for (const auto& e : errors)
      fmt::print(stderr, "error: {}\n", e);
    if (!errors.empty()) return 1;
    zonegen::LiveOptions o;
    o.delist = delist;
    o.zone = a.zone;
    o.dataset = a.dataset;
    o.by = a.by.empty() ? zonegen::currentUser() : a.by;
    o.force = a.force;
    o.dryRun = a.dryRun;
    o.now = now;
    auto res = zonegen::applyChanges(cfg, o, changes);
    for (const auto& w : res.warnings)
      fmt::print(stderr, "warning: {}\n", w);
    for (const auto& e : res.errors)
      fmt::print(stderr, "error: {}\n", e);
    if (!res.errors.empty()) {
      fmt::print(stderr, "dnsxl: {} refused ({} errors); the store is unchanged\n",
                 delist ? "delist" : "add", res.errors.size());
      return 1;
    }
    for (const auto& d : res.done)
      fmt::print("{}{}\n", d, a.dryRun ? " (--dry-run: not written)" : "");
    for (const auto& [zone, serial] : res.serials)
      fmt::print("zone {} serial {}\n", zone, serial);
    if (!res.ok) fmt::print(stderr, "dnsxl: nothing changed\n");
    return res.ok ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dnsxl: {}\n", e.what());
    return 1;
  }
}

int expireCommand(const std::string& configPath, const std::string& by, bool quiet) {
  using namespace dnsxl;
  try {
    auto res =
        zonegen::runExpire(config::load(configPath), by.empty() ? zonegen::currentUser() : by);
    if (!quiet) {
      for (const auto& d : res.done)
        fmt::print("{}\n", d);
      for (const auto& [zone, serial] : res.serials)
        fmt::print("zone {} serial {}\n", zone, serial);
      if (res.done.empty()) fmt::print("nothing has expired\n");
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dnsxl: {}\n", e.what());
    return 1;
  }
}

// Every option of every subcommand, and which subcommand was given.
struct Cli {
  std::string configPath, subject, zone, by, snapshotDir;
  bool dryRun = false, quiet = false, force = false, json = false;
  LiveArgs live;
  dnsxl::zonegen::ExportOptions exportOptions;
  dnsxl::zonegen::RequestsArgs requests;
  dnsxl::zonegen::KeyArgs key;
  CLI::App *imp = nullptr, *chk = nullptr, *why = nullptr, *add = nullptr, *del = nullptr,
           *exp = nullptr, *hist = nullptr, *expo = nullptr, *snap = nullptr, *web = nullptr,
           *req = nullptr, *reqShow = nullptr, *reqApprove = nullptr, *reqDeny = nullptr,
           *keyAdd = nullptr, *keyRevoke = nullptr, *keyList = nullptr;
};

// key: the access keys of keyed zones.
void keyCommands(CLI::App& app, Cli& cli) {
  auto& k = cli.key;
  auto* key = app.add_subcommand("key", "access keys of keyed zones: add, revoke, list");
  key->require_subcommand(1);
  cli.keyAdd = key->add_subcommand("add", "add a key (without NAME: a random one, printed)");
  cli.keyAdd->add_option("name", k.name, "the key: 8 to 63 of a-z and 0-9");
  cli.keyAdd->add_option("--per-second", k.perSecond, "queries a second (0: no limit)");
  cli.keyAdd->add_option("--per-day", k.perDay, "queries a UTC day (0: no limit)");
  cli.keyAdd->add_option("--note", k.note, "whom the key is for");
  cli.keyAdd->add_option("--by", k.by, "who adds it (default: $SUDO_USER or the user)");
  cli.keyRevoke = key->add_subcommand("revoke", "revoke a key: its queries get the unknown code");
  cli.keyRevoke->add_option("name", k.name, "the key")->required();
  cli.keyList = key->add_subcommand("list", "every key, with its quotas");
  cli.keyList->add_flag("--json", k.json, "machine-readable output");
  for (auto* c : {cli.keyAdd, cli.keyRevoke, cli.keyList})
    c->add_option("-c,--config", cli.configPath, "TOML config file")->required();
}

// requests: the removal requests filed on `dnsxl web`, and the operator's decisions.
void requestCommands(CLI::App& app, Cli& cli) {
  auto& r = cli.requests;
  cli.req = app.add_subcommand("requests", "list removal requests; show, approve or deny one");
  cli.req->add_option("-c,--config", cli.configPath, "TOML config file");
  cli.req->add_flag("--all", r.all, "every request, not only those waiting");
  cli.req->add_flag("--json", r.json, "machine-readable output");
  cli.reqShow = cli.req->add_subcommand("show", "one request, with its history");
  cli.reqApprove = cli.req->add_subcommand(
      "approve", "delist the subject wherever it is listed (the request as reason) and close it");
  cli.reqDeny = cli.req->add_subcommand("deny", "close the request without delisting");
  for (auto* c : {cli.reqShow, cli.reqApprove, cli.reqDeny}) {
    c->add_option("id", r.id, "the request's number")->required();
    c->add_option("-c,--config", cli.configPath, "TOML config file");
  }
  cli.reqShow->add_flag("--json", r.json, "machine-readable output");
  cli.reqApprove->add_option("-r,--reason", r.reason, "a note for the audit trail and requester");
  cli.reqDeny->add_option("-r,--reason", r.reason, "why (shown to the requester)")->required();
  for (auto* c : {cli.reqApprove, cli.reqDeny}) {
    c->add_option("--by", r.by, "who decides (default: $SUDO_USER or the user)");
    c->add_flag("--force", r.force, "decide a request whose mailed code was not given");
  }
}

void liveOptions(CLI::App* c, Cli& cli, bool delist) {
  auto& live = cli.live;
  c->add_option("subject", live.subjects,
                "addresses, CIDRs, a-b ranges or domains (*.name: below it, .name: both)");
  c->add_option("-c,--config", cli.configPath, "TOML config file")->required();
  c->add_option("--file", live.file,
                "a file of changes: one subject per line, optionally followed by its reason");
  c->add_option("-z,--zone", live.zone, "the zone (default: the config's only zone)");
  c->add_option("-d,--dataset", live.dataset, "the dataset (default: the zone's only list)");
  auto* reason = c->add_option("-r,--reason", live.reason, "why (shown in TXT via {reason})");
  if (delist) reason->required();
  c->add_option("--ref", live.ref, "a reference: ticket, case or SBL id");
  c->add_option("--by", live.by, "who makes the change (default: $SUDO_USER or the user)");
  c->add_flag("--force", live.force,
              delist ? "delist even what is not listed (keeps imports from listing it)"
                     : "add even what the import guard refuses");
  c->add_flag("-n,--dry-run", live.dryRun, "check and report; write nothing");
  if (delist) return;
  c->add_option("--code", live.code, "the A code (127.0.0.x or x; default: the dataset's)");
  c->add_option("--evidence", live.evidence, "an evidence URL ({evidence})");
  c->add_option("--delist-url", live.delist, "where to ask for removal ({delist})");
  auto* exp = c->add_option("--expires", live.expires,
                            "stop listing at this time (2026-12-31, 2026-12-31T12:00:00Z)");
  c->add_option("--for", live.duration, "stop listing after this long (3600, 12h, 7d, 2w)")
      ->excludes(exp);
}

// import, check, why, history: reading and checking.
void readCommands(CLI::App& app, Cli& cli) {
  cli.imp =
      app.add_subcommand("import", "compile the configured feeds into the store (one transaction)");
  cli.imp->add_option("-c,--config", cli.configPath, "TOML config file")->required();
  cli.imp->add_flag("-n,--dry-run", cli.dryRun, "parse and check everything, write nothing");
  cli.imp->add_flag("-q,--quiet", cli.quiet, "print errors only");
  cli.imp->add_flag("-f,--force", cli.force,
                    "import even what the guard refuses (too wide, special space, shrinking)");
  cli.chk = app.add_subcommand("check", "parse and check the configured feeds; write nothing");
  cli.chk->add_option("-c,--config", cli.configPath, "TOML config file")->required();
  cli.why = app.add_subcommand(
      "why", "what each zone answers for an address or domain, and the feed lines behind it");
  cli.hist = app.add_subcommand(
      "history", "every change of the listings that touched an address or domain, oldest first");
  cli.web = app.add_subcommand(
      "web", "serve the public lookup page and API ([web]: the listed party's door)");
  cli.web->add_option("-c,--config", cli.configPath, "TOML config file")->required();
  for (auto* c : {cli.why, cli.hist}) {
    c->add_option("subject", cli.subject, "an IPv4 or IPv6 address, or a domain name")->required();
    c->add_option("-c,--config", cli.configPath, "TOML config file")->required();
    c->add_option("-z,--zone", cli.zone, "only this zone");
    c->add_flag("--json", cli.json, "machine-readable output");
  }
}

// add, delist, expire: live changes.
void changeCommands(CLI::App& app, Cli& cli) {
  cli.add = app.add_subcommand("add", "list entries now (kept across imports)");
  liveOptions(cli.add, cli, false);
  cli.del = app.add_subcommand(
      "delist",
      "take entries off the list now (kept across imports; a name goes with its subtree)");
  liveOptions(cli.del, cli, true);
  cli.exp = app.add_subcommand("expire", "drop entries whose expiry has passed; bump serials");
  cli.exp->add_option("-c,--config", cli.configPath, "TOML config file")->required();
  cli.exp->add_option("--by", cli.by, "who runs it (the audit trail)");
  cli.exp->add_flag("-q,--quiet", cli.quiet, "print errors only");
}

// export, snapshot: copies for mirrors.
void copyCommands(CLI::App& app, Cli& cli) {
  auto& eo = cli.exportOptions;
  cli.expo = app.add_subcommand("export", "write a zone as a master file for mirrors");
  cli.expo->add_option("-c,--config", cli.configPath, "TOML config file")->required();
  cli.expo->add_option("-z,--zone", eo.zone, "the zone (default: the store's only zone)");
  cli.expo
      ->add_option("--format", eo.format,
                   "zone: a master file (RFC 1035); rbldnsd: rbldnsd data files in -o DIR")
      ->check(CLI::IsMember({"zone", "rbldnsd"}));
  cli.expo->add_option("-o,--output", eo.output,
                       "the file (written under a temporary name, then renamed); default stdout");
  cli.expo->add_option("--max-records", eo.maxRecords,
                       "refuse a zone that needs more records than this");
  cli.snap = app.add_subcommand(
      "snapshot", "write a compacted, consistent copy of the store for rsync mirrors");
  cli.snap
      ->add_option("dir", cli.snapshotDir, "where: DIR/data.mdb, DIR/data.mdb.sha256, DIR/SERIALS")
      ->required();
  cli.snap->add_option("-c,--config", cli.configPath, "TOML config file")->required();
  cli.snap->add_flag("-q,--quiet", cli.quiet, "print errors only");
}

// Runs a command on the loaded config; a config or store error is printed and exits `failure`.
int withConfig(const std::string& path, int failure,
               const std::function<int(const dnsxl::config::Config&)>& f) {
  try {
    return f(dnsxl::config::load(path));
  } catch (const std::exception& e) {
    fmt::print(stderr, "dnsxl: {}\n", e.what());
    return failure;
  }
}

int run(const Cli& cli) {
  namespace zg = dnsxl::zonegen;
  using Config = dnsxl::config::Config;
  if (*cli.imp) return importCommand(cli.configPath, cli.dryRun, cli.quiet, cli.force);
  if (*cli.chk) return importCommand(cli.configPath, true, cli.quiet, false);
  if (*cli.snap)
    return withConfig(cli.configPath, 1, [&](const Config& c) {
      return zg::snapshotCommand(c, cli.snapshotDir, cli.quiet);
    });
  if (*cli.expo)
    return withConfig(cli.configPath, 1,
                      [&](const Config& c) { return zg::exportCommand(c, cli.exportOptions); });
  if (*cli.add) return liveCommand(cli.configPath, cli.live, false);
  if (*cli.del) return liveCommand(cli.configPath, cli.live, true);
  if (*cli.exp) return expireCommand(cli.configPath, cli.by, cli.quiet);
  if (*cli.hist)
    return withConfig(cli.configPath, 2, [&](const Config& c) {
      return zg::historyCommand(c, cli.subject, cli.zone, cli.json);
    });
  if (*cli.web)
    return withConfig(cli.configPath, 1, [&](const Config& c) { return zg::webCommand(c); });
  if (cli.keyAdd && (*cli.keyAdd || *cli.keyRevoke || *cli.keyList)) {
    auto args = cli.key;
    args.action = *cli.keyAdd ? "add" : *cli.keyRevoke ? "revoke" : "list";
    return withConfig(cli.configPath, 1, [&](const Config& c) { return zg::keyCommand(c, args); });
  }
  if (*cli.req) {
    auto args = cli.requests;
    args.action = *cli.reqShow ? "show" : *cli.reqApprove ? "approve" : *cli.reqDeny ? "deny" : "";
    if (cli.configPath.empty()) {
      fmt::print(stderr, "dnsxl: requests: give the config with -c\n");
      return 2;
    }
    return withConfig(cli.configPath, 1,
                      [&](const Config& c) { return zg::requestsCommand(c, args); });
  }
  if (*cli.why)
    return withConfig(cli.configPath, 2, [&](const Config& c) {
      return zg::whyCommand(c, cli.subject, cli.zone, cli.json);
    });
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  struct sigaction bus {};
  bus.sa_handler = onBusError;
  ::sigaction(SIGBUS, &bus, nullptr);
  CLI::App app{"dnsxl - import DNSBL/RHSBL feeds into the dnsxl store"};
  app.require_subcommand(1);
  Cli cli;
  readCommands(app, cli);
  changeCommands(app, cli);
  copyCommands(app, cli);
  requestCommands(app, cli);
  keyCommands(app, cli);
  app.add_flag_callback("-V,--version", [] {
    fmt::print("dnsxl {} (store schema {})\n", DNSXL_VERSION, dnsxl::store::kSchemaVersion);
    std::exit(0);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return run(cli);
}
