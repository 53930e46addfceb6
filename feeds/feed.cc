// The shared pieces of every feed format: a feed's values and origins, and the scalar syntax
// (addresses, A values, times, $TIMESTAMP stamps, names) that the parsers read.
#include "feeds/feed.hh"
#include "feeds/text.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <fmt/format.h>

namespace dnsxl::feeds {

using text::kMaxTtl;
using text::lower;
using text::parseNumber;
using text::parseOctets;

uint32_t Feed::internValue(const Value& v) {
  // "a:expires:" then t and the text, or n (every entry with its own value comes here: no fmt)
  char num[48]; // u32 and i64 in decimal, two colons
  char* end = std::to_chars(num, num + 20, v.a).ptr;
  *end++ = ':';
  end = std::to_chars(end, num + 46, v.expires).ptr;
  *end++ = ':';
  std::string key(num, end);
  key += v.txt ? 't' : 'n';
  if (v.txt) key += *v.txt;
  auto [it, inserted] = d_valueIndex.try_emplace(key, static_cast<uint32_t>(values.size()));
  if (inserted) values.push_back(v);
  return it->second;
}

std::string Feed::where(const Origin& at) const {
  const std::string_view file =
      at.file < files.size() ? std::string_view(files[at.file]) : std::string_view("?");
  std::string out(file); // line 0: not a file
  if (at.line) {         // every audit line of an import asks: no fmt here
    char digits[16];
    const auto end = std::to_chars(digits, digits + sizeof digits, at.line).ptr;
    out.push_back(':');
    out.append(digits, end);
  }
  return out;
}

std::optional<uint32_t> parseDotted(std::string_view t, bool loopbackShorthand) {
  if (t.empty()) return std::nullopt;
  uint32_t parts[4];
  int n = 0;
  size_t pos = 0;
  for (;;) {
    size_t dot = t.find('.', pos);
    auto p = t.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    auto v = parseNumber(p, 255); // rbldnsd takes no part above 255 (`127.300` is refused)
    if (!v || n == 4) return std::nullopt;
    parts[n++] = *v;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  // The parts before the last fill from the top, the last one is the lowest octet:
  // 127.5 = 127.0.0.5, 10.1.5 = 10.1.0.5. A single number n is 127.0.0.n as a value (`:5`), and
  // 0.0.0.n as a generic A record.
  uint32_t a = parts[n - 1];
  for (int i = 0; i < n - 1; ++i)
    a |= parts[i] << (24 - 8 * i);
  if (n == 1 && loopbackShorthand) a |= 0x7f000000U;
  return a;
}

std::optional<uint32_t> parseAValue(std::string_view t) {
  auto a = parseDotted(t, true);
  if (!a || *a == 0) return std::nullopt;
  return a;
}

std::optional<uint32_t> parseIp4(std::string_view text) {
  auto o = parseOctets(text);
  if (!o || o->count != 4) return std::nullopt;
  return o->value;
}

std::optional<U128> parseIp6(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buf[46];
  text.copy(buf, text.size());
  buf[text.size()] = '\0';
  unsigned char b[16];
  if (inet_pton(AF_INET6, buf, b) != 1) return std::nullopt;
  U128 v = 0;
  for (unsigned char c : b)
    v = v << 8 | c;
  return v;
}

std::optional<uint32_t> parseTime(std::string_view t) {
  if (t.empty()) return std::nullopt;
  uint64_t mult = 1;
  switch (lower(t.back())) {
  case 's':
    mult = 1;
    break;
  case 'm':
    mult = 60;
    break;
  case 'h':
    mult = 3600;
    break;
  case 'd':
    mult = 86400;
    break;
  case 'w':
    mult = 604800;
    break;
  default:
    mult = 0;
  }
  if (mult != 0)
    t.remove_suffix(1);
  else
    mult = 1;
  auto n = parseNumber(t, 0xffffffffU);
  if (!n || *n * mult > kMaxTtl) return std::nullopt;
  return static_cast<uint32_t>(*n * mult);
}

std::optional<int64_t> parseStamp(std::string_view t) {
  std::string digits;
  for (char c : t) {
    if (c >= '0' && c <= '9')
      digits.push_back(c);
    else if (c != ':' && c != '-')
      return std::nullopt;
  }
  // yyyy mm dd [hh [mi [ss]]]
  if (digits.size() < 8 || digits.size() > 14 || digits.size() % 2 != 0) return std::nullopt;
  auto field = [&](size_t pos, size_t len) {
    return pos + len <= digits.size() ? std::stoi(digits.substr(pos, len)) : 0;
  };
  int y = field(0, 4), mo = field(4, 2), d = field(6, 2), h = field(8, 2), mi = field(10, 2),
      sec = field(12, 2);
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || h > 23 || mi > 59 || sec > 59)
    return std::nullopt;
  if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return std::nullopt;
  // days since the epoch in the proleptic Gregorian calendar
  int yy = mo <= 2 ? y - 1 : y;
  int era = yy / 400;
  int yoe = yy - era * 400;
  int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = int64_t{era} * 146097 + doe - 719468;
  return days * 86400 + h * 3600 + mi * 60 + sec;
}

void Feed::finish(const Value& initialDefault) {
  for (auto& section : sections) {
    section.feed->files = files;
    section.feed->finish(initialDefault);
  }
  uint32_t shared = internValue(sharedValue.value_or(initialDefault));
  for (auto& e : ip4)
    if (e.value == kSharedValue) e.value = shared;
  for (auto& e : ip6)
    if (e.value == kSharedValue) e.value = shared;
  applyBaseTemplate();
}

// rbldnsd's `$=` (§4.3): the TXT becomes the base template, in which `$=` stands for the entry's
// text inserted as it is (its own `$` are not expanded), or for the subject when the entry has no
// text. An entry text starting with `=` is its own template, the `=` dropped (with or without a
// base template). Outside a base template, `$=` stands for the text itself.
void Feed::applyBaseTemplate() {
  auto literal = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      out.push_back(c);
      if (c == '$') out.push_back('$');
    }
    return out;
  };
  auto fill = [](std::string_view tmpl, const std::string& entry) {
    std::string out;
    for (size_t i = 0; i < tmpl.size(); ++i) {
      if (tmpl[i] == '$' && i + 1 < tmpl.size() && (tmpl[i + 1] == '=' || tmpl[i + 1] == '$')) {
        out += tmpl[i + 1] == '=' ? entry : "$$";
        ++i;
      } else {
        out.push_back(tmpl[i]);
      }
    }
    return out;
  };
  for (auto& v : values) {
    if (v.txt && v.txt->starts_with('=')) {
      std::string own = v.txt->substr(1);
      v.txt = fill(own, literal(own));
      continue;
    }
    if (baseTemplate)
      v.txt = fill(*baseTemplate, v.txt && !v.txt->empty() ? literal(*v.txt) : std::string("$"));
    else if (v.txt)
      v.txt = fill(*v.txt, literal(*v.txt));
  }
}

std::string checkDomain(std::string& name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty()) return "empty domain name";
  if (std::any_of(name.begin(), name.end(),
                  [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    std::string err;
    auto ascii = toALabels(name, err);
    if (!ascii) return err;
    name = *ascii;
  }
  if (name.size() > 253) return fmt::format("domain name '{}' is longer than 253 bytes", name);
  size_t labelLen = 0;
  for (char& c : name) {
    c = lower(c);
    if (c == '.') {
      if (labelLen == 0) return fmt::format("empty label in domain name '{}'", name);
      labelLen = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return fmt::format("invalid character '{}' in domain name '{}'", c, name);
    if (++labelLen > 63) return fmt::format("label longer than 63 bytes in '{}'", name);
  }
  if (labelLen == 0) return fmt::format("empty label in domain name '{}'", name);
  return {};
}

std::string formatIp4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

std::string formatIp6(U128 a) {
  unsigned char b[16];
  for (int i = 15; i >= 0; --i) {
    b[i] = static_cast<unsigned char>(a & 0xff);
    a >>= 8;
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, b, buf, sizeof buf);
  return buf;
}

} // namespace dnsxl::feeds
