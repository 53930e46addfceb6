// The record feed formats: Spamhaus DROP (text and JSON lines), CSV and JSON Lines with a column
// mapping, hosts files, URL lists and ISP dynamic-space lists. Each line is one record: a subject
// (an IPv4 or IPv6 address, CIDR or range, or a domain) and optional fields (code, reason, ref,
// listed, expires, evidence, delist, type) that fill the dataset's TXT template.
#include "feeds/feed.hh"
#include "feeds/text.hh"

#include <algorithm>
#include <array>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

namespace dnsxl::feeds {

namespace {

using text::isBlank;
using text::lower;
using text::splitWords;
using text::trim;

// The text after the first blank-preceded '#' or ';' is a comment.
std::string_view stripComment(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i)
    if ((s[i] == '#' || s[i] == ';') && (i == 0 || isBlank(s[i - 1]))) return trim(s.substr(0, i));
  return trim(s);
}

// CSV fields of one line (RFC 4180 quoting: "a ""b"", c" is one field).
std::optional<std::vector<std::string>> splitCsv(std::string_view line, char delimiter) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"' && trim(out.back()).empty()) {
      out.back().clear();
      quoted = true;
    } else if (c == delimiter) {
      out.emplace_back();
    } else if (c != '\r') {
      out.back().push_back(c);
    }
  }
  if (quoted) return std::nullopt;
  for (auto& f : out)
    f = std::string(trim(f));
  return out;
}

} // namespace

std::optional<int64_t> parseDate(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  if (s.find_first_not_of("0123456789") == std::string_view::npos && s.size() <= 12) {
    int64_t v = 0;
    for (char c : s)
      v = v * 10 + (c - '0');
    return v;
  }
  // RFC 3339 (and ISO 8601's common forms): every field of fixed width, validated; an offset
  // applied; nothing after it.
  size_t at = 0;
  auto digits = [&](size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (size_t i = 0; i < n; ++i) {
      const char c = s[at + i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    at += n;
    return true;
  };
  auto expect = [&](char c) { return at < s.size() && s[at] == c ? (++at, true) : false; };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(4, y) || !expect('-') || !digits(2, mo) || !expect('-') || !digits(2, d))
    return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0))
    return std::nullopt;
  int64_t offset = 0; // seconds east of UTC
  if (at < s.size()) {
    if (s[at] != 'T' && s[at] != 't' && s[at] != ' ') return std::nullopt;
    ++at;
    if (!digits(2, h) || !expect(':') || !digits(2, mi)) return std::nullopt;
    if (expect(':')) {
      if (!digits(2, sec)) return std::nullopt;
      if (expect('.')) { // a fraction: read, not kept
        const size_t start = at;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9')
          ++at;
        if (at == start) return std::nullopt;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
    if (expect('Z') || expect('z')) {
    } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
      const int sign = s[at++] == '-' ? -1 : 1;
      int oh = 0, om = 0;
      if (!digits(2, oh) || !expect(':') || !digits(2, om) || oh > 23 || om > 59)
        return std::nullopt;
      offset = sign * (oh * 3600 + om * 60);
    }
    if (at != s.size()) return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

std::optional<int64_t> parseHttpDate(std::string_view s) {
  // IMF-fixdate (RFC 9110 §5.6.7): "Thu, 26 Nov 2026 12:14:02 GMT", the weekday checked too
  static constexpr std::string_view kDays = "SunMonTueWedThuFriSat";
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  s = trim(s);
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s.substr(25) != " GMT")
    return std::nullopt;
  const auto day = kDays.find(s.substr(0, 3));
  const auto month = kMonths.find(s.substr(8, 3));
  if (day == std::string_view::npos || day % 3 || month == std::string_view::npos || month % 3)
    return std::nullopt;
  const auto iso = fmt::format("{}-{:02}-{}T{}Z", s.substr(12, 4), month / 3 + 1, s.substr(5, 2),
                               s.substr(17, 8));
  const auto t = parseDate(iso);
  if (!t) return std::nullopt;
  const auto tt = static_cast<std::time_t>(*t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  if (static_cast<size_t>(tm.tm_wday) != day / 3) return std::nullopt;
  return t;
}

namespace {

// {"type":"metadata",...}: the trailing line of Spamhaus' JSON files.
bool isMetadata(const nlohmann::json& j) {
  auto t = j.find("type");
  return t != j.end() && t->is_string() && t->get<std::string>() == "metadata";
}

// A `$` in data is literal: the TXT template language gives `$` a meaning.
std::string literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    out.push_back(c);
    if (c == '$') out.push_back('$');
  }
  return out;
}

struct Record {
  std::string subject, url;
  std::array<std::string, kFieldCount> fields;
  bool exclude = false;
  bool force = false; // list a URL's host even if it is a shared host
};

// A `force` field's value: list it anyway.
bool truthy(std::string_view v) {
  const auto l = lower(trim(v));
  return l == "1" || l == "true" || l == "yes" || l == "force";
}

class RecordParser {
public:
  RecordParser(const ParseOptions& o, Feed& feed, uint32_t file)
      : d_opt(o), d_feed(feed), d_file(file) {}

  void line(std::string_view raw, uint32_t lineNo) {
    d_lineNo = lineNo;
    auto s = trim(raw);
    if (s.empty()) return;
    switch (d_opt.format) {
    case Format::Drop:
      return drop(s);
    case Format::Csv:
      return csv(s);
    case Format::Jsonl:
      if (s[0] == '#') return;
      return jsonl(s);
    case Format::Hosts:
      return hosts(s);
    case Format::Urls:
      if (s[0] == '#' || s[0] == ';') return;
      return url(stripComment(s));
    case Format::Dynamic:
      return dynamic(s);
    case Format::Rdns:
      return rdns(s);
    default:
      return;
    }
  }

  // rdns: classify every name, then list the dynamic addresses, adjacent ones as one range.
  void finish() {
    std::sort(d_ptrs.begin(), d_ptrs.end(),
              [](const Ptr& a, const Ptr& b) { return a.addr < b.addr; });
    for (size_t i = 0; i < d_ptrs.size();) {
      if (d_ptrs[i].kind != "dynamic") {
        if (d_ptrs[i].kind == "static") { // an exclusion: no other line's range may cover it
          d_lineNo = d_ptrs[i].line;
          Record r;
          r.subject = formatIp4(d_ptrs[i].addr);
          r.exclude = true;
          add(r);
        }
        ++i;
        continue;
      }
      size_t j = i + 1;
      while (j < d_ptrs.size() && d_ptrs[j].kind == "dynamic" &&
             d_ptrs[j].addr == d_ptrs[j - 1].addr + 1)
        ++j;
      d_lineNo = d_ptrs[i].line;
      Record r;
      r.subject = j - i == 1 ? formatIp4(d_ptrs[i].addr)
                             : formatIp4(d_ptrs[i].addr) + "-" + formatIp4(d_ptrs[j - 1].addr);
      r.fields[kType] = "dynamic";
      r.fields[kEvidence] = d_ptrs[i].ptr;
      r.fields[kReason] = j - i == 1 ? fmt::format("generic rDNS name {}", d_ptrs[i].ptr)
                                     : fmt::format("{} addresses with generic rDNS names like {}",
                                                   j - i, d_ptrs[i].ptr);
      add(r);
      i = j;
    }
  }

private:
  void error(const std::string& what) {
    d_feed.diagnostics.push_back(fmt::format("{}:{}: {}", d_feed.files[d_file], d_lineNo, what));
  }

  // `1.10.16.0/20 ; SBL256894`, or {"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}
  void drop(std::string_view s) {
    if (s[0] == ';' || s[0] == '#') return dropHeader(trim(s.substr(1)));
    if (s[0] == '{') {
      auto j = nlohmann::json::parse(s, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return error("invalid JSON object");
      if (isMetadata(j)) return;
      if (!j.contains("cidr") || !j["cidr"].is_string())
        return error(j.contains("asn") ? "an ASN-DROP line has no address to list"
                                       : "no \"cidr\" in the DROP record");
      Record r;
      r.subject = j["cidr"].get<std::string>();
      if (j.contains("sblid") && j["sblid"].is_string())
        r.fields[kRef] = j["sblid"].get<std::string>();
      return add(r);
    }
    Record r;
    auto semi = s.find(';');
    r.subject = std::string(trim(s.substr(0, semi)));
    if (semi != std::string_view::npos) r.fields[kRef] = std::string(trim(s.substr(semi + 1)));
    add(r);
  }

  // A DROP file's `; Expires: <HTTP date>` header: when to fetch a fresh copy (the import
  // refuses the file after it).
  void dropHeader(std::string_view s) {
    constexpr std::string_view kExpires = "expires:";
    if (s.size() < kExpires.size() || lower(s.substr(0, kExpires.size())) != kExpires) return;
    const auto date = trim(s.substr(kExpires.size()));
    const auto t = parseHttpDate(date);
    if (!t)
      return error(fmt::format("invalid Expires: date '{}' (an HTTP date, e.g. Thu, 26 Nov 2026 "
                               "12:14:02 GMT)",
                               date));
    d_feed.listExpires.push_back({*t, fmt::format("{}:{}", d_feed.files[d_file], d_lineNo)});
  }

  // The column of each field: a 1-based number, or a name from the header line.
  void csv(std::string_view s) {
    // The header: the first line naming columns, commented out or not (URLhaus puts banner
    // comment lines before a `# id,dateadded,url,...` header).
    if (!d_headerSeen && d_opt.header) {
      if (s[0] == '#') {
        auto k = s.find_first_not_of('#');
        s = k == std::string_view::npos ? std::string_view() : trim(s.substr(k));
        if (s.find(d_opt.delimiter) == std::string_view::npos) return; // a banner line
      }
      d_headerSeen = true;
      auto names = splitCsv(s, d_opt.delimiter);
      if (!names) return error("unterminated quote in the header line");
      d_header = *names;
      return;
    }
    if (s[0] == '#') return;
    auto cols = splitCsv(s, d_opt.delimiter);
    if (!cols) return error("unterminated quote");
    Record r;
    for (const auto& [field, column] : d_opt.columns) {
      size_t index = 0;
      if (column.find_first_not_of("0123456789") == std::string::npos) {
        index = std::stoul(column);
      } else {
        auto it = std::find(d_header.begin(), d_header.end(), column);
        if (it == d_header.end())
          return error(fmt::format("no column named '{}' in the header line", column));
        index = static_cast<size_t>(it - d_header.begin()) + 1;
      }
      if (index == 0 || index > cols->size())
        return error(fmt::format("no column {} for '{}' ({} columns)", index, field, cols->size()));
      set(r, field, (*cols)[index - 1]);
    }
    add(r);
  }

  void jsonl(std::string_view s) {
    auto j = nlohmann::json::parse(s, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("invalid JSON object");
    Record r;
    bool any = false;
    for (const auto& [field, key] : d_opt.columns) {
      if (!j.contains(key)) continue;
      const auto& v = j[key];
      std::string text;
      if (v.is_string())
        text = v.get<std::string>();
      else if (v.is_number_integer())
        text = std::to_string(v.get<int64_t>());
      else if (v.is_null())
        continue;
      else
        text = v.dump();
      set(r, field, text);
      any = true;
    }
    if (!any && isMetadata(j)) return; // a trailing metadata line
    add(r);
  }

  // `0.0.0.0 name [name...]` (also 127.0.0.1, ::, ::1): each name is listed.
  void hosts(std::string_view s) {
    if (s[0] == '#') return;
    s = stripComment(s);
    auto words = splitWords(s);
    if (words.size() < 2) return error("expected an address and a host name");
    for (size_t i = 1; i < words.size(); ++i) {
      auto name = lower(words[i]);
      if (name == "localhost" || name == "localhost.localdomain" || name == "local" ||
          name == "broadcasthost" || name.starts_with("ip6-") || name == "0.0.0.0")
        continue;
      Record r;
      r.subject = name;
      add(r);
    }
  }

  // One URL per line; a last word `force` lists its host even if it is a shared host.
  void url(std::string_view s) {
    Record r;
    if (s.size() > 6 && (s[s.size() - 6] == ' ' || s[s.size() - 6] == '\t') &&
        lower(s.substr(s.size() - 5)) == "force") {
      r.force = true;
      s = trim(s.substr(0, s.size() - 6));
    }
    r.url = std::string(s);
    add(r);
  }

  // An ISP's dynamic space: `CIDR|range [type] [reason...]`; type `static` (or a `!` prefix) is an
  // exclusion, every other type word and the rest of the line are kept as type and reason.
  void dynamic(std::string_view s) {
    if (s[0] == '#' || s[0] == ';') return;
    s = stripComment(s);
    Record r;
    if (s[0] == '!') {
      r.exclude = true;
      s.remove_prefix(1);
    }
    size_t blank = 0;
    while (blank < s.size() && !isBlank(s[blank]))
      ++blank;
    r.subject = std::string(s.substr(0, blank));
    auto rest = trim(s.substr(blank));
    size_t next = 0;
    while (next < rest.size() && !isBlank(rest[next]))
      ++next;
    auto word = lower(rest.substr(0, next));
    static constexpr std::string_view kTypes[] = {"dynamic", "dial-up", "dialup",     "dhcp",
                                                  "dsl",     "cable",   "pool",       "ppp",
                                                  "mobile",  "static",  "residential"};
    if (std::find(std::begin(kTypes), std::end(kTypes), word) != std::end(kTypes)) {
      r.fields[kType] = word;
      rest = trim(rest.substr(next));
      if (word == "static") r.exclude = true;
    }
    r.fields[kReason] = std::string(rest);
    add(r);
  }

  // `192.0.2.7 dyn-192-0-2-7.pool.example.net` (also `7.2.0.192.in-addr.arpa PTR name.`)
  void rdns(std::string_view s) {
    if (s[0] == '#' || s[0] == ';') return;
    s = stripComment(s);
    auto w = splitWords(s);
    if (w.size() >= 3 && lower(w[w.size() - 2]) == "ptr") w = {w.front(), w.back()};
    if (w.size() != 2) return error("expected an address and its PTR name");
    std::string addrText(w[0]);
    if (lower(addrText).ends_with(".in-addr.arpa") || lower(addrText).ends_with(".in-addr.arpa.")) {
      auto labels = addrText.substr(0, lower(addrText).find(".in-addr.arpa"));
      std::vector<std::string> parts;
      for (size_t pos = 0;;) {
        auto dot = labels.find('.', pos);
        parts.push_back(labels.substr(pos, dot - pos));
        if (dot == std::string::npos) break;
        pos = dot + 1;
      }
      std::reverse(parts.begin(), parts.end());
      addrText.clear();
      for (const auto& part : parts)
        addrText += (addrText.empty() ? "" : ".") + part;
    }
    auto a = parseIp4(addrText);
    if (!a) return error(fmt::format("invalid IPv4 address '{}'", w[0]));
    std::string ptr = lower(w[1]);
    if (!ptr.empty() && ptr.back() == '.') ptr.pop_back();
    d_ptrs.push_back({*a, ptr, classifyPtr(ptr, *a, d_opt), d_lineNo});
  }

  void set(Record& r, const std::string& field, std::string value) {
    if (field == "subject")
      r.subject = std::move(value);
    else if (field == "url")
      r.url = std::move(value);
    else if (field == "force")
      r.force = truthy(value);
    else if (auto f = fieldIndex(field))
      r.fields[*f] = std::move(value);
  }

  std::optional<Value> valueOf(const Record& r) {
    std::string err;
    auto v = recordValue(r.fields, d_opt.initialDefault, err);
    if (!v) error(err);
    return v;
  }

  void add(const Record& r) {
    std::string subject = r.subject;
    if (subject.empty() && !r.url.empty()) {
      std::string why;
      auto host = hostOfUrl(r.url, why);
      if (!host) return error(why);
      if (!r.force && d_opt.sharedHosts && d_opt.sharedHosts->matches(*host)) {
        ++d_feed.sharedHostUrls[*host]; // one user's page on a shared host: not the host's
        return;
      }
      subject = *host;
    }
    if (subject.empty()) return error("no subject (address, range or domain)");
    int64_t expires = 0;
    if (!r.fields[kExpires].empty()) {
      auto t = parseDate(r.fields[kExpires]);
      if (!t)
        return error(fmt::format("invalid expiry '{}' (e.g. 2026-12-31 or 2026-12-31T12:00:00Z)",
                                 r.fields[kExpires]));
      if (*t <= d_opt.now) {
        ++d_feed.expired;
        return; // already expired: not listed
      }
      expires = *t;
    }
    if (!r.fields[kListed].empty() && !parseDate(r.fields[kListed]))
      return error(fmt::format("invalid listing date '{}'", r.fields[kListed]));
    uint32_t vi = kExclusion;
    if (!r.exclude) {
      auto v = valueOf(r);
      if (!v) return;
      v->expires = expires; // served until then (the responder checks)
      vi = d_feed.internValue(*v);
    }
    Origin at{d_file, d_lineNo};
    std::string err;
    auto subj = parseSubject(subject, d_opt, err);
    if (!subj) return error(err);
    if (std::any_of(r.fields.begin(), r.fields.end(), [](const auto& f) { return !f.empty(); })) {
      d_feed.infoAt[uint64_t{d_file} << 32 | d_lineNo] = static_cast<uint32_t>(d_feed.infos.size());
      d_feed.infos.push_back(packFields(r.fields));
    }
    if (subj->kind == Subject::Ip4) {
      if (d_opt.maxRange4 && uint64_t{subj->hi4} - subj->lo4 + 1 > d_opt.maxRange4)
        return error(fmt::format("'{}' covers {} addresses, more than the dataset allows ({})",
                                 subject, uint64_t{subj->hi4} - subj->lo4 + 1, d_opt.maxRange4));
      d_feed.ip4.push_back({subj->lo4, subj->hi4, vi, at});
    } else if (subj->kind == Subject::Ip6) {
      d_feed.ip6.push_back({subj->lo6, subj->hi6, vi, at});
    } else {
      d_feed.domains.push_back({subj->name, subj->scope, vi, at});
    }
  }

  const ParseOptions& d_opt;
  Feed& d_feed;
  uint32_t d_file;
  uint32_t d_lineNo = 0;
  bool d_headerSeen = false;
  std::vector<std::string> d_header;
  struct Ptr {
    uint32_t addr;
    std::string ptr, kind;
    uint32_t line;
  };
  std::vector<Ptr> d_ptrs;
};

} // namespace

constexpr std::string_view kFieldNames[kFieldCount] = {"code",    "reason",   "ref",    "listed",
                                                       "expires", "evidence", "delist", "type"};

std::optional<size_t> fieldIndex(std::string_view name) {
  for (size_t i = 0; i < kFieldCount; ++i)
    if (kFieldNames[i] == name) return i;
  return std::nullopt;
}

std::optional<Value> recordValue(const std::array<std::string, kFieldCount>& fields,
                                 const Value& dflt, std::string& error) {
  Value v = dflt;
  if (const auto& code = fields[kCode]; !code.empty()) {
    auto a = parseAValue(code);
    if (!a || (*a >> 24) != 127) {
      error =
          fmt::format("invalid code '{}' (an A value in 127.0.0.0/8, e.g. 127.0.0.3 or 3)", code);
      return std::nullopt;
    }
    v.a = *a;
  }
  const auto& tmpl = dflt.txt;
  if (tmpl && tmpl->find('{') != std::string::npos) {
    v.txt = fillTemplate(*tmpl, fields);
  } else if (!fields[kReason].empty()) {
    v.txt = literal(fields[kReason]);
  }
  return v;
}

std::string fillTemplate(std::string_view tmpl,
                         const std::array<std::string, kFieldCount>& fields) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{') {
      auto close = tmpl.find('}', i);
      if (close != std::string_view::npos) {
        if (auto f = fieldIndex(tmpl.substr(i + 1, close - i - 1))) {
          out += literal(fields[*f]);
          i = close;
          continue;
        }
      }
    }
    out.push_back(tmpl[i]);
  }
  return out;
}

std::string packFields(const std::array<std::string, kFieldCount>& fields) {
  std::string out;
  for (const auto& f : fields) {
    auto n = std::min<size_t>(f.size(), 0xffff);
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
    out.append(f, 0, n);
  }
  return out;
}

void parseRecords(std::string_view text, std::string_view displayName, const ParseOptions& options,
                  Feed& feed) {
  RecordParser p(options, feed, static_cast<uint32_t>(feed.files.size()));
  text::forEachLine(text, displayName, feed,
                    [&](std::string_view line, uint32_t lineNo) { p.line(line, lineNo); });
  p.finish();
}

std::string loadTokens(const std::string& path, ParseOptions& options) {
  std::ifstream in(path);
  if (!in) return fmt::format("{}: cannot open the tokens file", path);
  std::string line;
  for (uint32_t n = 1; std::getline(in, line); ++n) {
    auto s = stripComment(line);
    if (s.empty() || s[0] == '#') continue;
    auto colon = s.find(':');
    auto kind = colon == std::string_view::npos ? std::string() : lower(trim(s.substr(0, colon)));
    if (kind != "dynamic" && kind != "static")
      return fmt::format("{}:{}: expected 'dynamic: token...' or 'static: token...'", path, n);
    auto& out = kind == "dynamic" ? options.dynamicTokens : options.staticTokens;
    for (auto word : splitWords(s.substr(colon + 1)))
      out.push_back(lower(word));
  }
  if (options.dynamicTokens.empty()) return fmt::format("{}: no 'dynamic:' tokens", path);
  return {};
}

std::string classifyPtr(std::string_view ptr, uint32_t addr, const ParseOptions& options) {
  // Words of the name: split at '.', '-' and '_', digits cut off their ends (ppp123 -> ppp).
  std::vector<std::string> words, numbers;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    size_t b = cur.find_first_not_of("0123456789"), e = cur.find_last_not_of("0123456789");
    if (b == std::string::npos) {
      numbers.push_back(cur);
    } else {
      words.push_back(cur.substr(b, e - b + 1));
    }
    cur.clear();
  };
  for (char c : ptr) {
    if (c == '.' || c == '-' || c == '_')
      flush();
    else
      cur.push_back(lower(c));
  }
  flush();
  auto has = [&](const std::vector<std::string>& tokens) {
    for (const auto& w : words)
      for (const auto& t : tokens)
        if (w == t) return true;
    return false;
  };
  if (has(options.staticTokens)) return "static";
  if (has(options.dynamicTokens)) return "dynamic";
  // The address embedded in the name (1-2-3-4, 4.3.2.1, 01020304 in hex): a generic name.
  const std::string o[4] = {std::to_string(addr >> 24), std::to_string((addr >> 16) & 255),
                            std::to_string((addr >> 8) & 255), std::to_string(addr & 255)};
  for (size_t i = 0; i + 4 <= numbers.size(); ++i) {
    bool forward = true, backward = true;
    for (size_t k = 0; k < 4; ++k) {
      auto v = std::to_string(std::stoul(numbers[i + k].substr(0, 3)));
      forward = forward && v == o[k];
      backward = backward && v == o[3 - k];
    }
    if (forward || backward) return "dynamic";
  }
  if (ptr.find(fmt::format("{:08x}", addr)) != std::string_view::npos) return "dynamic";
  return "";
}

} // namespace dnsxl::feeds

namespace dnsxl::feeds {

std::optional<Subject> parseSubject(std::string_view text, const ParseOptions& options,
                                    std::string& error) {
  Subject s;
  const bool v6 = text.find(':') != std::string_view::npos;
  const bool numeric = text.find_first_not_of("0123456789./-") == std::string_view::npos;
  if (v6 || numeric) {
    auto dash = text.find('-');
    auto slash = text.find('/');
    auto bad = [&](const char* what) {
      error = fmt::format("invalid {} '{}'", what, text);
      return std::nullopt;
    };
    if (v6) {
      s.kind = Subject::Ip6;
      if (dash != std::string_view::npos) {
        auto a = parseIp6(text.substr(0, dash)), b = parseIp6(text.substr(dash + 1));
        if (!a || !b || *b < *a) return bad("IPv6 range");
        s.lo6 = *a, s.hi6 = *b;
      } else {
        auto a = parseIp6(text.substr(0, slash));
        unsigned bits = 128;
        if (slash != std::string_view::npos) {
          auto b = text.substr(slash + 1);
          if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != b.npos)
            return bad("IPv6 prefix");
          bits = static_cast<unsigned>(std::stoul(std::string(b)));
        }
        if (!a || bits > 128 || bits == 0) return bad("IPv6 prefix");
        U128 host = bits == 128 ? 0 : (~U128{0} >> bits);
        if ((*a & host) != 0 && !options.allowHostBits) {
          error = fmt::format("host bits set in '{}'", text);
          return std::nullopt;
        }
        s.lo6 = *a & ~host, s.hi6 = (*a & ~host) | host;
      }
      return s;
    }
    s.kind = Subject::Ip4;
    if (dash != std::string_view::npos) {
      auto a = parseIp4(text.substr(0, dash)), b = parseIp4(text.substr(dash + 1));
      if (!a || !b || *b < *a) return bad("IPv4 range (two full addresses, a-b)");
      s.lo4 = *a, s.hi4 = *b;
      return s;
    }
    auto a = parseIp4(text.substr(0, slash));
    unsigned bits = 32;
    if (slash != std::string_view::npos) {
      auto b = text.substr(slash + 1);
      if (b.empty() || b.size() > 2 || b.find_first_not_of("0123456789") != b.npos)
        return bad("CIDR");
      bits = static_cast<unsigned>(std::stoul(std::string(b)));
    }
    if (bits > 32) return bad("CIDR");
    if (!a) return bad("IPv4 address or CIDR (four octets)");
    if (bits == 0) {
      error = fmt::format("'{}' would list every IPv4 address", text);
      return std::nullopt;
    }
    uint32_t host = bits == 32 ? 0 : (~uint32_t{0} >> bits);
    if ((*a & host) != 0 && !options.allowHostBits) {
      error = fmt::format("host bits set in '{}' (did you mean {}/{}?)", text,
                          formatIp4(*a & ~host), bits);
      return std::nullopt;
    }
    s.lo4 = *a & ~host, s.hi4 = (*a & ~host) | host;
    return s;
  }
  s.kind = Subject::Domain;
  if (text.starts_with("*.")) {
    s.scope = Scope::Below;
    text.remove_prefix(2);
  } else if (text.starts_with(".")) {
    s.scope = Scope::ExactAndBelow;
    text.remove_prefix(1);
  }
  s.name = std::string(text);
  if (auto e = checkDomain(s.name); !e.empty()) {
    error = e;
    return std::nullopt;
  }
  if (!options.allowPublicSuffix)
    if (auto e = publicSuffixError(s.name); !e.empty()) {
      error = e;
      return std::nullopt;
    }
  return s;
}

} // namespace dnsxl::feeds
