// libFuzzer target: any bytes as dnsxl.toml. A config is accepted or refused with a ConfigError
// (file:line: what is wrong); any other exception or a crash is a finding.
#include "config/config.hh"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    dnsxl::config::parse(std::string_view(reinterpret_cast<const char*>(data), size),
                         "/nonexistent/dnsxl-fuzz/dnsxl.toml");
  } catch (const dnsxl::config::ConfigError&) {
  }
  return 0;
}
