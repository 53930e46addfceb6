// Feed parsers: rbldnsd data files (ip4set, ip4trie, ip6trie, dnset, ...), the plain list format
// and the record formats (DROP, CSV, JSON Lines, hosts, URLs, ISP dynamic space), turned into
// entries with their values and origin (file:line). No overlap resolution here
// (zonegen does it) and no I/O beyond reading the named file; every bad line is a diagnostic.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace dnsxl::feeds {

enum class Format {
  Ip4set,
  Ip4tset,
  Ip4trie,
  Ip6trie,
  Ip6tset,
  Dnset,
  Generic,
  Combined,
  Acl,
  List,
  Drop,    // Spamhaus DROP: `cidr ; SBLnnn` lines or {"cidr":...,"sblid":...} objects
  Csv,     // one record per line, fields by column (number or header name)
  Jsonl,   // one JSON object per line, fields by key
  Hosts,   // `0.0.0.0 name...`
  Urls,    // one URL per line: its host is listed (an address host in the IP data)
  Dynamic, // ISP dynamic space: `cidr|range [type] [reason]`, type `static` = exclusion
  Rdns,    // `address ptr-name`: generic (dynamic) names listed, adjacent ones as one range
};

// What a format is, in one table (formats.cc) that the parser, the compiler, the importer and
// `dnsxl add` all read instead of switching over formats.
struct FormatTraits {
  Format format;
  std::string_view name; // as the config and rbldnsd's command line write it
  bool records;          // read a record per line with fields (records.cc), not rbldnsd lines
  bool ip4, ip6, names;  // what its entries can be
  bool listings;         // entries that `dnsxl add` / `delist` may change (not acl, generic)
  // How overlapping entries are resolved: rbldnsd ip4set (the most specific, exclusions, value
  // sets), the longest prefix (tries, tsets, acl), the smallest range with equal ones merged
  // (list and the record formats), or not compiled (names, generic records, combined sections).
  enum Overlap : uint8_t { Ip4set, LongestPrefix, SmallestMerged, None } overlap;
};
const FormatTraits& traitsOf(Format format);
// Every format, in the order the config documents them.
std::span<const FormatTraits> allFormats();

// The per-entry fields of the record formats; the dataset's TXT template names them in braces:
// "Listed for {reason} since {listed}; removal: {delist}".
enum Field : size_t {
  kCode,
  kReason,
  kRef,
  kListed,
  kExpires,
  kEvidence,
  kDelist,
  kType,
  kFieldCount
};
std::optional<size_t> fieldIndex(std::string_view name);
// Replaces {field} by the field's text (its `$` made literal); other braces stay.
std::string fillTemplate(std::string_view tmpl, const std::array<std::string, kFieldCount>& fields);
// 2026-12-01, 2026-12-01T10:00:00Z, 2026-12-01T12:00:00.5+02:00, 2026-12-01 10:00 (RFC 3339;
// no offset: UTC), or Unix seconds. Strict: dates that do not exist (2030-02-31), fields of
// another width and anything after the offset are refused.
std::optional<int64_t> parseDate(std::string_view text);
// An HTTP date (IMF-fixdate, RFC 9110: "Thu, 26 Nov 2026 12:14:02 GMT"), weekday checked.
std::optional<int64_t> parseHttpDate(std::string_view text);
// The fields as kFieldCount times (u16 big-endian length, bytes): compact, and the layout the
// store keeps them in.
std::string packFields(const std::array<std::string, kFieldCount>& fields);

// rbldnsd acl actions, kept in a Value's A field (outside 127/8, so never an answer).
inline constexpr uint32_t kAclIgnore = 0xffffff01U; // drop the query
inline constexpr uint32_t kAclRefuse = 0xffffff02U; // REFUSED
inline constexpr uint32_t kAclEmpty = 0xffffff03U;  // the zone's lists look empty to the client
inline constexpr uint32_t kAclPass = 0xffffff04U;   // normal processing
std::optional<Format> parseFormat(std::string_view name);
std::string_view formatName(Format format);

__extension__ typedef unsigned __int128 U128;

// An answer value: A code and optional TXT template (rbldnsd `:A:TXT`).
struct Value {
  uint32_t a = 0x7f000002; // 127.0.0.2
  std::optional<std::string> txt;
  int64_t expires = 0; // Unix time the entry stops being listed (record formats); 0 = never
  bool operator==(const Value&) const = default;
};

// A record's answer value: A from its code (else the default's), TXT from the dataset's template
// with the fields filled in (else the reason, else the default's); nullopt + error on a bad code.
std::optional<Value> recordValue(const std::array<std::string, kFieldCount>& fields,
                                 const Value& dflt, std::string& error);

inline constexpr uint32_t kExclusion = 0xffffffffU;   // value index of an `!` entry
inline constexpr uint32_t kSharedValue = 0xfffffffeU; // ip4tset/ip6tset entry, until finish()

struct Origin {
  uint32_t file = 0; // index into Feed::files
  uint32_t line = 0;
};

struct Ip4Entry {
  uint32_t lo = 0, hi = 0;
  uint32_t value = 0; // index into Feed::values, or kExclusion
  Origin at;
};

struct Ip6Entry {
  U128 lo = 0, hi = 0;
  uint32_t value = 0;
  Origin at;
};

enum class Scope : uint8_t { Exact, Below, ExactAndBelow }; // name, *.name, .name

struct DomainEntry {
  std::string name; // lower case, no trailing dot, relative to the zone
  Scope scope = Scope::Exact;
  uint32_t value = 0;
  Origin at;
};

// A record of an rbldnsd `generic` dataset: `name [ttl] [IN] A|TXT|MX data`.
struct GenericRecord {
  std::string name;  // relative to the zone, lower case; "" for `@`
  uint16_t type = 0; // 1 A, 16 TXT, 15 MX
  std::optional<uint32_t> ttl;
  uint32_t a = 0;
  std::string text;   // TXT
  uint16_t pref = 0;  // MX
  std::string target; // MX, absolute
  Origin at;
};

struct SoaLine {
  uint32_t ttl = 0;
  std::string mname, rname;
  uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};

struct Feed;

// A `$DATASET type[:label] subzone...` section of a combined file.
struct CombinedSection {
  Format format{};
  std::string label;
  std::vector<std::string> subzones; // relative names; "" for `@`
  std::shared_ptr<Feed> feed;
};

// Everything read for one dataset, from one or more files.
struct Feed {
  std::vector<std::string> files;
  std::vector<Value> values;
  std::vector<Ip4Entry> ip4;
  std::vector<Ip6Entry> ip6;
  std::vector<DomainEntry> domains;
  std::vector<GenericRecord> records;
  std::vector<CombinedSection> sections; // combined: one per $DATASET
  std::optional<SoaLine> soa;
  std::vector<std::string> ns;
  uint32_t nsTtl = 0;
  std::optional<uint32_t> ttl;
  std::array<std::optional<std::string>, 10> vars;
  std::optional<std::string> baseTemplate; // rbldnsd `$=`: every TXT is built from it
  std::optional<Value> sharedValue;        // ip4tset/ip6tset: the first default line
  uint64_t maxRange4 = 0;                  // `$MAXRANGE4`, 0 = no limit (applies to later lines)
  std::optional<int64_t> timestamp;        // `$TIMESTAMP stamp [expires]`, Unix times
  std::optional<int64_t> expires;
  std::vector<std::string> diagnostics; // "file:line: what is wrong"
  std::vector<std::string> fileErrors;  // "file: cannot open file" and the like: always fatal
  uint64_t linesRead = 0;
  uint64_t expired = 0; // records skipped because their expiry has passed
  // DROP files' `; Expires:` headers: the time, and file:line
  std::vector<std::pair<int64_t, std::string>> listExpires;
  // URLs on shared hosts, not listed (SharedHosts), by host
  std::map<std::string, uint64_t> sharedHostUrls;
  // The record formats' per-entry fields, by the line they came from, packed (packFields).
  std::vector<std::string> infos;
  std::unordered_map<uint64_t, uint32_t> infoAt; // (file << 32 | line) -> index into infos
  std::string_view infoOf(const Origin& at) const {
    auto it = infoAt.find(uint64_t{at.file} << 32 | at.line);
    return it == infoAt.end() ? std::string_view() : std::string_view(infos[it->second]);
  }

  // Applies rbldnsd's `$=` rules to every value once all files are read (see parse.cc): the TXT
  // becomes the base template with `$=` replaced by the entry's text taken literally (or `$`
  // when it has none); a text starting with '=' is its own template, without the '='.
  void applyBaseTemplate();
  // Call once all files of the dataset are read: gives ip4tset/ip6tset entries the shared value
  // (the first default line, else initialDefault) and applies `$=`.
  void finish(const Value& initialDefault);

  uint32_t internValue(const Value& v);
  std::string where(const Origin& at) const;

private:
  std::unordered_map<std::string, uint32_t> d_valueIndex;
};

// Hosts where many unrelated users publish (forms, file sharing, URL shorteners): a URL there is
// one user's, so URL feeds do not list the host (shared_hosts.cc; the list: shared-hosts.txt).
class SharedHosts {
public:
  // Adds a list's lines (`host`, or `*.name` for every host below name; `#` comments). Returns
  // "name:line: what is wrong", or empty.
  std::string add(std::string_view text, std::string_view name);
  std::string addBuiltin(); // the list shipped in feeds/shared-hosts.txt
  bool matches(std::string_view host) const;
  bool empty() const { return d_exact.empty() && d_below.empty(); }

private:
  std::unordered_set<std::string> d_exact, d_below;
};

struct ParseOptions {
  Format format = Format::Ip4set;
  Value initialDefault;       // the default value at the start of every file
  bool allowHostBits = false; // accept 10.0.0.1/24 as 10.0.0.0/24 (rbldnsd -e)
  bool gzip = true;           // read gzip-compressed files; false: they are an error (rbldnsd -C)
  bool allowPublicSuffix = false; // allow listing `com`, `co.uk` (the Public Suffix List)
  // Record formats: field name (subject, url, code, reason, ...) -> CSV column (1-based number or
  // header name) or JSON key.
  std::vector<std::pair<std::string, std::string>> columns;
  char delimiter = ',';
  bool header = false;    // CSV: the first line names the columns (a leading '#' is dropped)
  uint64_t maxRange4 = 0; // record formats: the most IPv4 addresses one entry may cover, 0 = any
  int64_t now = 0;        // records that expire at or before this Unix time are skipped
  // rdns: the name tokens of dynamic and of static hosts (a tokens file, see loadTokens)
  std::vector<std::string> dynamicTokens, staticTokens;
  // URL hosts not to list unless the entry says `force` (nullptr: none)
  std::shared_ptr<const SharedHosts> sharedHosts;
};

// Reads an rdns tokens file: `dynamic: dyn dhcp pool ...` and `static: static mail mx ...` lines,
// `#` comments. Returns an error text, or empty.
std::string loadTokens(const std::string& path, ParseOptions& options);
// rdns: "dynamic", "static" or "" (unknown) for a PTR name of the IPv4 address.
std::string classifyPtr(std::string_view ptr, uint32_t addr, const ParseOptions& options);

// Parses text as if read from a file named displayName.
void parseText(std::string_view text, std::string_view displayName, const ParseOptions& options,
               Feed& feed);
// Reads and parses a file (gzip-compressed or not); an unreadable file is a diagnostic.
void parseFile(const std::string& path, const ParseOptions& options, Feed& feed);

// Pieces shared with other parts (and tested on their own).
// An A value as rbldnsd reads it: "5" = 127.0.0.5, "1.2" = 1.0.0.2, "10.1.5" = 10.1.0.5, full
// dotted quads; no part above 255; never 0.0.0.0.
std::optional<uint32_t> parseAValue(std::string_view text);
// The same dotted forms; a single number n is 127.0.0.n with loopbackShorthand, else 0.0.0.n
// (rbldnsd's generic A records).
std::optional<uint32_t> parseDotted(std::string_view text, bool loopbackShorthand);
// A full dotted-quad IPv4 address.
std::optional<uint32_t> parseIp4(std::string_view text);
std::optional<U128> parseIp6(std::string_view text);
// A time value with an optional unit (s, m, h, d, w).
std::optional<uint32_t> parseTime(std::string_view text);
// An rbldnsd `$TIMESTAMP` time: yyyy[:mm[:dd[:hh[:mi[:ss]]]]] with ':' or '-' separators (or
// none), UTC, years 1970..9999; returns Unix time.
std::optional<int64_t> parseStamp(std::string_view text);
// Checks a domain name: lower-cases it, drops a trailing dot, turns an internationalised name
// into A-labels (IDNA 2008, libidn2); returns an error text or empty.
std::string checkDomain(std::string& name);
// Empty, or why name (normalised) is a public suffix that must not be listed.
std::string publicSuffixError(const std::string& name);
// The registrable domain of a name (example.co.uk for www.example.co.uk); empty when the name is
// a public suffix or above one.
std::string registrableDomain(const std::string& name);

// The subject of a record: an IPv4 or IPv6 address, CIDR or `a-b` range of full addresses, or a
// domain (`name`, `*.name` below it, `.name` both).
struct Subject {
  enum Kind { Ip4, Ip6, Domain } kind = Ip4;
  uint32_t lo4 = 0, hi4 = 0;
  U128 lo6 = 0, hi6 = 0;
  std::string name;
  Scope scope = Scope::Exact;
};
std::optional<Subject> parseSubject(std::string_view text, const ParseOptions& options,
                                    std::string& error);
// The host of a URL as a browser reaches it (WHATWG URL rules: `\` ends an http(s) authority,
// the last `@` ends the userinfo; 0x7f.1 is 127.0.0.1), lower case, IDNs as A-labels, without
// a trailing dot; nullopt with the reason in error if there is none (url.cc).
std::optional<std::string> hostOfUrl(std::string_view url, std::string& error);
// An internationalised domain name as A-labels (libidn2, UTS #46 non-transitional; domain.cc).
std::optional<std::string> toALabels(const std::string& name, std::string& error);
void parseRecords(std::string_view text, std::string_view displayName, const ParseOptions& options,
                  Feed& feed);
std::string formatIp4(uint32_t addr);
std::string formatIp6(U128 addr);

} // namespace dnsxl::feeds
