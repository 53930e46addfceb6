// `dnsxl key add|revoke|list`: the access keys of keyed zones ([[zone]] keyed = true), kept in
// the store (table `keys`), so that dnsxld (and an rsync mirror's) reads them at the next
// query. A key is one DNS label of 8 to 63 of a-z and 0-9; `add` without a name makes a random
// one (24 characters, 120 bits).
#pragma once

#include "config/config.hh"

#include <cstdint>
#include <string>

namespace dnsxl::zonegen {

struct KeyArgs {
  std::string action; // "add", "revoke", "list"
  std::string name, note, by;
  uint32_t perSecond = 0;
  uint64_t perDay = 0;
  bool json = false;
};

int keyCommand(const config::Config& cfg, const KeyArgs& args);

} // namespace dnsxl::zonegen
