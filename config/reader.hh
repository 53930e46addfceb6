// Internal to config/: the TOML reader every part of the config parser uses (errors name the
// file and line), and the parsers that live in files of their own.
#pragma once

#include "config/config.hh"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <initializer_list>
#include <toml++/toml.h>

namespace dnsxl::config::detail {

class Reader {
public:
  explicit Reader(const std::filesystem::path& file) : d_file(file) {}

  [[noreturn]] void fail(const toml::node& node, const std::string& what) const {
    throw ConfigError(fmt::format("{}:{}: {}", d_file.string(), node.source().begin.line, what));
  }

  void onlyKeys(const toml::table& t, std::string_view where,
                std::initializer_list<std::string_view> allowed) const {
    for (auto&& [k, v] : t) {
      bool ok = false;
      for (auto a : allowed)
        ok = ok || k.str() == a;
      if (!ok) {
        std::string list;
        for (auto a : allowed)
          list += fmt::format("{}{}", list.empty() ? "" : ", ", a);
        fail(v, fmt::format("unknown key '{}' in {} (known: {})", k.str(), where, list));
      }
    }
  }

  std::string string(const toml::node& n, std::string_view key) const {
    auto s = n.value<std::string>();
    if (!s || !n.is_string()) fail(n, fmt::format("'{}' must be a string", key));
    return *s;
  }

  uint32_t u32(const toml::node& n, std::string_view key, uint64_t max = 0x7fffffff) const {
    auto v = n.value<int64_t>();
    if (!v || !n.is_integer() || *v < 0 || static_cast<uint64_t>(*v) > max)
      fail(n, fmt::format("'{}' must be an integer from 0 to {}", key, max));
    return static_cast<uint32_t>(*v);
  }

  bool boolean(const toml::node& n, std::string_view key) const {
    if (!n.is_boolean()) fail(n, fmt::format("'{}' must be true or false", key));
    return *n.value<bool>();
  }

  std::vector<std::string> strings(const toml::node& n, std::string_view key) const {
    const auto* arr = n.as_array();
    if (!arr) fail(n, fmt::format("'{}' must be an array of strings", key));
    std::vector<std::string> out;
    for (const auto& e : *arr)
      out.push_back(string(e, key));
    return out;
  }

  std::filesystem::path path(const std::string& p) const {
    std::filesystem::path fp(p);
    if (fp.is_absolute()) return fp;
    return (d_file.parent_path() / fp).lexically_normal();
  }

  std::string domain(const toml::node& n, std::string_view key) const {
    auto s = string(n, key);
    if (!s.empty() && s.back() == '.') s.pop_back();
    if (s.empty() || s.size() > 253) fail(n, fmt::format("'{}' is not a domain name", key));
    size_t label = 0;
    for (char& c : s) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c == '.') {
        if (label == 0) fail(n, fmt::format("'{}': empty label in '{}'", key, s));
        label = 0;
      } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
        fail(n, fmt::format("'{}': invalid character in '{}'", key, s));
      } else if (++label > 63) {
        fail(n, fmt::format("'{}': label longer than 63 bytes in '{}'", key, s));
      }
    }
    if (label == 0) fail(n, fmt::format("'{}': empty label in '{}'", key, s));
    return s;
  }

private:
  std::filesystem::path d_file;
};

// 'a' = "127.0.0.x": an A code, within 127.0.0.0/8 (RFC 5782 §2.3).
uint32_t parseA(const Reader& r, const toml::node& n);

// A zone's [[zone.access]] rules.
std::vector<Access> parseAccess(const Reader& r, const toml::node& n);
// A zone's keyed = true and the answers key_unknown and key_over_quota ({ a, txt, ttl }).
void parseKeyed(const Reader& r, const toml::table& zone, Keyed& keyed);

} // namespace dnsxl::config::detail
