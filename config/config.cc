#include "config/config.hh"

#include "config/reader.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <fmt/format.h>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <toml++/toml.h>

namespace dnsxl::config {

namespace {

constexpr std::string_view kFormats[] = {
    "ip4set", "ip4tset", "ip4trie", "ip6trie", "ip6tset", "dnset", "generic", "combined", "acl",
    "list",   "drop",    "csv",     "jsonl",   "hosts",   "urls",  "dynamic", "rdns"};
constexpr std::string_view kFields[] = {"subject", "url",      "code",   "reason", "ref",  "listed",
                                        "expires", "evidence", "delist", "type",   "force"};

} // namespace

namespace detail {
uint32_t parseA(const Reader& r, const toml::node& n) {
  auto s = r.string(n, "a");
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1)
    r.fail(n, fmt::format("'a' = '{}' is not an IPv4 address", s));
  uint32_t v = ntohl(a.s_addr);
  if ((v >> 24) != 127)
    r.fail(n, fmt::format("'a' = '{}' is outside 127.0.0.0/8 (RFC 5782 §2.3)", s));
  return v;
}
} // namespace detail

using detail::parseA;
using detail::Reader;

std::optional<Prefix> parsePrefix(std::string_view text) {
  Prefix p;
  const auto slash = text.find('/');
  const std::string addr(text.substr(0, slash));
  unsigned len = 32;
  if (inet_pton(AF_INET, addr.c_str(), p.addr.data()) != 1) {
    if (inet_pton(AF_INET6, addr.c_str(), p.addr.data()) != 1) return std::nullopt;
    p.v6 = true;
    len = 128;
  }
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    const auto n = static_cast<unsigned>(std::stoul(std::string(digits)));
    if (n > len) return std::nullopt;
    len = n;
  }
  p.len = len;
  return p;
}

bool isMailAddress(std::string_view s) {
  const auto at = s.find('@');
  if (at == 0 || at == std::string_view::npos || at > 64 || s.size() > 254 ||
      s.find('@', at + 1) != std::string_view::npos)
    return false;
  for (char c : s.substr(0, at))
    if (c <= ' ' || c >= 127 || std::string_view("\"<>(),;:[]\\").find(c) != std::string_view::npos)
      return false;
  const auto domain = s.substr(at + 1);
  if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return false;
  for (char c : domain)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
  return true;
}

bool Prefix::contains(bool isV6, const uint8_t* a) const {
  if (isV6 != v6) return false;
  for (unsigned i = 0; i < len; ++i) {
    const unsigned byte = i / 8, bit = 7 - i % 8;
    if (((a[byte] >> bit) & 1) != ((addr[byte] >> bit) & 1)) return false;
  }
  return true;
}

std::optional<Listen> parseListen(std::string_view text) {
  Listen l;
  std::string_view host = text, portText;
  bool hasPort = false;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      portText = rest.substr(1);
      hasPort = true;
    }
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    portText = text.substr(colon + 1);
    hasPort = true;
  }
  std::string h(host);
  unsigned char buf[16];
  bool v6 = !text.empty() && text[0] == '[';
  if (inet_pton(v6 ? AF_INET6 : AF_INET, h.c_str(), buf) != 1) return std::nullopt;
  if (hasPort) {
    if (portText.empty() || portText.size() > 5) return std::nullopt;
    uint32_t p = 0;
    for (char c : portText) {
      if (c < '0' || c > '9') return std::nullopt;
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p > 65535) return std::nullopt;
    l.port = static_cast<uint16_t>(p);
  }
  l.address = h;
  return l;
}

// The record formats' keys: `fields` (csv, jsonl), `delimiter` and `header` (csv), and the
// {field} names in `txt`.
void recordOptions(const Reader& r, const toml::table& dt, const toml::node& where, Dataset& d) {
  const bool mapped = d.format == "csv" || d.format == "jsonl";
  if (auto n = dt["fields"]; n) {
    if (!mapped) r.fail(*n.node(), "'fields' applies to the csv and jsonl formats only");
    const auto* t = n.as_table();
    if (!t) r.fail(*n.node(), "'fields' must be a table, e.g. { subject = \"ip\", reason = 3 }");
    for (auto&& [k, v] : *t) {
      if (std::find(std::begin(kFields), std::end(kFields), k.str()) == std::end(kFields)) {
        std::string known;
        for (auto f : kFields)
          known += fmt::format("{}{}", known.empty() ? "" : ", ", f);
        r.fail(v, fmt::format("unknown field '{}' (known: {})", k.str(), known));
      }
      std::string column;
      if (v.is_integer() && d.format == "csv")
        column = std::to_string(r.u32(v, k.str(), 10000));
      else
        column = r.string(v, k.str());
      if (column.empty() || column == "0")
        r.fail(v, fmt::format("'{}': a column number from 1, or a name", k.str()));
      d.fields.emplace_back(std::string(k.str()), column);
    }
  }
  if (mapped && std::none_of(d.fields.begin(), d.fields.end(), [](const auto& f) {
        return f.first == "subject" || f.first == "url";
      }))
    r.fail(where, fmt::format("format '{}' needs fields.subject (or fields.url): the column with "
                              "the address, range or domain",
                              d.format));
  if (auto n = dt["delimiter"]; n) {
    if (d.format != "csv") r.fail(*n.node(), "'delimiter' applies to the csv format only");
    auto v = r.string(*n.node(), "delimiter");
    if (v == "\\t") v.assign(1, '\t'); // (assigning a literal: a GCC 12 -Wrestrict false positive)
    if (v.size() != 1 || v[0] == '"') r.fail(*n.node(), "'delimiter' must be one character");
    d.delimiter = v[0];
  }
  if (auto n = dt["header"]; n) {
    if (d.format != "csv") r.fail(*n.node(), "'header' applies to the csv format only");
    d.header = r.boolean(*n.node(), "header");
  }
  for (const auto& [field, column] : d.fields)
    if (d.format == "csv" && column.find_first_not_of("0123456789") != std::string::npos &&
        !d.header)
      r.fail(where, fmt::format("fields.{} names the column '{}': set header = true (or give "
                                "its number)",
                                field, column));
  // {name} in the TXT template of a record format must be a field.
  if (d.txt && (mapped || d.format == "drop" || d.format == "hosts" || d.format == "urls" ||
                d.format == "dynamic" || d.format == "rdns"))
    for (size_t open = d.txt->find('{'); open != std::string::npos;
         open = d.txt->find('{', open + 1)) {
      auto close = d.txt->find('}', open);
      if (close == std::string::npos) break;
      auto name = std::string_view(*d.txt).substr(open + 1, close - open - 1);
      if (name == "subject" || name == "url" || name == "force" ||
          std::find(std::begin(kFields), std::end(kFields), name) == std::end(kFields))
        r.fail(*dt["txt"].node(),
               fmt::format("'txt': unknown field {{{}}} (code, reason, ref, listed, expires, "
                           "evidence, delist, type; the subject is $)",
                           name));
    }
}

namespace {

// [server]'s transfer keys: who may transfer (transfer_allow), TSIG, NOTIFY.
void parseTransfers(const Reader& r, const toml::table& server, Server& srv) {
  srv.transferAllow = {*parsePrefix("127.0.0.0/8"), *parsePrefix("::1")};
  if (auto n = server["transfer_allow"]; n) {
    srv.transferAllow.clear();
    for (const auto& s : r.strings(*n.node(), "transfer_allow")) {
      auto p = parsePrefix(s);
      if (!p)
        r.fail(*n.node(), fmt::format("transfer_allow: '{}' is not an address or prefix "
                                      "(192.0.2.0/24, 2001:db8::/32)",
                                      s));
      srv.transferAllow.push_back(*p);
    }
  }
  if (auto n = server["tsig_keys"]; n) {
    const auto* arr = n.as_array();
    if (!arr) r.fail(*n.node(), "'tsig_keys' must be an array of {name, algorithm, secret}");
    for (const auto& e : *arr) {
      const auto* t = e.as_table();
      if (!t) r.fail(e, "each tsig key must be a table {name, algorithm, secret}");
      r.onlyKeys(*t, "tsig key", {"name", "algorithm", "secret"});
      Server::TsigKey k;
      k.algorithm = "hmac-sha256";
      if (auto m = (*t)["name"]; m)
        k.name = r.domain(*m.node(), "name");
      else
        r.fail(e, "a tsig key needs 'name'");
      if (auto m = (*t)["algorithm"]; m) k.algorithm = r.string(*m.node(), "algorithm");
      if (k.algorithm != "hmac-sha256" && k.algorithm != "hmac-sha1")
        r.fail(e, "tsig key algorithm must be \"hmac-sha256\" (or \"hmac-sha1\"); HMAC-MD5 is "
                  "not allowed (RFC 8945 §6)");
      if (auto m = (*t)["secret"]; m)
        k.secret = r.string(*m.node(), "secret");
      else
        r.fail(e, "a tsig key needs 'secret' (base64)");
      srv.tsigKeys.push_back(k);
    }
  }
  if (auto n = server["transfer_key"]; n) {
    srv.transferKey = r.string(*n.node(), "transfer_key");
    if (std::none_of(srv.tsigKeys.begin(), srv.tsigKeys.end(),
                     [&](const auto& k) { return k.name == srv.transferKey; }))
      r.fail(*n.node(), fmt::format("transfer_key '{}' is not one of tsig_keys", srv.transferKey));
  }
  if (auto n = server["notify"]; n)
    for (const auto& s : r.strings(*n.node(), "notify")) {
      auto l = parseListen(s);
      if (!l) r.fail(*n.node(), fmt::format("notify: '{}' is not ADDRESS:PORT or [IPv6]:PORT", s));
      srv.notify.push_back(*l);
    }
  if (auto n = server["notify_retry_ms"]; n)
    srv.notifyRetryMs = r.u32(*n.node(), "notify_retry_ms", 3600000);
  if (auto n = server["notify_delay_ms"]; n)
    srv.notifyDelayMs = r.u32(*n.node(), "notify_delay_ms", 3600000);
  if (auto n = server["notify_retries"]; n)
    srv.notifyRetries = r.u32(*n.node(), "notify_retries", 100);
}

// [server]: listening, limits, the store, the global acl.
void parseServer(const Reader& r, const toml::table& server, Config& cfg) {
  r.onlyKeys(server, "[server]",
             {"listen",
              "store",
              "workers",
              "tcp_idle_timeout_ms",
              "tcp_max_connections",
              "tcp_max_per_client",
              "rrl_responses_per_second",
              "rrl_slip",
              "edns_udp_max",
              "map_size_mb",
              "version",
              "acl",
              "acl_on_bad_line",
              "audit_days",
              "transfer_allow",
              "transfer_max_records",
              "notify",
              "notify_retry_ms",
              "notify_retries",
              "notify_delay_ms",
              "tsig_keys",
              "transfer_key",
              "journal_max_records",
              "identity",
              "nsid",
              "drain_timeout_ms",
              "log_level",
              "mirror"});
  if (auto n = server["listen"]; n) {
    for (const auto& s : r.strings(*n.node(), "listen")) {
      auto l = parseListen(s);
      if (!l)
        r.fail(*n.node(), fmt::format("listen address '{}' is not ADDRESS:PORT or [IPv6]:PORT", s));
      cfg.server.listen.push_back(*l);
    }
  }
  if (cfg.server.listen.empty()) cfg.server.listen.push_back({"127.0.0.1", 53});
  if (auto n = server["store"]; n)
    cfg.server.store = r.path(r.string(*n.node(), "store"));
  else
    throw ConfigError(
        fmt::format("{}: [server] needs 'store' (the store directory)", cfg.file.string()));
  if (auto n = server["workers"]; n) cfg.server.workers = r.u32(*n.node(), "workers", 256);
  if (auto n = server["tcp_idle_timeout_ms"]; n)
    cfg.server.tcpIdleTimeoutMs = r.u32(*n.node(), "tcp_idle_timeout_ms", 3600000);
  if (auto n = server["tcp_max_connections"]; n)
    cfg.server.tcpMaxConnections = r.u32(*n.node(), "tcp_max_connections", 1000000);
  if (auto n = server["tcp_max_per_client"]; n)
    cfg.server.tcpMaxPerClient = r.u32(*n.node(), "tcp_max_per_client", 1000000);
  if (auto n = server["rrl_responses_per_second"]; n)
    cfg.server.rrlPerSecond = r.u32(*n.node(), "rrl_responses_per_second", 100000000);
  if (auto n = server["rrl_slip"]; n) cfg.server.rrlSlip = r.u32(*n.node(), "rrl_slip", 100);
  if (auto n = server["edns_udp_max"]; n) {
    auto v = r.u32(*n.node(), "edns_udp_max", 65535);
    if (v < 512) r.fail(*n.node(), "'edns_udp_max' must be at least 512");
    cfg.server.ednsUdpMax = static_cast<uint16_t>(v);
  }
  if (auto n = server["version"]; n) cfg.server.version = r.string(*n.node(), "version");
  if (auto n = server["acl"]; n)
    for (const auto& f : r.strings(*n.node(), "acl"))
      cfg.server.acl.push_back(r.path(f));
  if (auto n = server["acl_on_bad_line"]; n) {
    auto v = r.string(*n.node(), "acl_on_bad_line");
    if (v != "refuse" && v != "skip")
      r.fail(*n.node(), "'acl_on_bad_line' must be \"refuse\" or \"skip\"");
    cfg.server.aclSkipBadLines = v == "skip";
  }
  parseTransfers(r, server, cfg.server);
  if (auto n = server["journal_max_records"]; n)
    cfg.server.journalMaxRecords = r.u32(*n.node(), "journal_max_records", 4000000000U);
  if (auto n = server["transfer_max_records"]; n)
    cfg.server.transferMaxRecords = r.u32(*n.node(), "transfer_max_records", 4000000000U);
  if (auto n = server["audit_days"]; n)
    cfg.server.auditDays = r.u32(*n.node(), "audit_days", 100 * 366);
  if (auto n = server["map_size_mb"]; n)
    cfg.server.mapSize = uint64_t{r.u32(*n.node(), "map_size_mb", 1 << 24)} << 20;
  if (auto n = server["identity"]; n) {
    cfg.server.identity = r.string(*n.node(), "identity");
    if (cfg.server.identity.size() > 255) r.fail(*n.node(), "'identity' is longer than 255 bytes");
  }
  if (auto n = server["nsid"]; n) {
    cfg.server.nsid = r.string(*n.node(), "nsid");
    if (cfg.server.nsid.size() > 255) r.fail(*n.node(), "'nsid' is longer than 255 bytes");
  }
  if (auto n = server["mirror"]; n) cfg.server.mirror = r.boolean(*n.node(), "mirror");
  if (auto n = server["drain_timeout_ms"]; n)
    cfg.server.drainTimeoutMs = r.u32(*n.node(), "drain_timeout_ms", 3600000);
  if (auto n = server["log_level"]; n) {
    cfg.server.logLevel = r.string(*n.node(), "log_level");
    static constexpr std::string_view kLevels[] = {"error", "warning", "notice", "info", "debug"};
    if (std::find(std::begin(kLevels), std::end(kLevels), cfg.server.logLevel) == std::end(kLevels))
      r.fail(*n.node(), "'log_level' must be one of error, warning, notice, info, debug");
  }
}

// [http]: the metrics and health listener.
void parseHttp(const Reader& r, const toml::table& t, Http& http) {
  r.onlyKeys(t, "[http]", {"listen", "max_data_age_s"});
  http.enabled = true;
  if (auto n = t["listen"]; n) {
    for (const auto& s : r.strings(*n.node(), "listen")) {
      auto l = parseListen(s);
      const bool portGiven =
          s.size() > 1 && s.find(':', s[0] == '[' ? s.find(']') : 0) != std::string::npos;
      if (!l || !portGiven)
        r.fail(*n.node(), fmt::format("[http] listen '{}' is not ADDRESS:PORT or [IPv6]:PORT", s));
      http.listen.push_back(*l);
    }
  }
  if (http.listen.empty()) http.listen.push_back({"127.0.0.1", 9480});
  if (auto n = t["max_data_age_s"]; n) http.maxDataAgeS = r.u32(*n.node(), "max_data_age_s");
}

// [web]'s removal requests
void parseWebRequests(const Reader& r, const toml::table& t, Web& web) {
  if (auto n = t["requests"]; n) {
    if (!n.is_boolean()) r.fail(*n.node(), "[web] requests must be true or false");
    web.requests = n.value_or(true);
  }
  if (auto n = t["requests_file"]; n)
    web.requestsFile = r.path(r.string(*n.node(), "requests_file"));
  if (auto n = t["requests_per_subject_per_day"]; n)
    web.requestsPerSubjectPerDay = r.u32(*n.node(), "requests_per_subject_per_day", 1000);
  if (auto n = t["requests_per_client_per_day"]; n)
    web.requestsPerClientPerDay = r.u32(*n.node(), "requests_per_client_per_day", 100000);
  if (auto n = t["mail_command"]; n) {
    web.mailCommand = r.strings(*n.node(), "mail_command");
    if (web.mailCommand.empty() || web.mailCommand.front().empty())
      r.fail(*n.node(), "[web] mail_command needs a program (e.g. [\"/usr/sbin/sendmail\", "
                        "\"-t\", \"-i\"])");
  }
  if (auto n = t["mail_from"]; n) {
    web.mailFrom = r.string(*n.node(), "mail_from");
    if (!isMailAddress(web.mailFrom))
      r.fail(*n.node(), fmt::format("[web] mail_from '{}' is not a mail address", web.mailFrom));
  }
  if (auto n = t["public_url"]; n) {
    web.publicUrl = r.string(*n.node(), "public_url");
    if (!web.publicUrl.starts_with("https://") && !web.publicUrl.starts_with("http://"))
      r.fail(*n.node(), "[web] public_url must start with https:// (or http://)");
    while (web.publicUrl.ends_with("/"))
      web.publicUrl.pop_back();
  }
  if (auto n = t["abuse_contacts"]; n) {
    if (!n.is_table())
      r.fail(*n.node(), "[web.abuse_contacts] must be a table: \"192.0.2.0/24\" = "
                        "\"abuse@example.net\"");
    for (const auto& [key, value] : *n.as_table()) {
      const std::string subject(key.str());
      if (!value.is_string())
        r.fail(value, fmt::format("[web.abuse_contacts] \"{}\" must be a mail address", subject));
      const std::string mail = *value.value<std::string>();
      if (!isMailAddress(mail))
        r.fail(value, fmt::format("[web.abuse_contacts] \"{}\": '{}' is not a mail address",
                                  subject, mail));
      if (auto p = parsePrefix(subject)) {
        web.abuseNetworks.emplace_back(*p, mail);
      } else if (subject.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") ==
                     std::string::npos &&
                 subject.find('.') != std::string::npos && subject.front() != '.' &&
                 subject.back() != '.') {
        web.abuseDomains.emplace_back(subject, mail);
      } else {
        r.fail(value, fmt::format("[web.abuse_contacts] \"{}\" is neither an address prefix nor "
                                  "a domain name in lower case",
                                  subject));
      }
    }
  }
}

// [web]
void parseWeb(const Reader& r, const toml::table& t, Web& web) {
  r.onlyKeys(t, "[web]",
             {"listen", "title", "contact", "fields", "rate_per_minute", "requests",
              "requests_file", "requests_per_subject_per_day", "requests_per_client_per_day",
              "abuse_contacts", "mail_command", "mail_from", "public_url"});
  web.enabled = true;
  if (auto n = t["listen"]; n) {
    for (const auto& s : r.strings(*n.node(), "listen")) {
      auto l = parseListen(s);
      if (!l || s.find(':', s[0] == '[' ? s.find(']') : 0) == std::string::npos)
        r.fail(*n.node(), fmt::format("[web] listen '{}' is not ADDRESS:PORT or [IPv6]:PORT", s));
      web.listen.push_back(*l);
    }
  } else {
    r.fail(t, "[web] needs 'listen' (e.g. [\"0.0.0.0:8080\"])");
  }
  if (auto n = t["title"]; n) web.title = r.string(*n.node(), "title");
  if (auto n = t["contact"]; n) web.contact = r.string(*n.node(), "contact");
  if (auto n = t["fields"]; n) {
    web.fields = r.strings(*n.node(), "fields");
    for (const auto& f : web.fields)
      if (f != "code" && f != "reason" && f != "ref" && f != "listed" && f != "expires" &&
          f != "evidence" && f != "delist" && f != "type")
        r.fail(*n.node(), fmt::format("[web] fields: unknown field '{}' (code, reason, ref, "
                                      "listed, expires, evidence, delist, type)",
                                      f));
  }
  if (auto n = t["rate_per_minute"]; n)
    web.ratePerMinute = r.u32(*n.node(), "rate_per_minute", 100000);
  parseWebRequests(r, t, web);
}

// [query_log]
void parseQueryLog(const Reader& r, const toml::table& t, QueryLog& log) {
  r.onlyKeys(t, "[query_log]", {"path", "format", "buffer"});
  if (auto n = t["path"]; n) {
    const auto p = r.string(*n.node(), "path");
    if (p.empty()) r.fail(*n.node(), "[query_log] 'path' is empty");
    log.path = p == "-" ? std::filesystem::path("-") : r.path(p);
  } else {
    r.fail(t, "[query_log] needs 'path' (a file, or \"-\" for standard output)");
  }
  if (auto n = t["format"]; n) {
    log.format = r.string(*n.node(), "format");
    if (log.format != "rbldnsd" && log.format != "json")
      r.fail(*n.node(), "[query_log] 'format' must be \"rbldnsd\" or \"json\"");
  }
  if (auto n = t["buffer"]; n) {
    log.buffer = r.u32(*n.node(), "buffer", 1 << 24);
    if (log.buffer < 16) r.fail(*n.node(), "[query_log] 'buffer' must be at least 16 lines");
  }
}

// A zone's soa = { ... }.
Soa parseSoa(const Reader& r, const toml::node& node, const Zone& z) {
  Soa soa;
  soa.mname = z.ns.empty() ? "" : z.ns.front();
  soa.rname = fmt::format("hostmaster.{}", z.name);
  const auto* st = node.as_table();
  if (!st) r.fail(node, "'soa' must be a table");
  r.onlyKeys(*st, "soa", {"mname", "rname", "refresh", "retry", "expire", "minimum", "ttl"});
  if (auto m = (*st)["mname"]; m) soa.mname = r.domain(*m.node(), "mname");
  if (auto m = (*st)["rname"]; m) soa.rname = r.domain(*m.node(), "rname");
  if (auto m = (*st)["refresh"]; m) soa.refresh = r.u32(*m.node(), "refresh");
  if (auto m = (*st)["retry"]; m) soa.retry = r.u32(*m.node(), "retry");
  if (auto m = (*st)["expire"]; m) soa.expire = r.u32(*m.node(), "expire");
  if (auto m = (*st)["minimum"]; m) soa.minimum = r.u32(*m.node(), "minimum");
  if (auto m = (*st)["ttl"]; m) soa.ttl = r.u32(*m.node(), "ttl");
  if (soa.mname.empty()) r.fail(node, "soa needs 'mname' when the zone has no 'ns'");
  return soa;
}

// One [[zone.dataset]]; names: the zone's dataset names so far.
Dataset parseDataset(const Reader& r, const toml::node& dnode, const std::string& zone,
                     std::set<std::string>& names) {
  const auto* dt = dnode.as_table();
  if (!dt) r.fail(dnode, "each [[zone.dataset]] must be a table");
  r.onlyKeys(*dt, "[[zone.dataset]]",
             {"name", "format", "files", "a", "txt", "ttl", "on_bad_line", "allow_host_bits",
              "gzip", "allow_public_suffix", "fields", "delimiter", "header", "widest_ip4",
              "widest_ip6", "guard_special", "max_shrink_percent", "tokens", "shared_hosts"});
  Dataset d;
  if (auto n = (*dt)["name"]; n)
    d.name = r.string(*n.node(), "name");
  else
    r.fail(dnode, "[[zone.dataset]] needs 'name'");
  if (!names.insert(d.name).second)
    r.fail(dnode, fmt::format("dataset '{}' is defined twice in zone '{}'", d.name, zone));
  if (auto n = (*dt)["format"]; n) {
    d.format = r.string(*n.node(), "format");
    if (std::find(std::begin(kFormats), std::end(kFormats), d.format) == std::end(kFormats)) {
      std::string known;
      for (auto f : kFormats)
        known += fmt::format("{}{}", known.empty() ? "" : ", ", f);
      r.fail(*n.node(), fmt::format("unknown format '{}' ({})", d.format, known));
    }
  } else {
    r.fail(dnode, "[[zone.dataset]] needs 'format'");
  }
  if (auto n = (*dt)["files"]; n)
    for (const auto& f : r.strings(*n.node(), "files"))
      d.files.push_back(r.path(f));
  if (auto n = (*dt)["a"]; n) d.a = parseA(r, *n.node());
  if (auto n = (*dt)["txt"]; n) d.txt = r.string(*n.node(), "txt");
  if (auto n = (*dt)["ttl"]; n) d.ttl = r.u32(*n.node(), "ttl");
  if (auto n = (*dt)["on_bad_line"]; n) {
    auto v = r.string(*n.node(), "on_bad_line");
    if (v != "refuse" && v != "skip")
      r.fail(*n.node(), "'on_bad_line' must be \"refuse\" or \"skip\"");
    d.skipBadLines = v == "skip";
  }
  if (auto n = (*dt)["allow_host_bits"]; n)
    d.allowHostBits = r.boolean(*n.node(), "allow_host_bits");
  if (auto n = (*dt)["gzip"]; n) d.gzip = r.boolean(*n.node(), "gzip");
  if (auto n = (*dt)["allow_public_suffix"]; n)
    d.allowPublicSuffix = r.boolean(*n.node(), "allow_public_suffix");
  recordOptions(r, *dt, dnode, d);
  if (auto n = (*dt)["tokens"]; n) {
    if (d.format != "rdns") r.fail(*n.node(), "'tokens' applies to the rdns format only");
    d.tokens = r.path(r.string(*n.node(), "tokens"));
  } else if (d.format == "rdns") {
    r.fail(dnode, "format 'rdns' needs 'tokens' (a file of dynamic: and static: name "
                  "tokens, e.g. feeds/rdns-tokens.txt)");
  }
  if (auto n = (*dt)["shared_hosts"]; n) {
    const bool urls =
        d.format == "urls" || std::any_of(d.fields.begin(), d.fields.end(),
                                          [](const auto& f) { return f.first == "url"; });
    if (!urls)
      r.fail(*n.node(),
             "'shared_hosts' applies to URL feeds only (format \"urls\" or a url field)");
    d.sharedHostsBuiltin = false;
    for (const auto& list : r.strings(*n.node(), "shared_hosts")) {
      if (list == "builtin")
        d.sharedHostsBuiltin = true;
      else
        d.sharedHostsFiles.push_back(r.path(list));
    }
  }
  if (auto n = (*dt)["widest_ip4"]; n) d.widestIp4 = r.u32(*n.node(), "widest_ip4", 32);
  if (auto n = (*dt)["widest_ip6"]; n) d.widestIp6 = r.u32(*n.node(), "widest_ip6", 128);
  if (auto n = (*dt)["guard_special"]; n) d.guardSpecial = r.boolean(*n.node(), "guard_special");
  if (auto n = (*dt)["max_shrink_percent"]; n)
    d.maxShrinkPercent = r.u32(*n.node(), "max_shrink_percent", 100);
  return d;
}

// One [[zone]]; names: the zone names so far.
Zone parseZone(const Reader& r, const toml::node& znode, std::set<std::string>& names) {
  const auto* zt = znode.as_table();
  if (!zt) r.fail(znode, "each [[zone]] must be a table");
  r.onlyKeys(*zt, "[[zone]]",
             {"name", "ns", "soa", "ttl", "ttl_min", "ttl_max", "allow_no_ns", "serial", "dataset",
              "access", "keyed", "key_unknown", "key_over_quota"});
  Zone z;
  if (auto n = (*zt)["name"]; n)
    z.name = r.domain(*n.node(), "name");
  else
    r.fail(znode, "[[zone]] needs 'name'");
  if (!names.insert(z.name).second)
    r.fail(znode, fmt::format("zone '{}' is defined twice", z.name));
  if (auto n = (*zt)["ns"]; n) {
    const auto* arr = n.as_array();
    if (!arr) r.fail(*n.node(), "'ns' must be an array of names");
    for (const auto& e : *arr)
      z.ns.push_back(r.domain(e, "ns"));
  }
  if (auto n = (*zt)["ttl"]; n) z.ttl = r.u32(*n.node(), "ttl");
  if (auto n = (*zt)["ttl_min"]; n) z.ttlMin = r.u32(*n.node(), "ttl_min");
  if (auto n = (*zt)["ttl_max"]; n) z.ttlMax = r.u32(*n.node(), "ttl_max");
  if (z.ttlMax != 0 && z.ttlMin > z.ttlMax)
    r.fail(znode, fmt::format("zone '{}': ttl_min is above ttl_max", z.name));
  if (auto n = (*zt)["allow_no_ns"]; n) z.allowNoNs = r.boolean(*n.node(), "allow_no_ns");
  if (auto n = (*zt)["serial"]; n) {
    z.serial = r.string(*n.node(), "serial");
    if (z.serial != "import" && z.serial != "data")
      r.fail(*n.node(), "'serial' must be \"import\" or \"data\"");
  }
  if (auto n = (*zt)["soa"]; n) z.soa = parseSoa(r, *n.node(), z);
  if (auto n = (*zt)["access"]; n) z.access = detail::parseAccess(r, *n.node());
  detail::parseKeyed(r, *zt, z.keyed);
  std::set<std::string> datasetNames;
  if (auto dn = (*zt)["dataset"]; dn) {
    const auto* dss = dn.as_array();
    if (!dss) r.fail(*dn.node(), "'dataset' must be an array of tables ([[zone.dataset]])");
    for (const auto& dnode : *dss)
      z.datasets.push_back(parseDataset(r, dnode, z.name, datasetNames));
  }
  return z;
}

} // namespace

Config parse(std::string_view text, const std::filesystem::path& file) {
  toml::table root;
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(
        fmt::format("{}:{}: {}", file.string(), e.source().begin.line, e.description()));
  }
  Reader r(file);
  Config cfg;
  cfg.file = file;
  r.onlyKeys(root, "the config", {"server", "zone", "http", "query_log", "web"});
  const auto* server = root["server"].as_table();
  if (!server) throw ConfigError(fmt::format("{}: missing [server] section", file.string()));
  parseServer(r, *server, cfg);
  if (auto n = root["http"]; n) {
    if (!n.is_table()) r.fail(*n.node(), "'http' must be a table ([http])");
    parseHttp(r, *n.as_table(), cfg.http);
  }
  if (auto n = root["web"]; n) {
    if (!n.is_table()) r.fail(*n.node(), "'web' must be a table ([web])");
    parseWeb(r, *n.as_table(), cfg.web);
  }
  if (auto n = root["query_log"]; n) {
    if (!n.is_table()) r.fail(*n.node(), "'query_log' must be a table ([query_log])");
    parseQueryLog(r, *n.as_table(), cfg.queryLog);
  }
  std::set<std::string> zoneNames;
  if (auto zn = root["zone"]; zn) {
    const auto* zones = zn.as_array();
    if (!zones) r.fail(*zn.node(), "'zone' must be an array of tables ([[zone]])");
    for (const auto& znode : *zones)
      cfg.zones.push_back(parseZone(r, znode, zoneNames));
  }
  return cfg;
}

Config load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw ConfigError(fmt::format("{}: cannot open config file", file.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  auto abs = std::filesystem::absolute(file);
  return parse(ss.str(), abs);
}

} // namespace dnsxl::config
