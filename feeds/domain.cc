// Domain names from feeds: internationalised names to A-labels (libidn2) and the Public Suffix
// List (libpsl), so that an RHSBL never lists `com` or `co.uk` by mistake.
#include "feeds/feed.hh"

#include <cstdlib>
#include <fmt/format.h>
#include <idn2.h>
#include <libpsl.h>

namespace dnsxl::feeds {

std::optional<std::string> toALabels(const std::string& name, std::string& error) {
  char* out = nullptr;
  int rc = idn2_to_ascii_8z(name.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK) {
    error = fmt::format("invalid internationalised domain name '{}': {}", name, idn2_strerror(rc));
    return std::nullopt;
  }
  std::string ascii(out);
  idn2_free(out);
  return ascii;
}

namespace {
// The list installed with the system (Debian `publicsuffix`), else the one built into libpsl.
const psl_ctx_t* suffixList() {
  static const psl_ctx_t* psl = [] {
    const psl_ctx_t* p = psl_latest(nullptr);
    return p ? p : psl_builtin();
  }();
  return psl;
}
} // namespace

std::string registrableDomain(const std::string& name) {
  const auto* psl = suffixList();
  const char* r = psl ? psl_registrable_domain(psl, name.c_str()) : nullptr;
  return r ? std::string(r) : std::string();
}

std::string publicSuffixError(const std::string& name) {
  const auto* psl = suffixList();
  if (!psl) return {};
  if (psl_is_public_suffix2(psl, name.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE))
    return fmt::format("'{}' is a public suffix (Public Suffix List): listing it would list every "
                       "domain registered below it; set allow_public_suffix = true to do so",
                       name);
  return {};
}

} // namespace dnsxl::feeds
