// Internal to server/answer: what one query found in a zone's datasets (A values, TXT templates
// with their subjects, generic records) and how it is written as answer records. Fixed-size
// arrays, nothing allocated per query.
#pragma once

#include "dns/byte_order.hh"
#include "dns/wire.hh"
#include "server/answer/responder.hh"

#include <algorithm>
#include <array>

namespace dnsxl::answer::detail {

constexpr size_t kMaxRecords = 64; // A or TXT records merged into one answer
constexpr size_t kMaxTxt = 4000;   // bytes of one expanded TXT record

// A string_view that is trivially default-constructible: an array of them costs nothing until
// used (std::string_view zeroes itself: 64 TXT items cost ~400 instructions per query).
struct View {
  View() = default;
  View(std::string_view s) : p(s.data()), n(s.size()) {}
  operator std::string_view() const { return {p, n}; }
  const char* data() const { return p; }
  size_t size() const { return n; }
  const char* begin() const { return p; }
  const char* end() const { return p + n; }
  const char* p;
  size_t n;
};

struct TxtItem {
  View tmpl;
  View subject;
  const Responder::Dataset* ds;
};

// The arrays here and in the responder's query state are left uninitialised on purpose: only their
// first n entries are ever read, and zeroing them cost ~700 instructions per query (callgrind).
struct Found {
  std::array<uint32_t, kMaxRecords> a;
  size_t nA = 0;
  std::array<TxtItem, kMaxRecords> txt;
  size_t nTxt = 0;
  uint32_t ttl = 0xffffffffU;
  bool listed = false;
  // rbldnsd generic records (A, TXT, MX with their own TTLs), as stored: type, ttl, rdata.
  struct Generic {
    uint16_t type;
    uint32_t ttl;
    View rdata;
  };
  std::array<Generic, kMaxRecords> gen;
  size_t nGen = 0;
  bool nameExists = false; // a generic record of any type exists at the name
  // the datasets that listed the name, in the order they did (counted per dataset)
  std::array<const Responder::Dataset*, 8> hits;
  size_t nHits = 0;

  void addGeneric(std::string_view records) {
    const auto* p = reinterpret_cast<const uint8_t*>(records.data());
    for (size_t pos = 0; pos + 8 <= records.size() && nGen < kMaxRecords;) {
      const uint16_t type = bytes::get16(p + pos);
      const uint32_t t = bytes::get32(p + pos + 2);
      const size_t len = bytes::get16(p + pos + 6);
      if (pos + 8 + len > records.size()) break;
      gen[nGen++] = {type, t, records.substr(pos + 8, len)};
      nameExists = true;
      pos += 8 + len;
    }
  }

  // Values whose entry has expired (at `now`) are skipped: an entry stops being listed at its
  // expiry without an import.
  void add(std::string_view valueSet, std::string_view subject, const Responder::Dataset& ds,
           int64_t now) {
    store::ValueSetReader r(valueSet);
    store::ValueView v;
    bool any = false;
    while (r.next(v)) {
      if (v.expires != 0 && v.expires <= now) continue;
      any = true;
      if (nA < kMaxRecords && std::find(a.begin(), a.begin() + static_cast<long>(nA), v.a) ==
                                  a.begin() + static_cast<long>(nA))
        a[nA++] = v.a;
      if (v.hasTxt && nTxt < kMaxRecords) txt[nTxt++] = {v.txt, subject, &ds};
    }
    if (any) {
      if (nHits < hits.size()) hits[nHits++] = &ds;
      listed = true;
      ttl = std::min(ttl, ds.ttl);
    }
  }
};

// Writes the answer records of found for qtype: A, TXT and MX RRsets, each with one TTL (the
// smallest of its records, RFC 2181 §5.2) and no duplicates. False when they do not fit.
bool writeAnswers(dns::Writer& w, const Found& found, uint16_t qtype, uint16_t& count);

inline void putRecordHeader(dns::Writer& w, size_t ownerOffset, uint16_t type, uint32_t ttl,
                            bool& ok) {
  ok = ok && w.pointer(ownerOffset) && w.u16(type) && w.u16(dns::kClassIN) && w.u32(ttl);
}

} // namespace dnsxl::answer::detail
