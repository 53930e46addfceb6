// Renders a zone of the store as the records a standard secondary (NSD, Knot, BIND) serves with
// the same answers (RFC 5936 §1): address data as explicit names and wildcards (RFC 4592) for
// the octet- or nibble-aligned blocks where a wildcard is exact, domain data as names and
// `*.name`, generic records as they are. The one rendering behind AXFR and `dnsxl export`.
// Refuses: wildcards that would answer for names we do not list (holes inside a block, IPv6
// names under an IPv4 wildcard and the reverse, RFC 5782 §2.4); it enumerates instead.
#pragma once

#include "store/store.hh"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace dnsxl::render {

struct Record {
  std::string owner; // relative to the zone, dotted, lower case; "" = the apex
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string rdata; // wire form, names uncompressed
};

struct Stats {
  uint64_t records = 0, wildcards = 0, names = 0;
};

// The target of the CNAMEs that make a name exist yet answer NXDOMAIN (RFC 6604): an excluded
// domain below a listed wildcard. It never exists itself.
inline constexpr std::string_view kNoSuchName = "_excluded._dnsxl";

// Calls emit for each record of the zone: SOA, NS, then everything else; the closing SOA of an
// AXFR is the caller's. Values expired at `now` are left out; acl datasets (answers that depend
// on the client) are not part of a zone's content. Returns false, with error set, when the zone
// would take more than maxRecords records (the caller refuses the transfer).
bool renderZone(store::Snapshot& snap, const store::ZoneRecord& zone, int64_t now,
                uint64_t maxRecords, const std::function<void(const Record&)>& emit, Stats& stats,
                std::string& error);

// The zone's SOA record with the given serial.
Record soaRecord(const store::ZoneRecord& zone, uint32_t serial);

// What a change did to a zone's records (the IXFR journal, RFC 1995): the records of `after`
// that `before` lacks (added) and the reverse (deleted); the apex SOA is left out of both.
void diff(std::vector<Record> before, std::vector<Record> after, std::vector<Record>& deleted,
          std::vector<Record>& added);
std::string encodeDiff(const std::vector<Record>& deleted, const std::vector<Record>& added);
bool decodeDiff(std::string_view payload, std::vector<Record>& deleted, std::vector<Record>& added);

// Master-file form (RFC 1035 §5.1): "owner TTL IN TYPE rdata", the owner absolute.
std::string toText(const Record& r, std::string_view zone);

} // namespace dnsxl::render
