// Deterministic benchmark data: a store with IP ranges, single addresses and domains, and query
// packets for listed and unlisted names. Built in a temporary directory.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dnsxl::bench {

struct Data {
  std::filesystem::path dir; // removed by the destructor
  std::filesystem::path store;
  std::vector<std::vector<uint8_t>> listed4, unlisted4, listedDomain, unlistedDomain;
  double importSeconds = 0;
  size_t entries = 0;
  ~Data();
};

// ranges: PBL-like /16../29 ranges; hosts: XBL-like single addresses; domains: DBL-like names.
Data makeData(size_t ranges, size_t hosts, size_t domains, size_t queriesPerKind);

// A query packet in wire form (RD clear, no EDNS).
std::vector<uint8_t> query(const std::string& name, uint16_t type);

} // namespace dnsxl::bench
