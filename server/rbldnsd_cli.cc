#include "server/rbldnsd_cli.hh"

#include <fmt/format.h>
#include <optional>
#include <set>

namespace dnsxl::rbldnsd {

namespace {

const std::set<std::string> kTypes = {"ip4set", "ip4tset", "ip4trie",  "ip6trie", "ip6tset",
                                      "dnset",  "generic", "combined", "acl"};

std::string tomlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

std::variant<Bind, std::string> parseBind(const std::string& text) {
  Bind b;
  std::string host = text;
  if (auto slash = text.rfind('/'); slash != std::string::npos) {
    host = text.substr(0, slash);
    auto port = text.substr(slash + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535)
      return fmt::format("-b {}: '{}' is not a port number", text, port);
    b.port = static_cast<uint16_t>(std::stoul(port));
  }
  if (host.empty()) return fmt::format("-b {}: no address", text);
  b.address = host;
  return b;
}

} // namespace

std::string resolve(const CommandLine& cl, const std::string& file) {
  std::filesystem::path f(file);
  if (!cl.root.empty() && f.is_absolute())
    f = std::filesystem::path(cl.root) / f.relative_path();
  else if (f.is_relative())
    f = dataDir(cl) / f;
  return f.lexically_normal().string();
}

std::string Dataset::spec() const {
  std::string s = type + ":";
  for (size_t i = 0; i < files.size(); ++i)
    s += (i ? "," : "") + files[i];
  return s;
}

bool parseTimeValue(const std::string& text, uint32_t& out) {
  if (text.empty()) return false;
  uint64_t mult = 1;
  std::string digits = text;
  switch (text.back()) {
  case 's':
  case 'S':
    mult = 1;
    break;
  case 'm':
  case 'M':
    mult = 60;
    break;
  case 'h':
  case 'H':
    mult = 3600;
    break;
  case 'd':
  case 'D':
    mult = 86400;
    break;
  case 'w':
  case 'W':
    mult = 604800;
    break;
  default:
    digits.push_back('s');
  }
  digits.pop_back();
  if (digits.empty() || digits.size() > 10 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  uint64_t v = std::stoull(digits) * mult;
  if (v > 0x7fffffff) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

bool looksLikeRbldnsd(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-b" || (a.starts_with("-b") && a.size() > 2 && a[2] != '-')) return true;
    // zone:type:files with a dataset type rbldnsd knows (dnsxld's own addresses have no type)
    size_t c1 = a.find(':');
    if (a.starts_with("-") || c1 == std::string::npos) continue;
    size_t c2 = a.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    auto type = a.substr(c1 + 1, c2 - c1 - 1);
    if (kTypes.count(type)) return true;
  }
  return false;
}

namespace {

// A zone spec: zone:type:file[,file...] (or :acl:file, the global acl).
std::optional<std::string> addZoneSpec(CommandLine& cl, const std::string& a) {
  // zone:type:file,file  (or :acl:file)
  size_t c1 = a.find(':'), c2 = c1 == std::string::npos ? c1 : a.find(':', c1 + 1);
  if (c2 == std::string::npos)
    return fmt::format("'{}' is not a zone spec (zone:type:file[,file...])", a);
  std::string zone = a.substr(0, c1), type = a.substr(c1 + 1, c2 - c1 - 1);
  Dataset d{type, {}};
  for (size_t pos = c2 + 1; pos <= a.size();) {
    size_t comma = a.find(',', pos);
    std::string f = a.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (f.empty()) return fmt::format("'{}': empty file name", a);
    d.files.push_back(f);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (!kTypes.count(type))
    return fmt::format("'{}': unknown dataset type '{}' (ip4set, ip4tset, ip4trie, ip6trie, "
                       "ip6tset, dnset, generic, combined, acl)",
                       a, type);
  if (zone.empty()) {
    if (type != "acl") return fmt::format("'{}': only an acl may have an empty zone name", a);
    if (!cl.globalAcl.empty()) return fmt::format("'{}': a second global acl", a);
    cl.globalAcl = d.files;
    return std::nullopt;
  }
  while (!zone.empty() && zone.back() == '.')
    zone.pop_back();
  for (auto& ch : zone)
    ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  Zone* z = nullptr;
  for (auto& existing : cl.zones)
    if (existing.name == zone) z = &existing;
  if (!z) z = &cl.zones.emplace_back(Zone{zone, {}});
  bool same = false;
  for (const auto& e : z->datasets)
    same = same || e.spec() == d.spec();
  if (type == "acl")
    for (const auto& e : z->datasets)
      if (e.type == "acl" && e.spec() != d.spec())
        return fmt::format("'{}': zone {} has an acl already", a, zone);
  if (!same) z->datasets.push_back(d); // a repeated spec is one dataset, as in rbldnsd
  return std::nullopt;
}

// -t def:min:max
std::optional<std::string> parseTtls(CommandLine& cl, const std::string& value) {
  std::string parts[3];
  size_t n = 0;
  for (size_t pos = 0; n < 3;) {
    size_t colon = value.find(':', pos);
    parts[n++] = value.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  uint32_t* dst[3] = {&cl.ttlDefault, &cl.ttlMin, &cl.ttlMax};
  for (size_t p = 0; p < n; ++p)
    if (!parts[p].empty() && !parseTimeValue(parts[p], *dst[p]))
      return fmt::format("-t {}: '{}' is not a time value", value, parts[p]);
  if (cl.ttlDefault == 0 || (cl.ttlMin && cl.ttlDefault < cl.ttlMin) ||
      (cl.ttlMax && cl.ttlDefault > cl.ttlMax) || (cl.ttlMax && cl.ttlMin > cl.ttlMax))
    return fmt::format("-t {}: the default must be above 0 and within min..max", value);
  return std::nullopt;
}

// One option letter with its value (empty for a flag): an error, or nullopt.
std::optional<std::string> applyOption(CommandLine& cl, char opt, const std::string& value) {
  switch (opt) {
  case 'b': {
    auto b = parseBind(value);
    if (auto* err = std::get_if<std::string>(&b)) return *err;
    cl.binds.push_back(std::get<Bind>(b));
    return std::nullopt;
  }
  case 'w':
    cl.workdir = value;
    return std::nullopt;
  case 'r':
    cl.root = value;
    return std::nullopt;
  case 'n':
    cl.foreground = true;
    return std::nullopt;
  case 'f':
  case 'q':
  case 'a':
  case 'A':
  case '4':
  case '6':
    return std::nullopt; // no effect: dnsxld never blocks on reload, answers minimally, ...
  case 'e':
    cl.allowHostBits = true;
    return std::nullopt;
  case 'C':
    cl.refuseGzip = true;
    return std::nullopt;
  case 'v':
    ++cl.verbose;
    return std::nullopt;
  case 'p':
    cl.pidfile = value;
    return std::nullopt;
  case 'u':
    cl.user = value;
    return std::nullopt;
  case 'l':
    cl.logUnbuffered = value.starts_with('+');
    cl.logfile = cl.logUnbuffered ? value.substr(1) : value;
    return std::nullopt;
  case 's':
    cl.statsDeltas = value.starts_with('+');
    cl.statsfile = cl.statsDeltas ? value.substr(1) : value;
    return std::nullopt;
  case 'F':
    cl.notes.push_back("-F: dnsxld logs to stderr (journald), not syslog");
    return std::nullopt;
  case 'c':
    if (!parseTimeValue(value, cl.checkInterval))
      return fmt::format("-c {}: not a time value (e.g. 60, 1m, 5s)", value);
    return std::nullopt;
  case 't':
    return parseTtls(cl, value);
  case 'x':
  case 'X':
    return fmt::format("-{}: rbldnsd extensions (DSO hooks) are not supported by dnsxld", opt);
  case 'd':
    return std::string("-d (dump the zones and exit) is not supported by dnsxld yet");
  case 'h':
    return std::string("usage");
  default:
    return fmt::format("unknown option -{}", opt);
  }
}

} // namespace

std::variant<CommandLine, std::string> parse(const std::vector<std::string>& args) {
  CommandLine cl;
  // Options that take an argument, written "-b ADDR" or "-bADDR" as getopt allows.
  const std::string withArg = "bwtcpurlsxXF";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') {
      if (auto err = addZoneSpec(cl, a)) return *err;
      continue;
    }
    for (size_t k = 1; k < a.size(); ++k) {
      char opt = a[k];
      std::string value;
      if (withArg.find(opt) != std::string::npos) {
        if (k + 1 < a.size())
          value = a.substr(k + 1);
        else if (i + 1 < args.size())
          value = args[++i];
        else
          return fmt::format("option -{} needs an argument", opt);
        k = a.size();
      }
      if (auto err = applyOption(cl, opt, value)) return *err;
    }
  }
  if (cl.zones.empty()) return std::string("no zones given (zone:type:file[,file...])");
  if (cl.binds.empty()) return std::string("no -b address given");
  return cl;
}

std::filesystem::path dataDir(const CommandLine& cl) {
  std::filesystem::path base =
      cl.root.empty() ? std::filesystem::current_path() : std::filesystem::path(cl.root);
  if (cl.workdir.empty()) return base;
  std::filesystem::path w(cl.workdir);
  // Under -r, an absolute -w is inside the root, as it would be after chroot.
  if (!cl.root.empty() && w.is_absolute()) return base / w.relative_path();
  return base / w;
}

std::string toToml(const CommandLine& cl, const std::filesystem::path& storeDir,
                   const std::string& version) {
  std::string out = "# generated by dnsxld from an rbldnsd command line\n[server]\n";
  out += "store = " + tomlString(storeDir.string()) + "\n";
  out += "version = " + tomlString(version) + "\n";
  out += "journal_max_records = 0\n"; // rbldnsd has no transfers: reloads render nothing
  if (!cl.globalAcl.empty()) {
    out += "acl = [";
    for (size_t i = 0; i < cl.globalAcl.size(); ++i)
      out += (i ? ", " : "") + tomlString(resolve(cl, cl.globalAcl[i]));
    out += "]\nacl_on_bad_line = \"skip\"\n";
  }
  for (const auto& z : cl.zones) {
    out += "\n[[zone]]\nname = " + tomlString(z.name) + "\n";
    out +=
        fmt::format("ttl = {}\nttl_min = {}\nttl_max = {}\nallow_no_ns = true\nserial = \"data\"\n",
                    cl.ttlDefault, cl.ttlMin, cl.ttlMax);
    for (const auto& d : z.datasets) {
      out += "\n  [[zone.dataset]]\n  name = " + tomlString(d.spec()) + "\n";
      out += "  format = " + tomlString(d.type) + "\n  files = [";
      for (size_t i = 0; i < d.files.size(); ++i)
        out += (i ? ", " : "") + tomlString(resolve(cl, d.files[i]));
      out += "]\n  on_bad_line = \"skip\"\n";
      out += fmt::format("  allow_host_bits = {}\n  gzip = {}\n", cl.allowHostBits, !cl.refuseGzip);
      // rbldnsd lists whatever names it is given, public suffixes too
      if (d.type == "dnset" || d.type == "combined") out += "  allow_public_suffix = true\n";
      // no import guard: rbldnsd serves what the files say ($MAXRANGE4 is the files' own limit)
      out += "  widest_ip4 = 0\n  widest_ip6 = 0\n  guard_special = false\n"
             "  max_shrink_percent = 100\n";
    }
  }
  return out;
}

} // namespace dnsxl::rbldnsd
