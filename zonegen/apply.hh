// What an import and a live change (dnsxl add / delist / expire) both write: a manual change
// painted into a dataset, the RFC 5782 test points, the checks every listing passes (RFC 5782 §5
// and the import guard), serial arithmetic (RFC 1982), and the audit trail's names. Below both
// import.cc and live.cc, so that neither includes the other.
#pragma once

#include "config/config.hh"
#include "feeds/feed.hh"
#include "store/store.hh"
#include "zonegen/compile.hh"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dnsxl::zonegen {

inline constexpr uint32_t kLoopback1 = 0x7f000001;
inline constexpr const char* kTestTxt = "Test entry: $ is always listed (RFC 5782 section 5)";

// One dataset as stored: a configured dataset, or one section of a combined one.
struct Loaded {
  const config::Dataset* cfg = nullptr;
  feeds::Format format{};
  std::shared_ptr<const feeds::Feed> feed; // its entries
  std::shared_ptr<const feeds::Feed> root; // the configured dataset's (SOA, NS, $TIMESTAMP)
  std::string name;
  std::vector<std::string> subzones; // combined sections: relative names, "" = the zone itself
  CompiledDataset compiled;
};

inline store::Ip6 toIp6(U128 v) {
  store::Ip6 out{};
  for (size_t i = 16; i-- > 0;) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return out;
}

// The checks of one dataset as stored: RFC 5782 §5 (never 127.0.0.1, ::ffff:127.0.0.1,
// `invalid`) into errors; the import guard (widest_ip4/6, guard_special) into guardErrors, which
// `--force` turns into warnings.
void checkLoaded(const Loaded& l, const std::string& zone, std::vector<std::string>& errors,
                 std::vector<std::string>& guardErrors);

// The same for a feed of a configured dataset (dnsxl add checks its entries so).
void checkListing(const feeds::Feed& feed, feeds::Format format, const config::Dataset& d,
                  const std::string& zone, std::vector<std::string>& errors,
                  std::vector<std::string>& guardErrors);

// RFC 5782 §5 / checklist T-7: the test address of an A code (127.0.0.3 for 127.0.0.3) answers
// exactly that code, in the zone's test-point dataset.
void putTestPoint(store::Writer& w, uint32_t testDataset, uint32_t a);
// The value set of the test point answering a.
uint32_t testPointSet(store::Writer& w, uint32_t a);

// RFC 1982 serial arithmetic: the next serial after `old`, preferring the current Unix time.
uint32_t nextSerial(uint32_t old, uint32_t now);

// Paints [subject] of a dataset with f; for names, f applies to the exact and/or the "below"
// set as the entry's scope says. Returns whether anything was listed there before.
bool paintEntry(store::Writer& w, store::DatasetRecord& ds, const store::EntryRecord& e,
                const std::function<uint32_t(uint32_t)>& f);

// Applies one manual change (Added or Delisted) to a dataset of an open Writer; sets the
// dataset's kinds for what it now holds. Returns whether the subject was listed before.
bool applyManual(store::Writer& w, store::DatasetRecord& ds, const store::ChangeRecord& c);

// An entry's subject as the operator writes it: 192.0.2.0-192.0.2.255, 2001:db8::1, *.example.com.
std::string subjectText(const store::EntryRecord& e);

// The operator's name for the audit trail: $SUDO_USER, else the effective user.
std::string currentUser();

} // namespace dnsxl::zonegen
