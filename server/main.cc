// dnsxld: serves the zones of a dnsxl store over UDP and TCP. Reads the [server] section of the
// TOML config; the zones themselves come from the store, so a new import is served without a
// restart. SIGTERM/SIGINT stop it cleanly. Given rbldnsd's command line instead, it runs as a
// drop-in rbldnsd (rbldnsd_mode.hh).
#include "config/config.hh"
#include "server/net/server.hh"
#include "server/rbldnsd_cli.hh"
#include "server/rbldnsd_mode.hh"
#include "server/serve.hh"
#include "store/store.hh"

#include <CLI/CLI.hpp>
#include <csignal>
#include <fmt/format.h>
#include <pthread.h>
#include <thread>

int main(int argc, char** argv) {
  using namespace dnsxl;
  blockSignals();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (rbldnsd::looksLikeRbldnsd(args)) return runRbldnsdMode(args, DNSXL_VERSION);
  CLI::App app{"dnsxld - authoritative DNSBL/RHSBL server for a dnsxl store"};
  std::string configPath;
  std::vector<std::string> listenOverride;
  unsigned workers = 0;
  bool workersSet = false;
  app.add_option("-c,--config", configPath, "TOML config file")->required();
  app.add_option("-l,--listen", listenOverride,
                 "listen on ADDRESS:PORT or [IPv6]:PORT instead of the config's addresses "
                 "(repeatable; port 0 picks a free port)");
  app.add_option_function<unsigned>(
         "-w,--workers", [&](unsigned v) { workers = v, workersSet = true; },
         "worker threads (default: the config's, else one per core)")
      ->check(CLI::Range(1U, 256U));
  app.add_flag_callback("-V,--version", [] {
    fmt::print("dnsxld {}\n", DNSXL_VERSION);
    std::exit(0);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  config::Config cfg;
  try {
    cfg = config::load(configPath);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "dnsxld: {}\n", e.what());
    return 1;
  }
  net::Options opt;
  if (!listenOverride.empty()) {
    for (const auto& s : listenOverride) {
      auto l = config::parseListen(s);
      if (!l) {
        fmt::print(stderr, "dnsxld: --listen '{}' is not ADDRESS:PORT or [IPv6]:PORT\n", s);
        return 2;
      }
      opt.listen.push_back({l->address, l->port});
    }
  } else {
    for (const auto& l : cfg.server.listen)
      opt.listen.push_back({l.address, l.port});
  }
  opt.workers = workersSet ? workers : cfg.server.workers;
  opt.tcpIdleTimeoutMs = cfg.server.tcpIdleTimeoutMs;
  opt.tcpMaxConnections = cfg.server.tcpMaxConnections;
  opt.answer.ednsUdpMax = cfg.server.ednsUdpMax;
  opt.answer.version = cfg.server.version;
  opt.transfer.allow = cfg.server.transferAllow;
  opt.transfer.maxRecords = cfg.server.transferMaxRecords;
  for (const auto& n : cfg.server.notify)
    opt.notify.push_back({n.address, n.port});
  opt.notifyRetryMs = cfg.server.notifyRetryMs;
  for (const auto& k : cfg.server.tsigKeys) {
    std::string error;
    auto key = answer::tsig::makeKey(k.name, k.algorithm, k.secret, error);
    if (!key) {
      fmt::print(stderr, "dnsxld: {}: tsig key {}: {}\n", configPath, k.name, error);
      return 1;
    }
    opt.transfer.keys.push_back(*key);
    opt.answer.tsigKeys.push_back(*key); // signed SOA checks are answered signed
  }
  opt.transfer.requireKey = cfg.server.transferKey;
  opt.notifyRetries = cfg.server.notifyRetries;
  opt.notifyDelayMs = cfg.server.notifyDelayMs;

  try {
    store::Env env(cfg.server.store, {.readOnly = true, .mapSize = cfg.server.mapSize});
    return serve(env, opt, nullptr, nullptr);
  } catch (const std::exception& e) {
    fmt::print(stderr, "dnsxld: {}\n", e.what());
    return 1;
  }
}
