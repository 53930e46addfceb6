// rbldnsd's command line (`dnsxld -b ADDR/PORT zone:type:file,... `), parsed into what dnsxld
// needs: listen addresses, options, and a dnsxl config (TOML) for the zones. Pure: no I/O.
// Refuses options it cannot honour (-x, -X, unknown ones) with a message, never silently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

namespace dnsxl::rbldnsd {

struct Bind {
  std::string address; // numeric, or a host name to resolve
  uint16_t port = 53;
};

struct Dataset {
  std::string type;               // ip4set, ip4tset, ...
  std::vector<std::string> files; // as written (relative to -w / -r)
  std::string spec() const;       // "type:file,file"
};

struct Zone {
  std::string name;
  std::vector<Dataset> datasets; // command-line order
};

struct CommandLine {
  std::vector<Bind> binds;
  std::string root;    // -r: the serving process chroots here; files and -w are below it
  std::string workdir; // -w
  bool foreground = false;
  uint32_t ttlDefault = 2100, ttlMin = 0, ttlMax = 0; // -t def:min:max
  uint32_t checkInterval = 60;                        // -c, seconds; 0 = never
  bool allowHostBits = false;                         // -e
  bool refuseGzip = false;                            // -C
  std::string pidfile, user, logfile, statsfile;
  bool logUnbuffered = false;
  bool statsDeltas = false; // -s +file
  int verbose = 0; // -v count: 0 = "dnsxl <version>", 1 = "dnsxl", 2+ = refuse version.bind
  std::vector<Zone> zones;
  std::vector<std::string> globalAcl; // `:acl:file`
  std::vector<std::string> notes;     // options accepted but without effect, for the log
};

// True when the arguments are rbldnsd's (zone specs or -b) rather than dnsxld's own.
bool looksLikeRbldnsd(const std::vector<std::string>& args);

// Parses rbldnsd's options and zone specs; returns the error text on failure.
std::variant<CommandLine, std::string> parse(const std::vector<std::string>& args);

// A data file's path as dnsxld reads it (below -r, relative to -w).
std::string resolve(const CommandLine& cl, const std::string& file);

// The directory data files are relative to (-r, then -w inside it).
std::filesystem::path dataDir(const CommandLine& cl);

// A dnsxl config for the zones, with the store at storeDir.
std::string toToml(const CommandLine& cl, const std::filesystem::path& storeDir,
                   const std::string& version);

// "1h", "35m", "600" → seconds (rbldnsd time values).
bool parseTimeValue(const std::string& text, uint32_t& out);

} // namespace dnsxl::rbldnsd
