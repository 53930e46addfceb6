// DNS wire format: a bounds-checked query parser and an append-only message writer.
// No I/O, no LMDB, no allocation: everything works in caller-supplied buffers. Never throws on
// untrusted input; a parse returns a status (RFC 1035 §4.1, RFC 6891 §6, RFC 9619).
#pragma once

#include "dns/byte_order.hh"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace dnsxl::dns {

inline constexpr uint16_t kTypeA = 1, kTypeNS = 2, kTypeSOA = 6, kTypeTXT = 16, kTypeAAAA = 28,
                          kTypeOPT = 41, kTypeTKEY = 249, kTypeTSIG = 250, kTypeIXFR = 251,
                          kTypeAXFR = 252, kTypeMAILB = 253, kTypeMAILA = 254, kTypeANY = 255;
inline constexpr uint16_t kClassIN = 1, kClassCH = 3, kClassANY = 255;

enum Rcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5
};
inline constexpr uint16_t kBadVers = 16; // extended RCODE, RFC 6891 §6.1.3

inline constexpr uint16_t kOptionNsid = 3; // EDNS option code (RFC 5001 §2.3)
inline constexpr uint16_t kFlagQR = 0x8000, kFlagAA = 0x0400, kFlagTC = 0x0200, kFlagRD = 0x0100;
inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxName = 255;

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint8_t opcode = 0;
  // The question name as received (uncompressed wire form, original case), inside the packet.
  const uint8_t* qname = nullptr;
  size_t qnameLen = 0;
  uint16_t qtype = 0, qclass = 0;
  size_t questionEnd = 0; // offset just past QCLASS; 0 if there is no usable question
  bool edns = false;
  uint16_t ednsUdpSize = 0;
  uint8_t ednsVersion = 0;
  bool nsid = false; // the OPT carries an NSID option (RFC 5001 §2.1)
};

enum class ParseStatus {
  Ok,
  Drop,    // no reply: not a query (QR set) or too short for a header (RFC 1035 §4.1.1)
  FormErr, // reply FORMERR (question echoed if questionEnd != 0; OPT added if q.edns)
  NotImp,  // opcode other than QUERY: reply NOTIMP with the opcode echoed (RFC 8906 §3.1.4)
};

ParseStatus parseQuery(std::span<const uint8_t> packet, Query& q);

// rbldnsd's query log line for an answered query (its -l format):
// "<unix-time> <client> <qname> <qtype> <qclass>: <RCODE>/<ancount>/<reply-bytes>\n".
// Returns the length written to out (0 if the query has no readable question).
size_t formatQueryLogLine(char* out, size_t cap, int64_t now, std::string_view client,
                          std::span<const uint8_t> query, std::span<const uint8_t> reply);
// The same from the reply's header and its size (the query log keeps no more of the reply).
size_t formatQueryLogLine(char* out, size_t cap, int64_t now, std::string_view client,
                          std::span<const uint8_t> query, std::span<const uint8_t> replyHeader,
                          size_t replySize);
// The same fields as one JSON object per line (JSON Lines), with the transport and TC:
// {"time":1765000000,"client":"192.0.2.1","transport":"udp","qname":"2.0.0.127.bl.example",
//  "qtype":"A","qclass":"IN","rcode":"NOERROR","answers":1,"size":73,"tc":false}
size_t formatQueryLogJson(char* out, size_t cap, int64_t now, std::string_view client,
                          std::string_view transport, std::span<const uint8_t> query,
                          std::span<const uint8_t> replyHeader, size_t replySize);

// Moves pos past a (possibly compressed) name in a message; false if it runs past the end or
// has a bad label type.
bool skipName(std::span<const uint8_t> message, size_t& pos);

// Lower-cases an uncompressed wire name into out (which holds kMaxName bytes).
void lowerName(const uint8_t* name, size_t len, uint8_t* out);

// Appends to a fixed buffer; every write fails (and leaves the buffer as it was) past the limit.
class Writer {
public:
  Writer(uint8_t* buf, size_t capacity) : d_buf(buf), d_cap(capacity) {}

  size_t size() const { return d_len; }
  size_t limit() const { return d_limit; }
  void setLimit(size_t limit) { d_limit = limit < d_cap ? limit : d_cap; }
  void truncate(size_t len) { d_len = len; }
  uint8_t* data() { return d_buf; }

  bool u8(uint8_t v) { return bytes(&v, 1); }
  bool u16(uint16_t v) {
    uint8_t b[2];
    dnsxl::bytes::set16(b, v);
    return bytes(b, 2);
  }
  bool u32(uint32_t v) {
    uint8_t b[4];
    dnsxl::bytes::set32(b, v);
    return bytes(b, 4);
  }
  // Inline: the u8/u16/u32 above become a bounds check and a store (the hot path writes every
  // record field through them).
  bool bytes(const void* p, size_t n) {
    if (n > d_limit - d_len || n > d_cap - d_len) return false;
    std::memcpy(d_buf + d_len, p, n);
    d_len += n;
    return true;
  }
  void put16At(size_t offset, uint16_t v) { dnsxl::bytes::set16(d_buf + offset, v); }
  // A compression pointer to an earlier name at offset (RFC 1035 §4.1.4).
  bool pointer(size_t offset) { return u16(static_cast<uint16_t>(0xc000 | offset)); }

private:
  uint8_t* d_buf;
  size_t d_cap;
  size_t d_len = 0;
  size_t d_limit = SIZE_MAX;
};

// Appends the wire form of a dotted name to out (a std::string-like byte container).
template <typename Out>
bool encodeName(std::string_view dotted, Out& out) {
  if (!dotted.empty() && dotted.back() == '.') dotted.remove_suffix(1);
  size_t total = 1;
  while (!dotted.empty()) {
    size_t dot = dotted.find('.');
    auto label = dotted.substr(0, dot);
    if (label.empty() || label.size() > 63) return false;
    total += label.size() + 1;
    if (total > kMaxName) return false;
    using Byte = typename Out::value_type;
    out.push_back(static_cast<Byte>(label.size()));
    for (char c : label)
      out.push_back(static_cast<Byte>(c));
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  out.push_back(typename Out::value_type{0});
  return true;
}

} // namespace dnsxl::dns
