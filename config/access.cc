// [[zone.access]]: a zone's access rules, with the prefixes of 'clients' and of the files
// 'clients_file' names (one prefix per line, # comments: the shipped public-resolvers.txt).
#include "config/reader.hh"

#include <fstream>

namespace dnsxl::config::detail {

namespace {

void readClients(const Reader& r, const toml::node& n, const std::filesystem::path& file,
                 std::vector<Prefix>& out) {
  std::ifstream in(file);
  if (!in) r.fail(n, fmt::format("cannot read clients_file {}", file.string()));
  std::string line;
  for (unsigned no = 1; std::getline(in, line); ++no) {
    line = line.substr(0, line.find('#'));
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const auto e = line.find_last_not_of(" \t\r");
    const auto text = line.substr(b, e - b + 1);
    auto p = parsePrefix(text);
    if (!p)
      throw ConfigError(
          fmt::format("{}:{}: '{}' is not an address prefix", file.string(), no, text));
    out.push_back(*p);
  }
}

} // namespace

std::vector<Access> parseAccess(const Reader& r, const toml::node& n) {
  const auto* arr = n.as_array();
  if (!arr) r.fail(n, "'access' must be an array of tables ([[zone.access]])");
  std::vector<Access> out;
  for (const auto& node : *arr) {
    const auto* t = node.as_table();
    if (!t) r.fail(node, "each [[zone.access]] must be a table");
    r.onlyKeys(*t, "[[zone.access]]", {"clients", "clients_file", "action", "a", "txt", "ttl"});
    Access a;
    if (auto c = (*t)["clients"]; c)
      for (const auto& s : r.strings(*c.node(), "clients")) {
        auto p = parsePrefix(s);
        if (!p)
          r.fail(*c.node(), fmt::format("[[zone.access]] clients: '{}' is not an address "
                                        "prefix",
                                        s));
        a.clients.push_back(*p);
      }
    if (auto c = (*t)["clients_file"]; c) {
      const auto files = c.is_string()
                             ? std::vector<std::string>{r.string(*c.node(), "clients_file")}
                             : r.strings(*c.node(), "clients_file");
      for (const auto& f : files)
        readClients(r, *c.node(), r.path(f), a.clients);
    }
    if (!(*t)["clients"] && !(*t)["clients_file"])
      r.fail(node, "[[zone.access]] needs 'clients' or 'clients_file'");
    if (auto c = (*t)["action"]; c) {
      a.action = r.string(*c.node(), "action");
      if (a.action != "allow" && a.action != "deny" && a.action != "refuse" &&
          a.action != "empty" && a.action != "answer")
        r.fail(*c.node(), fmt::format("[[zone.access]] action '{}' is not allow, deny, refuse, "
                                      "empty or answer",
                                      a.action));
    } else {
      r.fail(node, "[[zone.access]] needs 'action' (allow, deny, refuse, empty or answer)");
    }
    if (auto c = (*t)["a"]; c) a.a = parseA(r, *c.node());
    if (auto c = (*t)["txt"]; c) a.txt = r.string(*c.node(), "txt");
    if (auto c = (*t)["ttl"]; c) a.ttl = r.u32(*c.node(), "ttl");
    if (a.action != "answer" && ((*t)["a"] || (*t)["txt"] || (*t)["ttl"]))
      r.fail(node, "[[zone.access]]: 'a', 'txt' and 'ttl' go with action = \"answer\"");
    out.push_back(std::move(a));
  }
  return out;
}

void parseKeyed(const Reader& r, const toml::table& zone, Keyed& keyed) {
  if (auto n = zone["keyed"]; n) keyed.on = r.boolean(*n.node(), "keyed");
  for (const auto& [name, answer] :
       {std::pair<const char*, Access*>{"key_unknown", &keyed.unknown},
        std::pair<const char*, Access*>{"key_over_quota", &keyed.overQuota}}) {
    auto n = zone[name];
    if (!n) continue;
    const auto* t = n.as_table();
    if (!t)
      r.fail(*n.node(), fmt::format("'{}' must be a table: {{ a = \"127.255.255.252\", "
                                    "txt = \"...\" }}",
                                    name));
    r.onlyKeys(*t, name, {"a", "txt", "ttl"});
    if (auto c = (*t)["a"]; c) answer->a = parseA(r, *c.node());
    if (auto c = (*t)["txt"]; c) answer->txt = r.string(*c.node(), "txt");
    if (auto c = (*t)["ttl"]; c) answer->ttl = r.u32(*c.node(), "ttl");
    if (!keyed.on) r.fail(*n.node(), fmt::format("'{}' goes with keyed = true", name));
  }
}

} // namespace dnsxl::config::detail
