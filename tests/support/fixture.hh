// A store built from a config text and data files in a temporary directory.
#pragma once

#include "config/config.hh"
#include "tests/support/support.hh"
#include "zonegen/import.hh"

#include <catch2/catch.hpp>
#include <map>

namespace dnsxl::test {

struct Fixture {
  TempDir dir;
  std::filesystem::path configPath;

  // Writes the files and the config ([server] with store = "store" is prepended).
  Fixture(const std::string& zones, const std::map<std::string, std::string>& files) {
    for (const auto& [name, content] : files)
      dir.write(name, content);
    configPath = dir.write("dnsxl.toml", "[server]\nstore = \"store\"\n" + zones);
  }
  config::Config config() const { return config::load(configPath); }
  zonegen::ImportResult import() const { return zonegen::runImport(config(), {}); }
  void importOk() const {
    auto r = import();
    INFO((r.errors.empty() ? std::string() : r.errors.front()));
    REQUIRE(r.ok);
  }
  std::filesystem::path store() const { return dir / "store"; }
};

} // namespace dnsxl::test
