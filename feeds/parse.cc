#include "feeds/feed.hh"
#include "feeds/text.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <fmt/format.h>
#include <fstream>
#include <zlib.h>

namespace dnsxl::feeds {

namespace {

using text::iequals;
using text::isBlank;
using text::kMaxTtl;
using text::lower;
using text::parseNumber;
using text::parseOctets;
using text::splitWords;
using text::trim;

uint32_t maskOf(int bits) {
  return bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
}
U128 mask6(int bits) {
  return bits == 0 ? U128{0} : ~U128{0} << (128 - bits);
}

struct Ip4Range {
  uint32_t lo = 0, hi = 0;
};

class Parser {
public:
  Parser(const ParseOptions& options, Feed& feed, uint32_t file)
      : d_opt(options), d_root(feed), d_feed(&feed), d_format(options.format), d_file(file),
        d_default(options.initialDefault) {
    // A combined file read after another goes on in the last section, as one logical file.
    if (d_format == Format::Combined && !feed.sections.empty()) {
      d_feed = feed.sections.back().feed.get();
      d_format = feed.sections.back().format;
    }
    // acl: an entry without a value is ignored (dropped), again at every file start.
    if (d_format == Format::Acl) d_default = Value{kAclIgnore, std::nullopt};
  }

  void line(std::string_view raw, uint32_t lineNo);

private:
  void error(const std::string& what) {
    d_root.diagnostics.push_back(fmt::format("{}:{}: {}", d_root.files[d_file], d_lineNo, what));
  }
  void special(std::string_view s);
  void soaLine(const std::vector<std::string_view>& words);
  void nsLine(const std::vector<std::string_view>& words);
  void maxRange(const std::vector<std::string_view>& words);
  void timestamp(const std::vector<std::string_view>& words);
  bool parseValue(std::string_view rest, Value& out, bool defaultLine);
  std::optional<Ip4Range> ip4Key(std::string_view key, bool ranges, bool shortForms);
  std::optional<std::pair<U128, U128>> ip6Key(std::string_view key, bool rbldnsdForm);
  // One entry line's key, its value (or kExclusion) and where it was read.
  struct Key {
    std::string_view text;
    bool exclude = false, ip6 = false;
    uint32_t value = 0;
    Origin at{};
  };
  bool ip6Shaped(std::string_view s) const;
  void entry(std::string_view s);
  void addKey(const Key& k);
  void listKey(const Key& k);
  void addDomain(std::string_view name, uint32_t value, Origin at);
  void generic(std::string_view s);
  bool withinMaxRange(std::string_view key, const Ip4Range& r) {
    uint64_t n = uint64_t{r.hi} - r.lo + 1;
    if (d_feed->maxRange4 == 0 || n <= d_feed->maxRange4) return true;
    error(fmt::format("'{}' covers {} addresses, more than $MAXRANGE4 {}", key, n,
                      d_feed->maxRange4));
    return false;
  }

  void dataset(std::string_view args);

  const ParseOptions& d_opt;
  Feed& d_root; // the dataset (for combined: the common section, $SOA, $NS, diagnostics)
  Feed* d_feed; // where entries go: the dataset, or the current combined section
  Format d_format;
  uint32_t d_file;
  uint32_t d_lineNo = 0;
  Value d_default;
};

bool Parser::parseValue(std::string_view rest, Value& out, bool defaultLine) {
  // rest is what follows the key (or the whole default line), blanks trimmed.
  if (rest.empty() || (!defaultLine && (rest[0] == '#' || rest[0] == ';'))) {
    out = d_default;
    return true;
  }
  if (d_format == Format::Acl) {
    // :ignore (:blackhole), :refuse, :empty, :pass, also written =keyword; or :A:TXT, a value
    // every query of the client gets (rbldnsd §5.9).
    if (rest[0] == ':' || rest[0] == '=') {
      auto kw = trim(rest.substr(1));
      for (auto [name, action] : {std::pair{"ignore", kAclIgnore},
                                  {"blackhole", kAclIgnore},
                                  {"refuse", kAclRefuse},
                                  {"empty", kAclEmpty},
                                  {"pass", kAclPass}})
        if (iequals(kw, name)) {
          out = Value{action, std::nullopt};
          return true;
        }
    }
    if (rest[0] != ':') {
      error(
          fmt::format("invalid acl value '{}' (:ignore, :refuse, :empty, :pass or :A:TXT)", rest));
      return false;
    }
  }
  // `:A` in an acl after a keyword default has no default TXT to take: A alone (rbldnsd crashes
  // here). The keyword stays the default of the entries without a value.
  const bool keywordDefault = d_format == Format::Acl && d_default.a >= kAclIgnore;
  if (rest[0] != ':') {
    out.a = d_default.a;
    out.txt = std::string(rest);
    return true;
  }
  rest.remove_prefix(1);
  size_t colon = rest.find(':');
  auto aText = trim(rest.substr(0, colon));
  auto a = parseAValue(aText);
  if (!a) {
    error(fmt::format("invalid A value '{}' (expected e.g. 127.0.0.2 or 2)", aText));
    return false;
  }
  if ((*a >> 24) != 127) {
    error(fmt::format("A value {} is outside 127.0.0.0/8 (RFC 5782 §2.3)", formatIp4(*a)));
    return false;
  }
  out.a = *a;
  if (colon == std::string_view::npos)
    out.txt = defaultLine || keywordDefault ? std::nullopt : d_default.txt; // `:A` keeps it
  else if (auto txt = rest.substr(colon + 1); txt.empty())
    out.txt.reset(); // `:A:` = no TXT
  else
    out.txt = std::string(txt);
  return true;
}

std::optional<Ip4Range> Parser::ip4Key(std::string_view key, bool ranges, bool shortForms) {
  size_t slash = key.find('/');
  size_t dash = key.find('-');
  if (slash != std::string_view::npos) {
    auto o = parseOctets(key.substr(0, slash));
    auto bits = parseNumber(key.substr(slash + 1), 32);
    if (!o || !bits || key.substr(slash + 1).size() > 2) {
      error(fmt::format("invalid CIDR '{}'", key));
      return std::nullopt;
    }
    if (!shortForms && o->count != 4) {
      error(fmt::format("invalid CIDR '{}' (write all four octets)", key));
      return std::nullopt;
    }
    if (*bits == 0) {
      error(fmt::format("'{}' would list every IPv4 address", key));
      return std::nullopt;
    }
    uint32_t m = maskOf(static_cast<int>(*bits));
    if ((o->value & ~m) != 0) {
      if (!d_opt.allowHostBits) {
        error(fmt::format("host bits set in '{}' (did you mean {}/{}?)", key,
                          formatIp4(o->value & m), *bits));
        return std::nullopt;
      }
    }
    return Ip4Range{o->value & m, (o->value & m) | ~m};
  }
  if (dash != std::string_view::npos) {
    if (!ranges) {
      error(fmt::format("ranges are not allowed in this format: '{}'", key));
      return std::nullopt;
    }
    auto a = parseOctets(key.substr(0, dash));
    auto b = parseOctets(key.substr(dash + 1));
    if (!a || !b) {
      error(fmt::format("invalid range '{}'", key));
      return std::nullopt;
    }
    if (!shortForms && (a->count != 4 || b->count != 4)) {
      error(fmt::format("invalid range '{}' (write two full addresses)", key));
      return std::nullopt;
    }
    uint32_t hi;
    if (b->count == 1 && a->count > 1) {
      // last-octet shorthand: 10.5.0.1-5, 127.16-31
      int shift = 8 * (4 - a->count);
      uint32_t keep = a->value & ~(uint32_t{0xff} << shift) & maskOf(8 * (a->count - 1));
      hi = keep | (b->value >> 24 << shift);
    } else if (b->count == a->count) {
      hi = b->value;
    } else {
      error(fmt::format("range '{}' has ends with different numbers of octets", key));
      return std::nullopt;
    }
    hi |= ~maskOf(8 * a->count);
    if (hi < a->value) {
      error(fmt::format("range '{}' ends before it starts", key));
      return std::nullopt;
    }
    return Ip4Range{a->value, hi};
  }
  auto o = parseOctets(key);
  if (!o) {
    error(fmt::format("invalid IPv4 address '{}'", key));
    return std::nullopt;
  }
  if (o->count != 4 && !shortForms) {
    error(fmt::format("invalid IPv4 address '{}'", key));
    return std::nullopt;
  }
  if (o->count == 1) {
    error(fmt::format("bare number '{}' is not an address (write {}/8)", key, key));
    return std::nullopt;
  }
  return Ip4Range{o->value, o->value | ~maskOf(8 * o->count)};
}

std::optional<std::pair<U128, U128>> Parser::ip6Key(std::string_view key, bool rbldnsdForm) {
  size_t slash = key.find('/');
  auto addrText = key.substr(0, slash);
  int bits = -1;
  if (slash != std::string_view::npos) {
    auto b = parseNumber(key.substr(slash + 1), 128);
    if (!b || key.substr(slash + 1).size() > 3) {
      error(fmt::format("invalid IPv6 prefix length in '{}'", key));
      return std::nullopt;
    }
    bits = static_cast<int>(*b);
  }
  U128 addr = 0;
  if (addrText.find("::") != std::string_view::npos || !rbldnsdForm) {
    auto a = parseIp6(addrText);
    if (!a) {
      error(fmt::format("invalid IPv6 address '{}'", key));
      return std::nullopt;
    }
    addr = *a;
    if (bits < 0) bits = 128;
  } else {
    // rbldnsd form: groups written without "::", length 16 per group unless /bits
    int groups = 0;
    size_t pos = 0;
    for (;;) {
      size_t c = addrText.find(':', pos);
      auto g = addrText.substr(pos, c == std::string_view::npos ? std::string_view::npos : c - pos);
      uint32_t v = 0;
      if (g.empty() || g.size() > 4 || groups == 8 ||
          std::from_chars(g.data(), g.data() + g.size(), v, 16).ptr != g.data() + g.size()) {
        error(fmt::format("invalid IPv6 address '{}'", key));
        return std::nullopt;
      }
      addr |= U128{v} << (16 * (7 - groups));
      ++groups;
      if (c == std::string_view::npos) break;
      pos = c + 1;
    }
    if (bits < 0) {
      if (groups == 1) {
        error(fmt::format("single IPv6 group '{}' needs a /length", key));
        return std::nullopt;
      }
      bits = 16 * groups;
    }
  }
  if (bits == 0) {
    error(fmt::format("'{}' would list every IPv6 address", key));
    return std::nullopt;
  }
  U128 m = mask6(bits);
  if ((addr & ~m) != 0 && !d_opt.allowHostBits) {
    error(
        fmt::format("host bits set in '{}' (did you mean {}/{}?)", key, formatIp6(addr & m), bits));
    return std::nullopt;
  }
  return std::pair{addr & m, (addr & m) | ~m};
}

void Parser::special(std::string_view s) {
  // s starts after '$'
  size_t sp = 0;
  while (sp < s.size() && !isBlank(s[sp]))
    ++sp;
  auto kw = s.substr(0, sp);
  auto args = trim(s.substr(sp));
  auto words = splitWords(args);
  if (kw.size() == 1 && kw[0] >= '0' && kw[0] <= '9') {
    auto& var = d_feed->vars[static_cast<size_t>(kw[0] - '0')];
    if (!var) var = std::string(args); // first definition wins
    return;
  }
  if (iequals(kw, "TTL")) {
    auto t = words.size() == 1 ? parseTime(words[0]) : std::nullopt;
    if (!t) return error("invalid $TTL (expected $TTL time, e.g. $TTL 35m)");
    d_feed->ttl = *t;
    return;
  }
  if (d_format == Format::Acl && (iequals(kw, "SOA") || iequals(kw, "NS")))
    return error(fmt::format("${} is not allowed in an acl", kw));
  if (iequals(kw, "SOA")) return soaLine(words);
  if (iequals(kw, "NS") || iequals(kw, "NAMESERVER")) return nsLine(words);
  if (kw == "=") {
    if (!d_feed->baseTemplate) d_feed->baseTemplate = std::string(args);
    return;
  }
  if (iequals(kw, "MAXRANGE4")) return maxRange(words);
  if (iequals(kw, "TIMESTAMP")) return timestamp(words);
  if (iequals(kw, "DATASET")) {
    if (d_opt.format != Format::Combined)
      return error("$DATASET is only allowed in combined data files");
    return dataset(args);
  }
  error(fmt::format("unrecognized special entry ${}", kw));
}

// $SOA ttl mname rname serial refresh retry expire minimum: the first one counts.
void Parser::soaLine(const std::vector<std::string_view>& words) {
  if (words.size() != 8) return error("invalid $SOA (expected 8 fields)");
  if (d_root.soa) return; // only the first $SOA counts
  SoaLine soa;
  auto ttl = parseTime(words[0]);
  auto serial = parseNumber(words[3], 0xffffffffU);
  auto refresh = parseTime(words[4]), retry = parseTime(words[5]), expire = parseTime(words[6]),
       minimum = parseTime(words[7]);
  if (!ttl || !serial || !refresh || !retry || !expire || !minimum)
    return error("invalid number or time in $SOA");
  soa.ttl = *ttl;
  soa.mname = std::string(words[1]);
  soa.rname = std::string(words[2]);
  for (auto* n : {&soa.mname, &soa.rname})
    if (auto e = checkDomain(*n); !e.empty()) return error("$SOA: " + e);
  soa.serial = *serial;
  soa.refresh = *refresh;
  soa.retry = *retry;
  soa.expire = *expire;
  soa.minimum = *minimum;
  d_root.soa = soa;
}

// $NS ttl name...: the first line counts; a name starting with '-' is commented out.
void Parser::nsLine(const std::vector<std::string_view>& words) {
  if (words.size() < 2) return error("invalid $NS (expected $NS ttl name...)");
  if (!d_root.ns.empty()) return; // only the first $NS line counts
  auto ttl = parseTime(words[0]);
  if (!ttl) return error("invalid TTL in $NS");
  d_root.nsTtl = *ttl;
  for (size_t i = 1; i < words.size(); ++i) {
    if (words[i][0] == '-') continue; // commented out
    std::string n(words[i]);
    if (auto e = checkDomain(n); !e.empty()) return error("$NS: " + e);
    d_root.ns.push_back(n);
  }
}

// $MAXRANGE4 n or /bits: the widest entry allowed from here on (it may only be lowered).
void Parser::maxRange(const std::vector<std::string_view>& words) {
  std::optional<uint64_t> n;
  if (words.size() == 1 && words[0].starts_with("/")) {
    if (auto bits = parseNumber(words[0].substr(1), 32); bits && *bits > 0)
      n = uint64_t{1} << (32 - *bits);
  } else if (words.size() == 1) {
    if (auto v = parseNumber(words[0], 0xffffffffU); v && *v > 0) n = *v;
  }
  if (!n) return error("invalid $MAXRANGE4 (expected a number of addresses or /bits)");
  if (d_feed->maxRange4 != 0 && *n > d_feed->maxRange4)
    return error(fmt::format("$MAXRANGE4 may only be lowered (it is {})", d_feed->maxRange4));
  d_feed->maxRange4 = *n;
}

// $TIMESTAMP stamp [expires]: when the data was made, and when it stops being served.
void Parser::timestamp(const std::vector<std::string_view>& words) {
  if (words.empty() || words.size() > 2)
    return error("invalid $TIMESTAMP (expected $TIMESTAMP stamp [expires])");
  auto unset = [](std::string_view w) { return w == "0" || w == "-"; };
  std::optional<int64_t> stamp, expires;
  if (!unset(words[0]) && !(stamp = parseStamp(words[0])))
    return error(fmt::format("invalid $TIMESTAMP time '{}' (yyyy:mm:dd[:hh[:mi[:ss]]])", words[0]));
  if (words.size() == 2 && !unset(words[1])) {
    if (words[1][0] == '+') {
      auto rel = parseTime(words[1].substr(1));
      if (!rel || !stamp) return error(fmt::format("invalid $TIMESTAMP expiry '{}'", words[1]));
      expires = *stamp + *rel;
    } else if (!(expires = parseStamp(words[1]))) {
      return error(fmt::format("invalid $TIMESTAMP expiry '{}'", words[1]));
    }
  }
  if (stamp && (!d_root.timestamp || *stamp > *d_root.timestamp)) d_root.timestamp = stamp;
  if (expires && (!d_root.expires || *expires < *d_root.expires)) d_root.expires = expires;
}

// `$DATASET type[:label] subzone...` starts a section of a combined file (rbldnsd §5.8).
void Parser::dataset(std::string_view args) {
  // A comment may follow after a blank.
  for (size_t i = 1; i < args.size(); ++i)
    if ((args[i] == '#' || args[i] == ';') && isBlank(args[i - 1])) {
      args = trim(args.substr(0, i));
      break;
    }
  auto words = splitWords(args);
  if (words.size() < 2) return error("invalid $DATASET (expected $DATASET type[:name] subzone...)");
  auto typeSpec = words[0];
  auto colon = typeSpec.find(':');
  auto typeName = typeSpec.substr(0, colon);
  auto format = parseFormat(std::string(typeName));
  if (format == Format::Acl)
    return error("$DATASET acl: an acl cannot be part of a combined dataset");
  if (!format || *format == Format::List)
    return error(fmt::format("unknown dataset type '{}' in $DATASET", typeName));
  if (*format == Format::Combined)
    return error("$DATASET combined: a combined dataset cannot hold another one");
  CombinedSection section;
  section.format = *format;
  section.label = colon == std::string_view::npos ? std::string(typeName)
                                                  : std::string(typeSpec.substr(colon + 1));
  for (size_t i = 1; i < words.size(); ++i) {
    std::string sub = words[i] == "@" ? std::string() : std::string(words[i]);
    if (!sub.empty())
      if (auto err = checkDomain(sub); !err.empty()) return error("$DATASET subzone: " + err);
    section.subzones.push_back(sub);
  }
  // A section starts with the common section's TTL, variables and limits as they are now.
  section.feed = std::make_shared<Feed>();
  section.feed->ttl = d_root.ttl;
  section.feed->vars = d_root.vars;
  section.feed->maxRange4 = d_root.maxRange4;
  d_root.sections.push_back(section);
  d_feed = d_root.sections.back().feed.get();
  d_format = section.format;
  d_default = d_opt.initialDefault;
}

// Whether the first word of an entry line is (shaped like) an IPv6 key: then ':' belongs to it.
bool Parser::ip6Shaped(std::string_view s) const {
  const Format f = d_format;
  if (f == Format::Ip6trie || f == Format::Ip6tset) return true;
  if (f != Format::Acl && f != Format::List) return false;
  size_t blank = 0;
  while (blank < s.size() && !isBlank(s[blank]))
    ++blank;
  const auto word = s.substr(0, blank);
  const auto colons = std::count(word.begin(), word.end(), ':');
  if (f == Format::Acl) return colons >= 2 && word.find('.') == word.npos;
  const auto head = word.substr(0, word.find(':'));
  return word.starts_with("::") ||
         (colons >= 2 && head.size() <= 4 &&
          head.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos);
}

void Parser::entry(std::string_view s) {
  Key k;
  if (s[0] == '!') {
    k.exclude = true;
    s.remove_prefix(1);
  }
  const Format f = d_format;
  // The key ends at a blank; an IPv4 key also at ':' (10.0.0.1:127.0.0.2:text), as in rbldnsd.
  k.ip6 = ip6Shaped(s);
  size_t end = 0;
  const bool blankOnly = k.ip6 || f == Format::Dnset; // ':' may be part of these keys
  while (end < s.size() && !isBlank(s[end]) && (blankOnly || s[end] != ':'))
    ++end;
  k.text = s.substr(0, end);
  auto rest = trim(s.substr(end));
  if (k.text.empty()) return error("missing key");
  Value value;
  const bool tset = f == Format::Ip4tset || f == Format::Ip6tset;
  if (!k.exclude && !tset && !parseValue(rest, value, false)) return;
  if (value.txt && value.txt->size() > 0xffff) return error("TXT text too long");
  k.value = k.exclude || tset ? kExclusion : d_feed->internValue(value);
  k.at = Origin{d_file, d_lineNo};
  addKey(k);
}

void Parser::addDomain(std::string_view name, uint32_t value, Origin at) {
  DomainEntry e;
  e.value = value;
  e.at = at;
  if (name.starts_with("*.")) {
    e.scope = Scope::Below;
    name.remove_prefix(2);
  } else if (name.starts_with(".")) {
    e.scope = Scope::ExactAndBelow;
    name.remove_prefix(1);
  }
  e.name = std::string(name);
  if (auto err = checkDomain(e.name); !err.empty()) return error(err);
  if (!d_opt.allowPublicSuffix)
    if (auto err = publicSuffixError(e.name); !err.empty()) return error(err);
  d_feed->domains.push_back(std::move(e));
}

// The key as the format reads it: an address, range, prefix or name.
void Parser::addKey(const Key& k) {
  const Format f = d_format;
  const auto key = k.text;
  const auto vi = k.value;
  const auto at = k.at;
  switch (f) {
  case Format::Acl:
    if (k.exclude) return error("acl entries have no exclusions (use :pass)");
    if (k.ip6) {
      if (auto r = ip6Key(key, true)) d_feed->ip6.push_back({r->first, r->second, vi, at});
    } else if (auto r = ip4Key(key, false, true); r && withinMaxRange(key, *r)) {
      d_feed->ip4.push_back({r->lo, r->hi, vi, at});
    }
    return;
  case Format::Ip4set:
  case Format::Ip4trie:
    if (auto r = ip4Key(key, f == Format::Ip4set, true); r && withinMaxRange(key, *r))
      d_feed->ip4.push_back({r->lo, r->hi, vi, at});
    return;
  case Format::Ip4tset: // full addresses only; every entry answers the dataset's shared value
    if (auto a = k.exclude ? std::nullopt : parseIp4(key))
      d_feed->ip4.push_back({*a, *a, kSharedValue, at});
    else
      error(fmt::format("invalid address '{}{}' (ip4tset takes full IPv4 addresses only)",
                        k.exclude ? "!" : "", key));
    return;
  case Format::Ip6tset: // /64 prefixes (4 groups), exclusions of single addresses
    if (auto r = ip6Key(key, true)) {
      auto size = r->second - r->first;
      if (k.exclude ? size != 0 : size != ~(~U128{0} << 64))
        return error(
            fmt::format("ip6tset takes {} only: '{}{}'",
                        k.exclude ? "single-address exclusions" : "/64 prefixes (4 groups)",
                        k.exclude ? "!" : "", key));
      d_feed->ip6.push_back({r->first, r->second, k.exclude ? kExclusion : kSharedValue, at});
    }
    return;
  case Format::Ip6trie:
    if (auto r = ip6Key(key, true)) d_feed->ip6.push_back({r->first, r->second, vi, at});
    return;
  case Format::Dnset:
    return addDomain(key, vi, at);
  case Format::List:
    return listKey(k);
  default: // generic: generic(); combined: no entries outside a section; records: records.cc
    return;
  }
}

// `list`: an IPv6 address, prefix or range; an IPv4 address, prefix or range; else a domain.
void Parser::listKey(const Key& k) {
  const auto key = k.text;
  if (k.ip6) {
    if (size_t dash = key.find('-'); dash != std::string_view::npos) {
      auto a = parseIp6(key.substr(0, dash)), b = parseIp6(key.substr(dash + 1));
      if (!a || !b || *b < *a) return error(fmt::format("invalid IPv6 range '{}'", key));
      d_feed->ip6.push_back({*a, *b, k.value, k.at});
    } else if (auto r = ip6Key(key, false)) {
      d_feed->ip6.push_back({r->first, r->second, k.value, k.at});
    }
    return;
  }
  if (key.find_first_not_of("0123456789./-") == std::string_view::npos) {
    if (auto r = ip4Key(key, true, false); r && withinMaxRange(key, *r))
      d_feed->ip4.push_back({r->lo, r->hi, k.value, k.at});
    return;
  }
  addDomain(key, k.value, k.at);
}

void Parser::generic(std::string_view s) {
  auto word = [&s]() {
    while (!s.empty() && isBlank(s.front()))
      s.remove_prefix(1);
    size_t n = 0;
    while (n < s.size() && !isBlank(s[n]))
      ++n;
    auto w = s.substr(0, n);
    s.remove_prefix(n);
    return w;
  };
  GenericRecord r;
  r.at = {d_file, d_lineNo};
  auto name = word();
  if (name != "@") {
    r.name = std::string(name);
    if (auto err = checkDomain(r.name); !err.empty()) return error(err);
  }
  auto type = word();
  if (auto ttl = parseTime(type)) {
    r.ttl = ttl;
    type = word();
  } else if (d_feed->ttl) {
    r.ttl = d_feed->ttl; // the $TTL in force at this line
  }
  if (iequals(type, "IN")) type = word();
  auto data = trim(s);
  if (iequals(type, "A")) {
    auto a = parseDotted(data, false);
    if (!a) return error(fmt::format("invalid A record address '{}'", data));
    r.type = 1;
    r.a = *a;
  } else if (iequals(type, "TXT")) {
    if (data.size() >= 2 && data.front() == '"' && data.back() == '"')
      data = data.substr(1, data.size() - 2);
    if (data.size() > 0xffff) return error("TXT text too long");
    r.type = 16;
    r.text = std::string(data);
  } else if (iequals(type, "MX")) {
    auto pref = parseNumber(word(), 65535);
    r.target = std::string(trim(s));
    if (!pref) return error("invalid MX record (expected: MX preference target)");
    if (auto err = checkDomain(r.target); !err.empty()) return error("MX target: " + err);
    r.type = 15;
    r.pref = static_cast<uint16_t>(*pref);
  } else {
    return error(fmt::format("unsupported record type '{}' (generic takes A, TXT and MX)", type));
  }
  d_feed->records.push_back(std::move(r));
}

void Parser::line(std::string_view raw, uint32_t lineNo) {
  d_lineNo = lineNo;
  auto s = trim(raw);
  if (s.empty()) return;
  if (s[0] == '$') return special(s.substr(1));
  if (s.size() > 1 && (s[0] == '#' || s[0] == ';' || s[0] == ':') && s[1] == '$')
    return special(s.substr(2));
  if (s[0] == '#' || s[0] == ';') return;
  if (d_format == Format::Generic) return generic(s);
  if (d_format == Format::Combined)
    return error("data line before the first $DATASET in a combined file");
  // A default line; in an acl also `=keyword` (rbldnsd §5.9).
  if ((s[0] == ':' && !(s.size() > 1 && s[1] == ':' && d_format != Format::Dnset)) ||
      (s[0] == '=' && d_format == Format::Acl)) {
    Value v;
    if (parseValue(s, v, true)) {
      d_default = v;
      if (!d_feed->sharedValue) d_feed->sharedValue = v;
    }
    return;
  }
  entry(s);
}

} // namespace

void parseText(std::string_view text, std::string_view displayName, const ParseOptions& options,
               Feed& feed) {
  if (traitsOf(options.format).records) return parseRecords(text, displayName, options, feed);
  Parser p(options, feed, static_cast<uint32_t>(feed.files.size()));
  text::forEachLine(text, displayName, feed,
                    [&](std::string_view line, uint32_t lineNo) { p.line(line, lineNo); });
}

void parseFile(const std::string& path, const ParseOptions& options, Feed& feed) {
  auto fail = [&](const char* what) {
    feed.files.push_back(path);
    feed.fileErrors.push_back(fmt::format("{}: {}", path, what));
  };
  std::ifstream probe(path, std::ios::binary);
  if (!probe) return fail("cannot open file");
  char magic[2] = {0, 0};
  probe.read(magic, 2);
  bool compressed = probe.gcount() == 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
                    static_cast<unsigned char>(magic[1]) == 0x8b;
  probe.close();
  if (compressed && !options.gzip) return fail("gzip-compressed file refused (gzip = false)");
  // zlib reads plain files as they are and decompresses gzip ones.
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) return fail("cannot open file");
  std::string text;
  char buf[1 << 16];
  int n;
  while ((n = gzread(gz, buf, sizeof buf)) > 0)
    text.append(buf, static_cast<size_t>(n));
  int err = 0;
  bool bad = n < 0 || (gzerror(gz, &err), err != Z_OK && err != Z_STREAM_END);
  gzclose(gz);
  if (bad) return fail(compressed ? "read error (corrupt gzip data?)" : "read error");
  parseText(text, path, options, feed);
}

} // namespace dnsxl::feeds
