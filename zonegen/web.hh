// `dnsxl web`: the listed party's door (M3AAWG, "Help - I'm on a blocklist"). A lookup page
// (server-side HTML, no script, works in any browser and screen reader) and the same as JSON
// (/v1/lookup?q=), from the store, read-only: per zone listed or not, the TXT as served and the
// public fields of the entries behind it — never feed paths. Lookups are rate limited per
// client; malformed input gets a clear message, never a 500. Under a listed result, the removal
// request form (zonegen/requests.hh): POST /request files one, /request/N?key=K shows its state
// (and takes the mailed code), /v1/request/N?key=K the same as JSON.
#pragma once

#include "config/config.hh"
#include "store/store.hh"
#include "zonegen/requests.hh"

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace dnsxl::zonegen {

// The page and API without the network (tests call it directly): a response to GET target from
// client at now.
struct WebResponse {
  unsigned status = 200;
  std::string contentType, body;
  unsigned retryAfter = 0; // seconds, with 429
  std::string location;    // with 303
};

class WebSite {
public:
  WebSite(const config::Config& cfg, store::Env& env);
  WebResponse get(const std::string& target, const std::string& client,
                  std::chrono::steady_clock::time_point now);
  // A form's POST (application/x-www-form-urlencoded); wall is the time filed (0: now).
  WebResponse post(const std::string& target, const std::string& contentType,
                   const std::string& body, const std::string& client,
                   std::chrono::steady_clock::time_point now, int64_t wall = 0);

private:
  bool allow(const std::string& client, std::chrono::steady_clock::time_point now,
             unsigned& retryAfter);
  WebResponse lookupJson(const std::string& q);
  WebResponse lookupHtml(const std::string& q, const std::string& client);
  std::string requestForm(const std::string& subject, const std::string& client,
                          const std::string& contact, const std::string& text);
  WebResponse requestPage(uint64_t id, const std::string& key, bool json, const std::string& error,
                          unsigned status);
  WebResponse fileRequest(const std::string& body, const std::string& client, int64_t wall);
  WebResponse confirmRequest(uint64_t id, const std::string& body, const std::string& client,
                             int64_t wall);

  const config::Config& d_cfg;
  store::Env& d_env;
  std::unique_ptr<RequestDesk> d_desk; // when [web] requests
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::map<std::string, Bucket> d_buckets; // per client (/32, IPv6 /64)
};

// Serves [web] until SIGTERM/SIGINT; the exit status.
int webCommand(const config::Config& cfg);

} // namespace dnsxl::zonegen
