// `dnsxl why <ip|domain>`: what every dataset of every zone answers for a subject now (A and TXT
// as served) and which imported entries are responsible (feed file:line, the record's fields:
// reason, ref, listed, expires, delist ...). Exit status 0 when listed somewhere, 1 when not.
#pragma once

#include "config/config.hh"

#include <string>

namespace dnsxl::zonegen {

int whyCommand(const config::Config& cfg, const std::string& subject, const std::string& zone,
               bool json);

// `dnsxl history <ip|domain>`: the audit trail's changes that touched the subject (imports listing
// or unlisting an entry covering it, add, delist, expiry), oldest first. Exit status 0 when there
// are some, 1 when none.
int historyCommand(const config::Config& cfg, const std::string& subject, const std::string& zone,
                   bool json);

} // namespace dnsxl::zonegen
