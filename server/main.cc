// dnsxld: serves the zones of a dnsxl store over UDP and TCP. Reads the TOML config (its
// [server], [http] and [query_log], and which zones to serve); the zones' data comes from the
// store, so a new import is served without a restart. SIGHUP reloads the config, SIGTERM drains
// and stops (service.hh). Given rbldnsd's command line instead, it runs as a drop-in rbldnsd
// (rbldnsd_mode.hh).
#include "server/log.hh"
#include "server/rbldnsd_cli.hh"
#include "server/rbldnsd_mode.hh"
#include "server/serve.hh"
#include "server/service.hh"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/resource.h>

// As many open files as the hard limit allows: each TCP connection is one (tcp_max_connections
// of 150 by default, thousands when raised), and the soft limit is often 1024.
void raiseFileLimit() {
  rlimit l{};
  if (::getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur < l.rlim_max) {
    l.rlim_cur = l.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &l);
  }
}

int main(int argc, char** argv) {
  using namespace dnsxl;
  blockSignals();
  raiseFileLimit();
  log::detectJournal();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (rbldnsd::looksLikeRbldnsd(args)) return runRbldnsdMode(args, DNSXL_VERSION);
  CLI::App app{"dnsxld - authoritative DNSBL/RHSBL server for a dnsxl store"};
  service::Args sa;
  sa.version = DNSXL_VERSION;
  bool check = false;
  std::string configPath;
  app.add_option("-c,--config", configPath, "TOML config file")->required();
  app.add_option("-l,--listen", sa.listen,
                 "listen on ADDRESS:PORT or [IPv6]:PORT instead of the config's addresses "
                 "(repeatable; port 0 picks a free port)");
  app.add_option_function<unsigned>(
         "-w,--workers", [&](unsigned v) { sa.workers = v; },
         "worker threads (default: the config's, else one per core)")
      ->check(CLI::Range(1U, 256U));
  app.add_flag("--check-config", check,
               "check the config (keys, addresses, TSIG secrets, the store's presence) without "
               "serving; exit 0 when dnsxld would start (for ExecStartPre)");
  app.add_flag_callback("-V,--version", [] {
    fmt::print("dnsxld {}\n", DNSXL_VERSION);
    std::exit(0);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  sa.config = configPath;
  return check ? service::checkConfig(sa) : service::run(sa);
}
