// `dnsxl import`: reads every dataset of every configured zone, compiles it, checks it against
// RFC 5782 §5 (never 127.0.0.1 / ::ffff:127.0.0.1 / `invalid`), and replaces the served state in
// one write transaction. On any error nothing is written.
#pragma once

#include "config/config.hh"
#include "feeds/feed.hh"
#include "store/store.hh"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dnsxl::zonegen {

struct ImportOptions {
  bool dryRun = false;
  bool force = false; // the import guard's refusals become warnings
  // Called before each dataset is read (index from 0, count, "zone/dataset").
  std::function<void(size_t, size_t, const std::string&)> progress;
  std::string by; // who runs the import (the audit trail)
};

struct DatasetSummary {
  std::string zone, dataset, format;
  uint64_t lines = 0, entries = 0, ip4Intervals = 0, ip6Intervals = 0, domains = 0, valueSets = 0;
  uint64_t expired = 0, skipped = 0;              // records past their expiry; bad lines skipped
  uint64_t previousEntries = 0;                   // at the last import (0: none)
  std::map<std::string, uint64_t> sharedHostUrls; // URLs not listed: on a shared host, by host
};

struct ImportResult {
  bool ok = false;
  std::vector<std::string> errors;   // "file:line: what is wrong"
  std::vector<std::string> warnings; // skipped lines (on_bad_line = "skip"), forced guard refusals
  std::vector<DatasetSummary> datasets;
  std::vector<std::pair<std::string, uint32_t>> serials; // zone, new serial
  double seconds = 0;
  size_t guardRefusals = 0; // errors that `--force` would turn into warnings
};

ImportResult runImport(const config::Config& cfg, const ImportOptions& options);

} // namespace dnsxl::zonegen
