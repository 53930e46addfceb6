// The IXFR journal (RFC 1995) of one write transaction: the zones' records rendered before the
// change (the last commit) and after it (through the Writer), their difference stored with the
// two serials. Bounded as RFC 1995 §5 asks: no entry for a zone of more than maxRecords records
// (rendering it twice would slow every change) or for a change larger than the zone, and a
// zone's journal kept smaller than the zone. IXFR falls back to the whole zone without it.
#pragma once

#include "render/zone.hh"
#include "store/store.hh"

#include <map>
#include <string>
#include <vector>

namespace dnsxl::zonegen {

class Journal {
public:
  // Renders the zones as committed now (only `zone` when given).
  Journal(store::Env& env, uint64_t maxRecords, const std::string& zone = {});
  // Adds the entries for the zones whose serial changes in w (`after`: their records as they will
  // be committed). Call last, before the commit.
  void write(store::Env& env, store::Writer& w, const std::vector<store::ZoneRecord>& after);

private:
  struct Before {
    uint32_t serial = 0;
    std::vector<render::Record> records;
  };
  std::map<std::string, Before> d_before;
  uint64_t d_max;
};

} // namespace dnsxl::zonegen
