// Prometheus text exposition (version 0.0.4) of dnsxld's counters: what the workers counted
// (summed at scrape time, nothing added to the query path), the server's transfers and NOTIFYs,
// the zones' serials, the store's size and the data's age. Pure: the caller gathers the input.
#pragma once

#include "server/answer/responder.hh"
#include "server/net/server.hh"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dnsxl::ops {

struct MetricsInput {
  std::string version;
  int64_t now = 0;                                // Unix time
  int64_t startTime = 0;                          // when dnsxld started
  std::map<std::string, answer::ZoneStats> zones; // net::Server::stats()
  net::ServerStats server;
  struct Zone {
    std::string name;
    uint32_t serial = 0;
  };
  std::vector<Zone> served; // the zones served now, with their serials
  int64_t lastCommit = 0;   // the store's last change (Unix time); 0 = not known
  uint64_t storeFileBytes = 0, storeUsedBytes = 0, storeMapBytes = 0;
  bool queryLog = false;
  uint64_t queryLogWritten = 0, queryLogDropped = 0;
  uint64_t reloadsOk = 0, reloadsFailed = 0;
  int64_t lastReload = 0; // Unix time of the last successful config load (the start counts)
};

std::string renderMetrics(const MetricsInput& in);

// A label value with \ " and newline escaped (Prometheus text format).
std::string labelValue(std::string_view v);

} // namespace dnsxl::ops
