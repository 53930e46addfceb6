// `dnsxl why <ip|domain>`: what every dataset of every zone answers for a subject now (A and TXT
// as served) and which imported entries are responsible (feed file:line, the record's fields:
// reason, ref, listed, expires, delist ...). Exit status 0 when listed somewhere, 1 when not.
#pragma once

#include "config/config.hh"
#include "store/store.hh"

#include <optional>
#include <vector>

#include <string>

namespace dnsxl::zonegen {

int whyCommand(const config::Config& cfg, const std::string& subject, const std::string& zone,
               bool json);

// What the public may see of a subject (the lookup page and API of `dnsxl web`): per zone whether
// it is listed, the A codes and TXT as served, and per entry only the fields named (never the
// feed file or line). error is set (and nothing returned) for a subject that is neither an
// address nor a domain name.
struct PublicEntry {
  std::string dataset, subject; // the entry: an address, range or name ("*.name")
  std::vector<std::pair<std::string, std::string>> fields;
};
struct PublicZone {
  std::string zone;
  bool listed = false;
  std::vector<std::string> a, txt;
  std::vector<PublicEntry> entries;
  std::vector<std::string> datasets; // the datasets listing it (not shown: for `requests approve`)
};
struct PublicLookup {
  std::string subject;
  bool listed = false;
  std::vector<PublicZone> zones;
};
std::optional<PublicLookup> publicLookup(store::Snapshot& snap, const std::string& subject,
                                         const std::vector<std::string>& fields,
                                         std::string& error);

// `dnsxl history <ip|domain>`: the audit trail's changes that touched the subject (imports listing
// or unlisting an entry covering it, add, delist, expiry), oldest first. Exit status 0 when there
// are some, 1 when none.
int historyCommand(const config::Config& cfg, const std::string& subject, const std::string& zone,
                   bool json);

} // namespace dnsxl::zonegen
