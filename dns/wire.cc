#include "dns/wire.hh"

#include "dns/byte_order.hh"
#include <algorithm>
#include <cstdio>
#include <cstring>

namespace dnsxl::dns {

namespace {

using bytes::get16;

// Skips a possibly compressed name starting at pos; pointers must point backwards and stay in
// bounds, at most 255 bytes long uncompressed. Returns the offset after the name or 0.
size_t skipNameAt(std::span<const uint8_t> pkt, size_t pos) {
  size_t end = 0, total = 0;
  size_t hops = 0;
  for (;;) {
    if (pos >= pkt.size()) return 0;
    uint8_t len = pkt[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= pkt.size()) return 0;
      size_t target = ((len & 0x3fU) << 8) | pkt[pos + 1];
      if (target >= pos || ++hops > 127) return 0;
      if (end == 0) end = pos + 2;
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0) return 0; // 0x40 / 0x80 label types
    total += len + 1U;
    if (total > kMaxName) return 0;
    if (len == 0) return end ? end : pos + 1;
    pos += len + 1U;
  }
}

} // namespace

ParseStatus parseQuery(std::span<const uint8_t> pkt, Query& q) {
  q = Query{};
  if (pkt.size() < kHeaderSize) return ParseStatus::Drop;
  q.id = get16(pkt.data());
  q.flags = get16(pkt.data() + 2);
  if (q.flags & kFlagQR) return ParseStatus::Drop;
  q.opcode = static_cast<uint8_t>((q.flags >> 11) & 0xf);
  uint16_t qd = get16(pkt.data() + 4), an = get16(pkt.data() + 6), ns = get16(pkt.data() + 8),
           ar = get16(pkt.data() + 10);
  if (q.opcode != 0) return ParseStatus::NotImp;
  if (qd != 1) return ParseStatus::FormErr; // RFC 9619 §4

  // The question name: uncompressed labels only (nothing precedes it to point to).
  size_t pos = kHeaderSize;
  size_t total = 0;
  for (;;) {
    if (pos >= pkt.size()) return ParseStatus::FormErr;
    uint8_t len = pkt[pos];
    if (len & 0xc0) return ParseStatus::FormErr;
    total += len + 1U;
    if (total > kMaxName) return ParseStatus::FormErr;
    if (len == 0) break;
    if (pos + 1 + len > pkt.size()) return ParseStatus::FormErr;
    pos += len + 1U;
  }
  ++pos;
  if (pos + 4 > pkt.size()) return ParseStatus::FormErr;
  q.qname = pkt.data() + kHeaderSize;
  q.qnameLen = pos - kHeaderSize;
  q.qtype = get16(pkt.data() + pos);
  q.qclass = get16(pkt.data() + pos + 2);
  pos += 4;
  q.questionEnd = pos;

  // The other sections: skipped, except the OPT record (RFC 6891 §6.1.1).
  unsigned opts = 0;
  bool badOpt = false;
  for (unsigned i = 0, n = unsigned{an} + ns + ar; i < n; ++i) {
    size_t owner = pos;
    pos = skipNameAt(pkt, pos);
    if (pos == 0 || pos + 10 > pkt.size()) return ParseStatus::FormErr;
    uint16_t type = get16(pkt.data() + pos);
    uint16_t rdlen = get16(pkt.data() + pos + 8);
    size_t rdata = pos + 10;
    if (rdata + rdlen > pkt.size()) return ParseStatus::FormErr;
    if (type == kTypeOPT) {
      ++opts;
      bool inAdditional = i >= unsigned{an} + ns;
      if (!inAdditional || pkt[owner] != 0) badOpt = true;
      q.ednsUdpSize = get16(pkt.data() + pos + 2);
      q.ednsVersion = pkt[pos + 5];
      for (size_t o = rdata; o < rdata + rdlen;) {
        if (o + 4 > rdata + rdlen) {
          badOpt = true;
          break;
        }
        o += 4U + get16(pkt.data() + o + 2);
        if (o > rdata + rdlen) badOpt = true;
      }
    }
    pos = rdata + rdlen;
  }
  if (opts > 0) q.edns = true;
  if (opts > 1 || badOpt) return ParseStatus::FormErr; // RFC 6891 §6.1.1, §7
  if (pos != pkt.size()) return ParseStatus::FormErr;  // trailing garbage (checklist K-11)
  return ParseStatus::Ok;
}

size_t formatQueryLogLine(char* out, size_t cap, int64_t now, std::string_view client,
                          std::span<const uint8_t> query, std::span<const uint8_t> reply) {
  Query q;
  if (parseQuery(query, q) == ParseStatus::Drop || q.questionEnd == 0 || reply.size() < kHeaderSize)
    return 0;
  char name[4 * kMaxName + 1];
  size_t n = 0;
  for (size_t pos = 0; pos < q.qnameLen && q.qname[pos] != 0; pos += q.qname[pos] + 1U) {
    if (n) name[n++] = '.';
    for (size_t i = 1; i <= q.qname[pos]; ++i) {
      uint8_t c = q.qname[pos + i];
      if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
        name[n++] = static_cast<char>(c);
      } else {
        n += static_cast<size_t>(std::snprintf(name + n, 5, "\\%03u", c));
      }
    }
  }
  if (n == 0) name[n++] = '.';
  name[n] = '\0';
  const char* type = nullptr;
  switch (q.qtype) {
  case kTypeA:
    type = "A";
    break;
  case kTypeNS:
    type = "NS";
    break;
  case 5:
    type = "CNAME";
    break;
  case kTypeSOA:
    type = "SOA";
    break;
  case 12:
    type = "PTR";
    break;
  case 15:
    type = "MX";
    break;
  case kTypeTXT:
    type = "TXT";
    break;
  case kTypeAAAA:
    type = "AAAA";
    break;
  case 33:
    type = "SRV";
    break;
  case kTypeIXFR:
    type = "IXFR";
    break;
  case kTypeAXFR:
    type = "AXFR";
    break;
  case kTypeANY:
    type = "ANY";
    break;
  default:
    break;
  }
  const char* cls = q.qclass == kClassIN    ? "IN"
                    : q.qclass == kClassCH  ? "CH"
                    : q.qclass == 4         ? "HS"
                    : q.qclass == kClassANY ? "ANY"
                                            : nullptr;
  static constexpr const char* kRcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL",
                                            "NXDOMAIN", "NOTIMPL", "REFUSED"};
  unsigned rcode = reply[3] & 0xfU;
  unsigned ancount = unsigned{reply[6]} << 8 | reply[7];
  char typeBuf[16], classBuf[16], rcodeBuf[16];
  if (!type) std::snprintf(typeBuf, sizeof typeBuf, "type%u", q.qtype);
  if (!cls) std::snprintf(classBuf, sizeof classBuf, "class%u", q.qclass);
  if (rcode >= 6) std::snprintf(rcodeBuf, sizeof rcodeBuf, "rcode%u", rcode);
  int len = std::snprintf(out, cap, "%lld %.*s %s %s %s: %s/%u/%zu\n", static_cast<long long>(now),
                          static_cast<int>(client.size()), client.data(), name,
                          type ? type : typeBuf, cls ? cls : classBuf,
                          rcode < 6 ? kRcodes[rcode] : rcodeBuf, ancount, reply.size());
  return len < 0 ? 0 : std::min(static_cast<size_t>(len), cap - 1);
}

void lowerName(const uint8_t* name, size_t len, uint8_t* out) {
  // Eight bytes at a time: for each byte below 0x80, adding 0x80 - 'A' sets its top bit when it
  // is >= 'A', adding 0x80 - 'Z' - 1 when it is > 'Z'; a byte with both answers differing (and
  // its own top bit clear) is upper case and gets 0x20. Every query's name passes here.
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kTops = 0x8080808080808080ULL;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t x;
    std::memcpy(&x, name + i, 8);
    const uint64_t low7 = x & ~kTops;
    const uint64_t atLeastA = low7 + kOnes * (0x80 - 'A');
    const uint64_t aboveZ = low7 + kOnes * (0x80 - 'Z' - 1);
    const uint64_t upper = atLeastA & ~aboveZ & ~x & kTops;
    x |= upper >> 2;
    std::memcpy(out + i, &x, 8);
  }
  for (; i < len; ++i) {
    uint8_t c = name[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c;
  }
}

bool skipName(std::span<const uint8_t> m, size_t& pos) {
  const size_t next = skipNameAt(m, pos);
  if (next == 0) return false;
  pos = next;
  return true;
}

} // namespace dnsxl::dns
