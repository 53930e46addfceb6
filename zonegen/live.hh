// Live changes: `dnsxl add`, `dnsxl delist` and `dnsxl expire` change the served data in place —
// one small write transaction that also bumps the serial and writes the audit trail — so a running
// dnsxld answers the new state at its next read. The operator's changes are kept in the store and
// applied again by every import, after the feeds: a feed import never undoes a delisting.
// Refuses: subjects a dataset cannot hold, what an import would refuse (RFC 5782 §5, the guard).
#pragma once

#include "config/config.hh"
#include "feeds/feed.hh"
#include "store/store.hh"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace dnsxl::zonegen {

// One entry of `dnsxl add` / `dnsxl delist`.
struct Change {
  std::string subject; // address, CIDR, a-b range, or domain (name, *.name, .name)
  std::string source;  // where it was given: "command line", "changes.txt:3"
  uint32_t line = 0;
  std::array<std::string, feeds::kFieldCount> fields; // code, reason, ref, ..., expires, delist
};

struct LiveOptions {
  bool delist = false;
  std::string zone, dataset; // empty: the config's only zone / the zone's only list dataset
  std::string by;            // who makes the change (the audit trail)
  bool force = false;        // the guard's refusals become warnings; delist what is not listed
  bool dryRun = false;
  int64_t now = 0; // 0: the current time
};

struct LiveResult {
  bool ok = false;
  std::vector<std::string> errors, warnings;
  std::vector<std::string> done; // one line per change made
  std::vector<std::pair<std::string, uint32_t>> serials;
};

LiveResult applyChanges(const config::Config& cfg, const LiveOptions& options,
                        const std::vector<Change>& changes);

// Reads a file of changes: one subject per line, optionally followed by the reason; `#` comments
// and blank lines are skipped. Errors are "file:line: what is wrong".
std::vector<Change> readChanges(const std::string& path, std::vector<std::string>& errors);

// Stops serving what has expired, for good: entries (feed or manual) whose `expires` has passed
// leave the served data and the store, each with an audit line; the serial of each changed zone
// is bumped. Nothing is written when nothing expired.
LiveResult runExpire(const config::Config& cfg, const std::string& by, int64_t now = 0);

} // namespace dnsxl::zonegen
