// `dnsxl web`: the listed party's door (M3AAWG, "Help - I'm on a blocklist"). A lookup page
// (server-side HTML, no script, works in any browser and screen reader) and the same as JSON
// (/v1/lookup?q=), from the store, read-only: per zone listed or not, the TXT as served and the
// public fields of the entries behind it — never feed paths. Lookups are rate limited per
// client; malformed input gets a clear message, never a 500.
#pragma once

#include "config/config.hh"
#include "store/store.hh"

#include <chrono>
#include <map>
#include <string>

namespace dnsxl::zonegen {

// The page and API without the network (tests call it directly): a response to GET target from
// client at now.
struct WebResponse {
  unsigned status = 200;
  std::string contentType, body;
  unsigned retryAfter = 0; // seconds, with 429
};

class WebSite {
public:
  WebSite(const config::Config& cfg, store::Env& env);
  WebResponse get(const std::string& target, const std::string& client,
                  std::chrono::steady_clock::time_point now);

private:
  bool allow(const std::string& client, std::chrono::steady_clock::time_point now,
             unsigned& retryAfter);
  WebResponse lookupJson(const std::string& q);
  WebResponse lookupHtml(const std::string& q);

  const config::Config& d_cfg;
  store::Env& d_env;
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::map<std::string, Bucket> d_buckets; // per client (/32, IPv6 /64)
};

// Serves [web] until SIGTERM/SIGINT; the exit status.
int webCommand(const config::Config& cfg);

} // namespace dnsxl::zonegen
