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
        if (get16(pkt.data() + o) == kOptionNsid) q.nsid = true;
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

namespace {

// The fields of a query log line, as text.
struct LogFields {
  char name[4 * kMaxName + 1];
  char typeBuf[16], classBuf[16], rcodeBuf[16];
  const char *type = nullptr, *cls = nullptr, *rcode = nullptr;
  unsigned ancount = 0;
};

bool logFields(std::span<const uint8_t> query, std::span<const uint8_t> replyHeader, LogFields& f,
               bool json) {
  Query q;
  if (parseQuery(query, q) == ParseStatus::Drop || q.questionEnd == 0 ||
      replyHeader.size() < kHeaderSize)
    return false;
  size_t n = 0;
  for (size_t pos = 0; pos < q.qnameLen && q.qname[pos] != 0; pos += q.qname[pos] + 1U) {
    if (n) f.name[n++] = '.';
    for (size_t i = 1; i <= q.qname[pos]; ++i) {
      uint8_t c = q.qname[pos + i];
      if (c > 0x20 && c < 0x7f && c != '.' && c != '\\' && !(json && c == '"')) {
        f.name[n++] = static_cast<char>(c);
      } else if (json) { // \u00XX: JSON has no \DDD escape
        n += static_cast<size_t>(std::snprintf(f.name + n, 7, "\\u%04x", c));
      } else {
        n += static_cast<size_t>(std::snprintf(f.name + n, 5, "\\%03u", c));
      }
    }
  }
  if (n == 0) f.name[n++] = '.';
  f.name[n] = '\0';
  switch (q.qtype) {
  case kTypeA:
    f.type = "A";
    break;
  case kTypeNS:
    f.type = "NS";
    break;
  case 5:
    f.type = "CNAME";
    break;
  case kTypeSOA:
    f.type = "SOA";
    break;
  case 12:
    f.type = "PTR";
    break;
  case 15:
    f.type = "MX";
    break;
  case kTypeTXT:
    f.type = "TXT";
    break;
  case kTypeAAAA:
    f.type = "AAAA";
    break;
  case 33:
    f.type = "SRV";
    break;
  case kTypeIXFR:
    f.type = "IXFR";
    break;
  case kTypeAXFR:
    f.type = "AXFR";
    break;
  case kTypeANY:
    f.type = "ANY";
    break;
  default:
    std::snprintf(f.typeBuf, sizeof f.typeBuf, "type%u", q.qtype);
    f.type = f.typeBuf;
  }
  f.cls = q.qclass == kClassIN    ? "IN"
          : q.qclass == kClassCH  ? "CH"
          : q.qclass == 4         ? "HS"
          : q.qclass == kClassANY ? "ANY"
                                  : nullptr;
  if (!f.cls) {
    std::snprintf(f.classBuf, sizeof f.classBuf, "class%u", q.qclass);
    f.cls = f.classBuf;
  }
  static constexpr const char* kRcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL",
                                            "NXDOMAIN", "NOTIMPL", "REFUSED"};
  const unsigned rcode = replyHeader[3] & 0xfU;
  if (rcode < 6) {
    f.rcode = kRcodes[rcode];
  } else {
    std::snprintf(f.rcodeBuf, sizeof f.rcodeBuf, "rcode%u", rcode);
    f.rcode = f.rcodeBuf;
  }
  f.ancount = unsigned{replyHeader[6]} << 8 | replyHeader[7];
  return true;
}

} // namespace

size_t formatQueryLogLine(char* out, size_t cap, int64_t now, std::string_view client,
                          std::span<const uint8_t> query, std::span<const uint8_t> replyHeader,
                          size_t replySize) {
  LogFields f;
  if (!logFields(query, replyHeader, f, false)) return 0;
  int len = std::snprintf(out, cap, "%lld %.*s %s %s %s: %s/%u/%zu\n", static_cast<long long>(now),
                          static_cast<int>(client.size()), client.data(), f.name, f.type, f.cls,
                          f.rcode, f.ancount, replySize);
  return len < 0 ? 0 : std::min(static_cast<size_t>(len), cap - 1);
}

size_t formatQueryLogLine(char* out, size_t cap, int64_t now, std::string_view client,
                          std::span<const uint8_t> query, std::span<const uint8_t> reply) {
  return formatQueryLogLine(out, cap, now, client, query, reply, reply.size());
}

size_t formatQueryLogJson(char* out, size_t cap, int64_t now, std::string_view client,
                          std::string_view transport, std::span<const uint8_t> query,
                          std::span<const uint8_t> replyHeader, size_t replySize) {
  LogFields f;
  if (!logFields(query, replyHeader, f, true)) return 0;
  const bool tc = (replyHeader[2] & 0x02) != 0;
  int len =
      std::snprintf(out, cap,
                    "{\"time\":%lld,\"client\":\"%.*s\",\"transport\":\"%.*s\",\"qname\":\"%s\","
                    "\"qtype\":\"%s\",\"qclass\":\"%s\",\"rcode\":\"%s\",\"answers\":%u,"
                    "\"size\":%zu,\"tc\":%s}\n",
                    static_cast<long long>(now), static_cast<int>(client.size()), client.data(),
                    static_cast<int>(transport.size()), transport.data(), f.name, f.type, f.cls,
                    f.rcode, f.ancount, replySize, tc ? "true" : "false");
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
