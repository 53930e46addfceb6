// Shared hosts (shared-hosts.txt): URL feeds do not list a host whose URLs are many users'.
#include "feeds/feed.hh"

#include <fmt/format.h>

namespace dnsxl::feeds {

extern const char* const kBuiltinSharedHosts; // shared_hosts_builtin.cc, from shared-hosts.txt

std::string SharedHosts::add(std::string_view text, std::string_view name) {
  uint32_t lineNo = 0;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    auto line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++lineNo;
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
      line.remove_prefix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
      line.remove_suffix(1);
    if (line.empty()) continue;
    const bool below = line.starts_with("*.");
    std::string host(below ? line.substr(2) : line);
    for (char& c : host)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (host.ends_with('.')) host.pop_back();
    if (host.empty() || host.find_first_of(" \t*/:@") != std::string::npos ||
        host.find('.') == std::string::npos)
      return fmt::format("{}:{}: '{}' is not a host name (one per line, or *.name for every "
                         "host below name)",
                         name, lineNo, line);
    (below ? d_below : d_exact).insert(std::move(host));
  }
  return {};
}

std::string SharedHosts::addBuiltin() {
  return add(kBuiltinSharedHosts, "builtin shared-hosts.txt");
}

bool SharedHosts::matches(std::string_view host) const {
  if (d_exact.count(std::string(host))) return true;
  for (auto dot = host.find('.'); dot != std::string_view::npos; dot = host.find('.', dot + 1))
    if (d_below.count(std::string(host.substr(dot + 1)))) return true;
  return false;
}

} // namespace dnsxl::feeds
