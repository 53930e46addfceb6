// The small store the responder and transfer fuzz targets answer from: built once per process
// in a temporary directory (ip4set with variables, an exclusion and a long TXT; dnset; ip6trie).
#pragma once

#include "config/config.hh"
#include "store/store.hh"
#include "zonegen/import.hh"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>

namespace dnsxl::fuzz {

inline std::unique_ptr<store::Env> smallStore() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "dnsxl-fuzz-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) std::abort();
  const std::filesystem::path dir = tmpl;
  std::ofstream(dir / "a.txt") << "$1 var\n10.0.0.0/8\n!10.0.0.1\n192.0.2.1 :3:"
                               << std::string(300, 'y') << " $ $1 $$\n";
  std::ofstream(dir / "d.txt") << "*.example.com\nexample.net :4:$\n";
  std::ofstream(dir / "v6.txt") << "2001:db8::/32\n";
  std::ofstream(dir / "f.toml") << R"(
[server]
store = "store"
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]
  [[zone.dataset]]
  name = "a"
  format = "ip4set"
  files = ["a.txt"]
  [[zone.dataset]]
  name = "d"
  format = "dnset"
  files = ["d.txt"]
  [[zone.dataset]]
  name = "v6"
  format = "ip6trie"
  files = ["v6.txt"]
)";
  auto res = zonegen::runImport(config::load(dir / "f.toml"), {});
  if (!res.ok) std::abort();
  return std::make_unique<store::Env>(dir / "store", store::Env::Options{.readOnly = true});
}

} // namespace dnsxl::fuzz
