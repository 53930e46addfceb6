// `dnsxl snapshot DIR`: a compacted, consistent copy of the store for rsync mirrors (checklist
// S-2): DIR/data.mdb (a store a mirror's dnsxld serves as it is), DIR/data.mdb.sha256
// (`sha256sum -c` format) and DIR/SERIALS (each zone's serial in the copy), each written under a
// temporary name and renamed into place, so a mirror never reads half a file.
#pragma once

#include "config/config.hh"

#include <filesystem>

namespace dnsxl::zonegen {

// Exit status 0 written, 1 failed (message on stderr; what was published before stays).
int snapshotCommand(const config::Config& cfg, const std::filesystem::path& dir, bool quiet);

} // namespace dnsxl::zonegen
