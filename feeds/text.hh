// Small text helpers shared by the feed parsers (internal to feeds/).
#pragma once

#include "feeds/feed.hh"

#include <fmt/format.h>
#include <string>
#include <string_view>
#include <vector>

namespace dnsxl::feeds::text {

inline bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && isBlank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && isBlank(s.back()))
    s.remove_suffix(1);
  return s;
}

inline char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = lower(c);
  return out;
}

// The blank-separated words of s.
inline std::vector<std::string_view> splitWords(std::string_view s) {
  std::vector<std::string_view> words;
  for (size_t i = 0; i < s.size();) {
    while (i < s.size() && isBlank(s[i]))
      ++i;
    size_t j = i;
    while (j < s.size() && !isBlank(s[j]))
      ++j;
    if (j > i) words.push_back(s.substr(i, j - i));
    i = j;
  }
  return words;
}

// Registers displayName as the feed's next file and calls line(text, number) for each line; a line
// with a NUL byte is a diagnostic instead.
template <typename LineFn>
void forEachLine(std::string_view text, std::string_view displayName, Feed& feed, LineFn&& line) {
  feed.files.emplace_back(displayName);
  uint32_t lineNo = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    auto l = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    ++lineNo;
    ++feed.linesRead;
    if (l.find('\0') != std::string_view::npos)
      feed.diagnostics.push_back(
          fmt::format("{}:{}: NUL byte in line (binary file?)", displayName, lineNo));
    else
      line(l, lineNo);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
}

constexpr uint32_t kMaxTtl = 0x7fffffffU; // RFC 2181 §8

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

inline std::optional<uint32_t> parseNumber(std::string_view s, uint32_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// "a.b.c" → value with the given octets left-aligned, and how many octets were written.
struct Octets {
  uint32_t value = 0;
  int count = 0;
};
inline std::optional<Octets> parseOctets(std::string_view s) {
  Octets o;
  size_t pos = 0;
  for (;;) {
    size_t dot = s.find('.', pos);
    auto part = s.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (part.size() > 3) return std::nullopt;
    auto n = parseNumber(part, 255);
    if (!n || o.count == 4) return std::nullopt;
    o.value |= *n << (8 * (3 - o.count));
    ++o.count;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return o;
}

} // namespace dnsxl::feeds::text
