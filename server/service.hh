// dnsxld in TOML mode, run as a service: the DNS server, the HTTP endpoints (/metrics, /healthz,
// /readyz), the query log, and the lifecycle — sd_notify READY/RELOADING/STOPPING, SIGHUP
// reloads the config (a bad one is refused and the old kept), SIGTERM drains, one dnsxld per
// store and per listen address.
#pragma once

#include "config/config.hh"
#include "server/net/server.hh"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dnsxl::service {

struct Args {
  std::filesystem::path config;
  std::vector<std::string> listen; // overrides the config's listen addresses
  std::optional<unsigned> workers;
  std::string version;
};

// The server options of a config (and the command line's overrides); nullopt and error (naming
// file and key) when something in it cannot be used (a TSIG secret that is not base64).
std::optional<net::Options> serverOptions(const config::Config& cfg, const Args& args,
                                          std::string& error);

// dnsxld --check-config: the config and what it names (keys, addresses, the store's presence),
// without reading a feed or binding a socket. 0 when it would start, 1 with the reason printed.
int checkConfig(const Args& args);

// Serves until SIGTERM/SIGINT; the exit status.
int run(const Args& args);

} // namespace dnsxl::service
