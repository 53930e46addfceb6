// The TOML configuration shared by `dnsxl` and `dnsxld` (docs/configuration.md).
// Parses and validates only: unknown keys, bad values and missing fields are errors naming
// file:line; relative paths are resolved against the config file's directory.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dnsxl::config {

class ConfigError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct Listen {
  std::string address; // numeric IPv4 or IPv6
  uint16_t port = 53;
};
// "127.0.0.1:5353", "[::1]:5353", "127.0.0.1" (port 53)
std::optional<Listen> parseListen(std::string_view text);

// An address prefix: "192.0.2.0/24", "2001:db8::/32", or one address.
struct Prefix {
  bool v6 = false;
  std::array<uint8_t, 16> addr{}; // IPv4: the first 4 bytes
  unsigned len = 0;
  // Whether the address (4 or 16 bytes, network order) lies inside.
  bool contains(bool isV6, const uint8_t* address) const;
};
std::optional<Prefix> parsePrefix(std::string_view text);

struct Server {
  std::vector<Listen> listen;
  std::filesystem::path store;
  unsigned workers = 0; // 0 = one per core
  uint32_t tcpIdleTimeoutMs = 10000;
  unsigned tcpMaxConnections = 150;
  unsigned tcpMaxPerClient = 16; // one address (IPv6: one /64); 0 = no cap
  // UDP response rate limiting per client network (IPv4 /24, IPv6 /56); 0 = off
  uint32_t rrlPerSecond = 0;
  uint32_t rrlSlip = 2; // every slip-th limited response is sent truncated (TC); 0 = none
  uint16_t ednsUdpMax = 1232;
  uint64_t mapSize = uint64_t{16} << 30;
  uint32_t auditDays = 365; // the audit trail keeps this many days of changes; 0 = everything
  // Who may transfer the zones (AXFR/IXFR, RFC 5936 §5); loopback by default.
  std::vector<Prefix> transferAllow;
  uint64_t transferMaxRecords = 100'000'000;
  // The IXFR journal covers zones of up to this many records (each change renders the zone
  // twice); 0 = no journal.
  uint64_t journalMaxRecords = 100'000;
  // TSIG keys (RFC 8945); transferKey names the one transfers must be signed with (and NOTIFY is
  // signed with); empty: transfers need no key.
  struct TsigKey {
    std::string name, algorithm, secret; // secret in base64
  };
  std::vector<TsigKey> tsigKeys;
  std::string transferKey;
  // Secondaries to NOTIFY when a zone's serial changes (RFC 1996), port 53 by default.
  std::vector<Listen> notify;
  uint32_t notifyRetryMs = 2000;
  unsigned notifyRetries = 5;
  uint32_t notifyDelayMs = 1000;
  std::string version = "dnsxl"; // CH TXT version.bind answer; "" refuses it
  // rbldnsd's global acl (`:acl:file`): client addresses and actions for every zone
  std::vector<std::filesystem::path> acl;
  bool aclSkipBadLines = false;
  // Who we are to a client that asks (RFC 4892 §2: CH TXT id.server / hostname.bind; RFC 5001:
  // the EDNS NSID option); "" = refused / not sent.
  std::string identity;
  std::string nsid;
  uint32_t drainTimeoutMs = 20000; // SIGTERM: how long TCP sessions and transfers may finish
  std::string logLevel = "info";   // error, warning, notice, info, debug
  // An rsync mirror's store: no LMDB writer touches it, rsync replaces data.mdb whole; dnsxld
  // opens it without LMDB's lock file and serves each new file within a second.
  bool mirror = false;
};

// [http]: /metrics (Prometheus), /healthz, /readyz. Off unless the section is there.
struct Http {
  bool enabled = false;
  std::vector<Listen> listen; // loopback by default
  uint32_t maxDataAgeS = 0;   // /readyz fails when the store's last change is older; 0 = no limit
};

// [web]: the listed party's door (`dnsxl web`): a lookup page and API on a public listener.
// Off unless the section is there.
struct Web {
  bool enabled = false;
  std::vector<Listen> listen; // required
  std::string title = "DNSBL lookup";
  std::string contact; // how to reach the operator (shown on every page)
  // the entry fields shown to the public (never file paths or lines)
  std::vector<std::string> fields = {"reason", "ref", "listed", "expires", "delist"};
  uint32_t ratePerMinute = 30; // lookups per client (/32, IPv6 /64) per minute
  // Removal requests (the form under a listed result; `dnsxl requests` decides them).
  bool requests = true;
  std::filesystem::path requestsFile; // default: requests.mdb in the store directory
  uint32_t requestsPerSubjectPerDay = 3, requestsPerClientPerDay = 10;
  // Proof for a requester outside the subject's /24 (IPv6 /64): a code mailed to the abuse
  // contact the operator names for it (longest prefix, or the domain or a parent); a domain
  // without one gets abuse@ its registrable domain (RFC 2142).
  std::vector<std::pair<Prefix, std::string>> abuseNetworks;
  std::vector<std::pair<std::string, std::string>> abuseDomains;
  std::vector<std::string> mailCommand = {"/usr/sbin/sendmail", "-t", "-i"};
  std::string mailFrom;  // From: of the code's mail (empty: what the mail command puts)
  std::string publicUrl; // the page's public address, for the link in the mail
};

// "name@example.org": one @, a local part of printable ASCII without blanks, quotes, <>, commas
// or semicolons (≤ 64), a domain name with a dot (≤ 253). What the request form and the
// abuse contacts accept.
bool isMailAddress(std::string_view s);

// [query_log]: one line per answered query, written by a thread of its own. Off unless there.
struct QueryLog {
  std::filesystem::path path;     // "-" = standard output
  std::string format = "rbldnsd"; // rbldnsd's -l lines, or "json" (JSON Lines)
  uint32_t buffer = 65536;        // lines waiting for the writer; past it lines are dropped
};

struct Soa {
  std::string mname, rname;
  uint32_t refresh = 3600, retry = 600, expire = 604800, minimum = 300, ttl = 3600;
};

struct Dataset {
  std::string name;
  std::string format;
  std::vector<std::filesystem::path> files;
  uint32_t a = 0x7f000002;
  std::optional<std::string> txt;
  std::optional<uint32_t> ttl;
  bool skipBadLines = false;      // rbldnsd-style: warn about a bad line and go on
  bool allowHostBits = false;     // 10.0.0.1/24 means 10.0.0.0/24 (rbldnsd -e)
  bool gzip = true;               // read gzip-compressed files (rbldnsd -C turns this off)
  bool allowPublicSuffix = false; // list `com`, `co.uk` ... (refused by default)
  // csv/jsonl: field (subject, url, code, reason, ref, listed, expires, evidence, delist, type) ->
  // column (a 1-based number or a header name) or JSON key
  std::vector<std::pair<std::string, std::string>> fields;
  char delimiter = ',';
  bool header = false;
  std::filesystem::path tokens; // rdns: the tokens file (dynamic: ... / static: ...)
  // URL feeds: the shared hosts not listed (shared_hosts = ["builtin", "file", ...]; [] none)
  bool sharedHostsBuiltin = true;
  std::vector<std::filesystem::path> sharedHostsFiles;
  // The import guard (RFC 6471 §3.4: never list the world); `dnsxl import --force` overrides it.
  unsigned widestIp4 = 8;         // refuse entries wider than this prefix length; 0 = no limit
  unsigned widestIp6 = 16;        // the same for IPv6
  bool guardSpecial = true;       // refuse 0/8, 224/4, 240/4, ::, ::1, ff00::/8 (never mail)
  unsigned maxShrinkPercent = 50; // refuse an import that drops more entries than this; 100 = off
};

// [[zone.access]]: who may ask a zone, by the client's longest matching prefix (of equal ones,
// the first rule's).
struct Access {
  std::vector<Prefix> clients; // from 'clients' and the 'clients_file' lists
  std::string action;          // "allow", "deny" (no reply), "refuse", "empty", "answer"
  uint32_t a = 0x7fffffffU;    // answer: the A code (127.255.255.255 unless given)
  std::string txt;             // answer: the TXT
  uint32_t ttl = 300;          // answer: the records' TTL
};

// A keyed zone: queries ask `<query>.<key>.<zone>` with a key of the store (`dnsxl key add`); an
// unknown or revoked key, and a key over its quota, get these answers for every name.
struct Keyed {
  bool on = false;
  Access unknown{{}, "answer", 0x7ffffffcU, "Unknown or revoked access key", 60};     // .252
  Access overQuota{{}, "answer", 0x7fffffffU, "Access key over its query quota", 60}; // .255
};

struct Zone {
  std::string name;
  std::vector<std::string> ns;
  std::optional<Soa> soa;
  uint32_t ttl = 2100;
  uint32_t ttlMin = 0, ttlMax = 0; // clamps for every TTL of the zone; 0 = none (rbldnsd -t)
  bool allowNoNs = false;          // serve a zone without NS records (rbldnsd zones without $NS)
  // "import": each import sets the serial (Unix time, or +1); "data": the first $SOA's serial,
  // or when it is 0 the newest data file's modification time (rbldnsd's way).
  std::string serial = "import";
  std::vector<Dataset> datasets;
  std::vector<Access> access;
  Keyed keyed;
};

struct Config {
  std::filesystem::path file;
  Server server;
  Http http;
  QueryLog queryLog;
  Web web;
  std::vector<Zone> zones;
};

Config load(const std::filesystem::path& file);
Config parse(std::string_view text, const std::filesystem::path& file);

} // namespace dnsxl::config
