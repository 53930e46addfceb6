// The host of a URL in a feed, as a browser finds it: the WHATWG URL Standard's rules where they
// differ from RFC 3986 (a `\` ends the authority of http(s), ws(s) and ftp URLs; the last `@`
// ends the userinfo; tabs and newlines are dropped; `0x7f.1` and `3232235777` are IPv4
// addresses), then the authority checked by Boost.URL's RFC 3986 grammar, percent-decoding,
// IDNA to A-labels (libidn2) and a trailing dot dropped. A phishing URL lists the host its
// visitor reaches, never a name placed to look like it (`http://evil.example\@good.example/`).
#include "feeds/feed.hh"

#include <boost/url/authority_view.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

namespace dnsxl::feeds {

namespace {

constexpr std::array<std::string_view, 5> kSpecial = {"http", "https", "ftp", "ws", "wss"};

char lowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// WHATWG "ends in a number": the last label (before a trailing dot) is decimal or 0x hex.
bool endsInNumber(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  const auto dot = host.rfind('.');
  auto last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  if (last.find_first_not_of("0123456789") == std::string_view::npos) return true;
  return (last.starts_with("0x") || last.starts_with("0X")) &&
         last.substr(2).find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

// One part of a WHATWG IPv4 host: decimal, 0x hex or 0 octal.
std::optional<uint64_t> ipv4Number(std::string_view part) {
  if (part.empty()) return std::nullopt;
  int base = 10;
  if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X'))
    base = 16, part.remove_prefix(2);
  else if (part.size() >= 2 && part[0] == '0')
    base = 8, part.remove_prefix(1);
  uint64_t n = 0;
  for (char c : part) {
    const int d = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : 99;
    if (d >= base) return std::nullopt;
    n = n * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    if (n > 0xffffffffULL) return std::nullopt;
  }
  return n;
}

// The WHATWG IPv4 parser: 1 to 4 parts, the last filling the bytes the others leave.
std::optional<uint32_t> whatwgIpv4(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  std::vector<uint64_t> parts;
  for (;;) {
    const auto dot = host.find('.');
    auto n = ipv4Number(host.substr(0, dot));
    if (!n || parts.size() == 4) return std::nullopt;
    parts.push_back(*n);
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i)
    if (parts[i] > 255) return std::nullopt;
  const unsigned restBits = 8 * static_cast<unsigned>(5 - parts.size());
  if (parts.back() >= (uint64_t{1} << restBits)) return std::nullopt;
  uint64_t addr = parts.back();
  for (size_t i = 0; i + 1 < parts.size(); ++i)
    addr += parts[i] << (8 * (3 - i));
  return static_cast<uint32_t>(addr);
}

// Bytes RFC 3986 does not allow in a host but a browser takes (UTF-8 of an IDN) as %XX, so
// that Boost.URL's grammar can check the rest.
std::string encodeNonAscii(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80)
      out += fmt::format("%{:02X}", u);
    else
      out.push_back(c);
  }
  return out;
}

// The URL as a browser takes it: leading and trailing C0 controls and spaces gone, tabs and
// newlines dropped anywhere; the defanged dot of threat reports ("[.]") is a dot.
std::string cleaned(std::string_view url) {
  while (!url.empty() && static_cast<unsigned char>(url.front()) <= 0x20)
    url.remove_prefix(1);
  while (!url.empty() && static_cast<unsigned char>(url.back()) <= 0x20)
    url.remove_suffix(1);
  std::string s;
  s.reserve(url.size());
  for (size_t i = 0; i < url.size(); ++i) {
    const char c = url[i];
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '[' && i + 2 < url.size() && url[i + 1] == '.' && url[i + 2] == ']') {
      s.push_back('.');
      i += 2;
      continue;
    }
    s.push_back(c);
  }
  return s;
}

bool schemeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '-' || c == '.';
}

// WHATWG's forbidden domain code points (the C0 controls, space, DEL and # % / : < > ? @ [ \ ] ^ |)
constexpr std::array<bool, 256> kForbidden = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c <= 0x20; ++c)
    t[static_cast<size_t>(c)] = true;
  t[0x7f] = true;
  for (char c : std::string_view("#%/:<>?@[\\]^|"))
    t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// The authority's host[:port] (userinfo dropped), as WHATWG cuts it; nullopt + why if none.
std::optional<std::string_view> hostAndPort(std::string_view rest, std::string& why) {
  std::string scheme;
  const auto colon = rest.find(':');
  const bool hasScheme =
      colon != std::string_view::npos && colon > 0 &&
      std::isalpha(static_cast<unsigned char>(rest[0])) &&
      std::all_of(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(colon), schemeChar);
  if (hasScheme) {
    for (char c : rest.substr(0, colon))
      scheme.push_back(lowerAscii(c));
    if (scheme == "hxxp" || scheme == "hxxps") scheme = "http" + scheme.substr(4); // defanged
  }
  const bool special =
      std::find(kSpecial.begin(), kSpecial.end(), scheme) != kSpecial.end() || !hasScheme;
  if (hasScheme && special) {
    rest.remove_prefix(colon + 1);
    while (!rest.empty() && (rest.front() == '/' || rest.front() == '\\'))
      rest.remove_prefix(1); // http:example.com, http:\\example.com: as browsers do
  } else if (hasScheme && rest.substr(colon + 1).starts_with("//")) {
    rest.remove_prefix(colon + 3);
  } else if (hasScheme && scheme.find('.') == std::string::npos) {
    why = fmt::format("a '{}:' URL names no host", scheme);
    return std::nullopt;
  } else {
    // no scheme: host/path (a host:port reads like a scheme with a dot in it)
    while (!rest.empty() && (rest.front() == '/' || rest.front() == '\\'))
      rest.remove_prefix(1);
  }
  // the authority ends at / ? # (and \ for the special schemes); its last @ ends the userinfo
  size_t end = 0;
  while (end < rest.size() && rest[end] != '/' && rest[end] != '?' && rest[end] != '#' &&
         !(special && rest[end] == '\\'))
    ++end;
  auto authority = rest.substr(0, end);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  if (authority.empty()) {
    why = "empty host";
    return std::nullopt;
  }
  return authority;
}

} // namespace

std::optional<std::string> hostOfUrl(std::string_view url, std::string& error) {
  auto fail = [&](std::string why) {
    error = fmt::format("no host in URL '{}': {}", url, why);
    return std::nullopt;
  };
  // most URLs need no cleaning: then no copy
  std::string storage;
  std::string_view s = url;
  const bool dirty =
      s.empty() || static_cast<unsigned char>(s.front()) <= 0x20 ||
      static_cast<unsigned char>(s.back()) <= 0x20 || s.find('\t') != std::string_view::npos ||
      s.find('\n') != std::string_view::npos || s.find('\r') != std::string_view::npos ||
      s.find("[.]") != std::string_view::npos;
  if (dirty) s = storage = cleaned(url);
  std::string why;
  const auto found = hostAndPort(s, why);
  if (!found) return fail(why);
  const auto authority = *found;
  const std::string encoded = encodeNonAscii(authority); // the view below points into it
  const auto checked = boost::urls::parse_authority(encoded);
  if (!checked) {
    // Boost.URL 1.81 takes "1.2.3.4." and "1.2.3.4.5" for a bad IPv4address, not a reg-name;
    // a browser reads a host ending in a number as IPv4 (or refuses it)
    const auto portAt = authority.rfind(':');
    const auto hostPart = authority.substr(0, portAt);
    const auto port = portAt == std::string_view::npos ? "" : authority.substr(portAt + 1);
    if (!endsInNumber(hostPart) || port.find_first_not_of("0123456789") != std::string_view::npos)
      return fail("invalid host or port");
    const auto v4 = whatwgIpv4(hostPart);
    if (!v4) return fail("a host ending in a number that is no IPv4 address");
    return formatIp4(*v4);
  }
  const auto& a = *checked;
  if (a.has_port()) { // digits only (the grammar), at most 65535
    const auto port = a.port();
    const auto digits = port.substr(std::min(port.find_first_not_of('0'), port.size()));
    if (digits.size() > 5 || (digits.size() == 5 && digits > "65535"))
      return fail(fmt::format("port {} out of range", std::string(port)));
  }
  switch (a.host_type()) {
  case boost::urls::host_type::ipv6:
    return a.host_ipv6_address().to_string();
  case boost::urls::host_type::ipv4:
  case boost::urls::host_type::name:
    break;
  default:
    return fail("not a domain name or address");
  }
  std::string host = a.host(); // percent-decoded
  if (host.empty()) return fail("empty host");
  bool ascii = true;
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (kForbidden[u]) return fail(fmt::format("forbidden character 0x{:02x} in the host", u));
    ascii = ascii && u < 0x80;
  }
  if (!ascii) { // an internationalised name: its A-labels, as a resolver is asked
    std::string idnError;
    auto labels = toALabels(host, idnError);
    if (!labels) return fail(idnError);
    host = *labels;
  }
  for (char& c : host)
    c = lowerAscii(c);
  if (endsInNumber(host)) {
    const auto v4 = whatwgIpv4(host);
    if (!v4) return fail("a host ending in a number that is no IPv4 address");
    return formatIp4(*v4);
  }
  if (host.ends_with('.')) host.pop_back();
  if (host.empty() || host.find("..") != std::string::npos || host.front() == '.')
    return fail("an empty label in the host");
  return host;
}

} // namespace dnsxl::feeds
