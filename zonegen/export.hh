// `dnsxl export`: the served data as files for mirrors. `--format zone` writes a master file
// (RFC 1035 §5) with the records a standard secondary needs to answer as dnsxld does (the same
// rendering as AXFR, render/zone.hh). Files are published atomically: written under a temporary
// name, then renamed (checklist S-2). Refuses: a zone not in the store, an unknown format.
#pragma once

#include "config/config.hh"

#include <string>

namespace dnsxl::zonegen {

struct ExportOptions {
  std::string format = "zone";
  std::string zone;   // empty: the store's only zone
  std::string output; // file; empty or "-": stdout
  uint64_t maxRecords = 200'000'000;
};

// Exit status: 0 written, 1 refused (message on stderr), 2 bad usage.
int exportCommand(const config::Config& cfg, const ExportOptions& options);

} // namespace dnsxl::zonegen
