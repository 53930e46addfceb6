// Query files for the load tools: dnsperf's format, one "name TYPE" per line ('#' comments),
// turned into wire-form queries (ID 0, RD clear), optionally with an OPT record advertising
// 1232 bytes (RFC 6891). Header-only: used by the load generator and the answer loop.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <strings.h>
#include <utility>
#include <vector>

namespace dnsxl::bench {

inline uint16_t typeCode(const std::string& t) {
  static const std::pair<const char*, uint16_t> types[] = {
      {"A", 1}, {"NS", 2}, {"SOA", 6}, {"MX", 15}, {"TXT", 16}, {"AAAA", 28}, {"ANY", 255}};
  for (const auto& [n, c] : types)
    if (strcasecmp(n, t.c_str()) == 0) return c;
  return 0;
}

// The queries of a file (the first `max`); empty with err ("file:line: what") when it cannot be
// used.
inline std::vector<std::vector<uint8_t>> loadQueries(const std::string& path, bool edns,
                                                     std::string& err, size_t max = SIZE_MAX) {
  std::ifstream in(path);
  if (!in) {
    err = "cannot read " + path;
    return {};
  }
  std::vector<std::vector<uint8_t>> qs;
  std::string line;
  size_t lineNo = 0;
  while (qs.size() < max && std::getline(in, line)) {
    ++lineNo;
    std::istringstream ls(line);
    std::string name, type;
    if (!(ls >> name >> type) || name[0] == '#') continue;
    const uint16_t t = typeCode(type);
    const auto where = path + ":" + std::to_string(lineNo) + ": ";
    if (!t) {
      err = where + "unknown type " + type;
      return {};
    }
    std::vector<uint8_t> q = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, static_cast<uint8_t>(edns)};
    if (name.back() == '.') name.pop_back();
    for (size_t start = 0; start <= name.size();) {
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      const size_t len = dot - start;
      if (len == 0 || len > 63) {
        err = where + "bad name " + name;
        return {};
      }
      q.push_back(static_cast<uint8_t>(len));
      q.insert(q.end(), name.begin() + static_cast<long>(start),
               name.begin() + static_cast<long>(dot));
      start = dot + 1;
    }
    q.insert(q.end(), {0, static_cast<uint8_t>(t >> 8), static_cast<uint8_t>(t), 0, 1});
    if (edns) q.insert(q.end(), {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0});
    qs.push_back(std::move(q));
  }
  if (qs.empty()) err = "no queries in " + path;
  return qs;
}

} // namespace dnsxl::bench
