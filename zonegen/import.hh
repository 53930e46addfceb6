// `dnsxl import`: reads every dataset of every configured zone, compiles it, checks it against
// RFC 5782 §5 (never 127.0.0.1 / ::ffff:127.0.0.1 / `invalid`), and replaces the served state in
// one write transaction. On any error nothing is written.
#pragma once

#include "config/config.hh"

#include <string>
#include <vector>

namespace dnsxl::zonegen {

struct ImportOptions {
  bool dryRun = false;
};

struct DatasetSummary {
  std::string zone, dataset, format;
  uint64_t lines = 0, entries = 0, ip4Intervals = 0, ip6Intervals = 0, domains = 0, valueSets = 0;
};

struct ImportResult {
  bool ok = false;
  std::vector<std::string> errors;   // "file:line: what is wrong"
  std::vector<std::string> warnings; // skipped lines of datasets with on_bad_line = "skip"
  std::vector<DatasetSummary> datasets;
  std::vector<std::pair<std::string, uint32_t>> serials; // zone, new serial
  double seconds = 0;
};

ImportResult runImport(const config::Config& cfg, const ImportOptions& options);

// RFC 1982 serial arithmetic: the next serial after `old`, preferring the current Unix time.
uint32_t nextSerial(uint32_t old, uint32_t now);

} // namespace dnsxl::zonegen
