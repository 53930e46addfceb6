#include "server/answer/found.hh"

#include <cstring>

namespace dnsxl::answer::detail {

namespace {

using dns::Writer;

size_t expand(const TxtItem& t, char* out, size_t cap) {
  return store::expandTemplate(t.tmpl, t.subject, t.ds->vars, out, cap);
}

bool writeTxt(Writer& w, uint32_t ttl, const char* text, size_t len) {
  size_t mark = w.size();
  bool ok = true;
  putRecordHeader(w, dns::kHeaderSize, dns::kTypeTXT, ttl, ok);
  size_t chunks = len == 0 ? 1 : (len + 254) / 255;
  ok = ok && w.u16(static_cast<uint16_t>(len + chunks));
  for (size_t i = 0; ok && i < chunks; ++i) {
    size_t k = std::min<size_t>(255, len - i * 255);
    ok = w.u8(static_cast<uint8_t>(k)) && w.bytes(text + i * 255, k);
  }
  if (!ok) w.truncate(mark);
  return ok;
}

} // namespace

bool writeAnswers(Writer& w, const Found& found, uint16_t qtype, uint16_t& count) {
  const bool any = qtype == dns::kTypeANY;
  auto rrsetTtl = [&](uint16_t type, bool fromValues) {
    uint32_t t = fromValues ? found.ttl : 0xffffffffU;
    for (size_t i = 0; i < found.nGen; ++i)
      if (found.gen[i].type == type) t = std::min(t, found.gen[i].ttl);
    return t;
  };
  auto genericOf = [&](uint16_t type, uint32_t ttl, auto skip) {
    for (size_t i = 0; i < found.nGen; ++i) {
      const auto& g = found.gen[i];
      if (g.type != type || skip(g)) continue;
      bool ok = true;
      putRecordHeader(w, dns::kHeaderSize, type, ttl, ok);
      if (!(ok && w.u16(static_cast<uint16_t>(g.rdata.size())) &&
            w.bytes(g.rdata.data(), g.rdata.size())))
        return false;
      ++count;
    }
    return true;
  };
  if (qtype == dns::kTypeA || any) {
    const uint32_t ttl = rrsetTtl(dns::kTypeA, found.nA > 0);
    for (size_t i = 0; i < found.nA; ++i) {
      bool ok = true;
      putRecordHeader(w, dns::kHeaderSize, dns::kTypeA, ttl, ok);
      if (!(ok && w.u16(4) && w.u32(found.a[i]))) return false;
      ++count;
    }
    auto listedAlready = [&](const Found::Generic& g) {
      uint32_t v = 0;
      for (char c : g.rdata)
        v = v << 8 | static_cast<uint8_t>(c);
      return std::find(found.a.begin(), found.a.begin() + static_cast<long>(found.nA), v) !=
             found.a.begin() + static_cast<long>(found.nA);
    };
    if (!genericOf(dns::kTypeA, ttl, listedAlready)) return false;
  }
  if (qtype == dns::kTypeTXT || any) {
    const uint32_t ttl = rrsetTtl(dns::kTypeTXT, found.nTxt > 0);
    char scratch[kMaxTxt];
    // Identical texts from several datasets go out once (RFC 2181 §5).
    std::array<std::pair<size_t, size_t>, kMaxRecords> written{}; // (offset in reply, length)
    size_t nWritten = 0;
    for (size_t i = 0; i < found.nTxt; ++i) {
      size_t len = expand(found.txt[i], scratch, sizeof scratch);
      bool dup = false;
      for (size_t j = 0; j < nWritten && !dup; ++j) {
        const auto& [off, wlen] = written[j];
        if (wlen != len) continue;
        // compare against the chunked rdata we wrote
        size_t pos = off, k = 0;
        dup = true;
        while (k < len && dup) {
          size_t chunk = w.data()[pos];
          dup = std::memcmp(w.data() + pos + 1, scratch + k, chunk) == 0;
          pos += chunk + 1;
          k += chunk;
        }
      }
      if (dup) continue;
      size_t rdataOff = w.size() + 12;
      if (!writeTxt(w, ttl, scratch, len)) return false;
      written[nWritten++] = {rdataOff, len};
      ++count;
    }
    if (!genericOf(dns::kTypeTXT, ttl, [](const Found::Generic&) { return false; })) return false;
  }
  if (qtype == 15 || any) {
    if (!genericOf(15, rrsetTtl(15, false), [](const Found::Generic&) { return false; }))
      return false;
  }
  return true;
}

} // namespace dnsxl::answer::detail
