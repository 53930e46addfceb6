// dnsxld as a drop-in rbldnsd: takes rbldnsd's command line, imports the data files into a
// private store with the dnsxl program (which sits next to dnsxld; DNSXL_BIN overrides), serves
// it, and re-imports when a file's content changes (checked every -c interval and on SIGHUP).
// A failed re-import keeps the last good data and logs file:line: reason.
#pragma once

#include <string>
#include <vector>

namespace dnsxl {

int runRbldnsdMode(const std::vector<std::string>& args, const std::string& version);

} // namespace dnsxl
