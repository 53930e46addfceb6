// Removal requests (M3AAWG "Help - I'm on a blocklist"; RFC 6471 §2.2.2-2.2.3): filed by the
// listed party on `dnsxl web`'s form, decided by the operator with `dnsxl requests`.
//
// A request needs proof that it comes from whoever runs the subject, without a captcha: it is
// sent from the subject's own network (the /24 of an IPv4 address, the /64 of an IPv6 one), or
// it carries a code mailed to the abuse contact the operator names for the subject
// ([web.abuse_contacts]; a domain without one: abuse@ its registrable domain, RFC 2142). Only a
// listed subject can be asked for; one request per subject is open at a time, and few are filed
// per subject and per client a day. Approving one delists the subject wherever it is listed
// (`dnsxl delist`, the request as reason, in the audit trail); the requester's page shows the
// state. The requests live in store::RequestStore (requests.mdb, never on mirrors).
#pragma once

#include "config/config.hh"
#include "store/requests.hh"
#include "store/store.hh"

#include <filesystem>
#include <optional>
#include <string>

namespace dnsxl::zonegen {

inline constexpr size_t kMaxRequestText = 2000;
inline constexpr int64_t kCodeLifetime = 48 * 3600; // an unconfirmed request lapses after it
inline constexpr uint32_t kMaxCodeAttempts = 5;

std::filesystem::path requestsPath(const config::Config& cfg);
std::string utcText(int64_t t); // "2026-12-05 19:00 UTC"
// A client as the rate limits count it: the address, an IPv6 address's /64.
std::string clientNetworkKey(const std::string& client);
// n random characters (OpenSSL RAND_bytes) from an alphabet of exactly 32: 5 bits each.
std::string randomText(size_t n, std::string_view alphabet);

// Whether an unconfirmed request has lapsed at now.
inline bool lapsed(const store::RequestRecord& r, int64_t now) {
  return r.state == store::RequestRecord::Unconfirmed && now - r.filed >= kCodeLifetime;
}
// The state as the requester and the operator see it: "lapsed" for a lapsed unconfirmed one.
std::string stateText(const store::RequestRecord& r, int64_t now);

// How a request for subject (an address or domain, tidied) from client is proved: the client is
// in the subject's network, or a code goes to mailTo. nullopt (error set) when neither works.
struct Proof {
  std::string network; // "192.0.2.0/24" when the client is in it
  std::string mailTo;  // else the abuse contact
};
std::optional<Proof> proofFor(const config::Web& web, const std::string& subject,
                              const std::string& client, std::string& error);

struct Filed {
  unsigned status = 0; // 0: filed; else the HTTP status of the refusal (400, 409, 429, 503)
  std::string error;   // why, for the requester
  uint64_t id = 0;
  std::string key; // the status page's key, in clear (the store keeps its hash)
};

// The requester's side of `dnsxl web`.
class RequestDesk {
public:
  RequestDesk(const config::Config& cfg, store::Env& env);
  Filed file(const std::string& subject, const std::string& contact, const std::string& text,
             const std::string& client, int64_t now);
  // The request, when key is its status page's key.
  std::optional<store::RequestRecord> status(uint64_t id, const std::string& key) const;
  // Confirms an unconfirmed request with the mailed code: empty, or why not.
  std::string confirm(uint64_t id, const std::string& key, const std::string& code,
                      const std::string& client, int64_t now);

private:
  const config::Config& d_cfg;
  store::Env& d_env;
  store::RequestStore d_requests;
};

// `dnsxl requests [--all] [--json]`, `... show N`, `... approve N [--reason]`,
// `... deny N --reason`.
struct RequestsArgs {
  std::string action; // "", "show", "approve", "deny"
  uint64_t id = 0;
  std::string reason, by;
  bool all = false, json = false, force = false;
};
int requestsCommand(const config::Config& cfg, const RequestsArgs& args);

} // namespace dnsxl::zonegen
