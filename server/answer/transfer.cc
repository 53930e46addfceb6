#include "server/answer/transfer.hh"

#include "dns/byte_order.hh"
#include "render/zone.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <ctime>

namespace dnsxl::answer {

namespace {

constexpr uint8_t kNotAuth = 9; // RFC 2136 §2.2, used by RFC 5936 §2.2.1

using bytes::get16;
using bytes::get32;

// The serial of the SOA in an IXFR query's authority section (RFC 1995 §3).
bool ixfrSerial(std::span<const uint8_t> m, size_t questionEnd, uint32_t& serial) {
  if (get16(m.data() + 8) < 1) return false;
  size_t pos = questionEnd + 0;
  // skip answer records (none expected)
  if (!dns::skipName(m, pos) || pos + 10 > m.size()) return false;
  if (get16(m.data() + pos) != dns::kTypeSOA) return false;
  pos += 10;
  if (!dns::skipName(m, pos) || !dns::skipName(m, pos) || pos + 4 > m.size()) return false;
  serial = get32(m.data() + pos);
  return true;
}

struct SendFailed {};

// Messages of up to `size` bytes, each handed to `send` once full, each with the question (so
// that owners can point at the zone name in it, RFC 1035 §4.1.4; RFC 5936 §2.2.1 allows QDCOUNT 1
// in every message).
class Messages {
public:
  Messages(std::span<const uint8_t> query, size_t questionEnd, size_t size, const Sink& send)
      : d_id(get16(query.data())), d_size(size),
        d_question(query.begin() + dns::kHeaderSize,
                   query.begin() + static_cast<long>(questionEnd)),
        d_send(send) {}

  // Signs every message from now on (RFC 8945 §5.3, §5.3.1): the first with the request's MAC,
  // the next ones with the previous message's MAC and the timers.
  void signWith(const tsig::Key* key, const tsig::Record& request) {
    d_key = key;
    d_request = request;
    d_prevMac = request.mac;
    if (key) d_size -= 128; // room for the TSIG RR
  }

  void add(const render::Record& r) {
    const size_t need = r.owner.size() + 2 + 2 + 10 + r.rdata.size();
    if (d_count > 0 && d_m.size() + need > d_size) flush();
    if (d_m.empty()) open();
    // owner: its labels relative to the zone, then a pointer to the zone name in the question
    size_t start = 0;
    while (start < r.owner.size()) {
      size_t dot = r.owner.find('.', start);
      if (dot == std::string::npos) dot = r.owner.size();
      d_m.push_back(static_cast<uint8_t>(dot - start));
      d_m.insert(d_m.end(), r.owner.begin() + static_cast<long>(start),
                 r.owner.begin() + static_cast<long>(dot));
      start = dot + 1;
    }
    d_m.push_back(0xc0);
    d_m.push_back(dns::kHeaderSize);
    put16(r.type);
    put16(dns::kClassIN);
    put16(static_cast<uint16_t>(r.ttl >> 16));
    put16(static_cast<uint16_t>(r.ttl));
    put16(static_cast<uint16_t>(r.rdata.size()));
    d_m.insert(d_m.end(), r.rdata.begin(), r.rdata.end());
    ++d_count;
    d_m[6] = static_cast<uint8_t>(d_count >> 8);
    d_m[7] = static_cast<uint8_t>(d_count);
  }

  // Sends what is pending.
  void flush(uint16_t tsigError = 0) {
    if (d_m.empty()) return;
    if (d_key) {
      d_prevMac = tsig::sign(d_m, *d_key, d_request.originalId, d_prevMac, d_signed > 0,
                             static_cast<uint64_t>(std::time(nullptr)), tsigError);
      ++d_signed;
    }
    if (!d_send(d_m)) throw SendFailed{};
    d_m.clear();
    d_count = 0;
  }

  // A single message with rcode and no records (signed when the request was and checked out).
  void error(uint8_t rcode, uint16_t tsigError = 0) {
    d_m.clear();
    open();
    d_m[3] = static_cast<uint8_t>(d_m[3] | rcode);
    d_m[2] = static_cast<uint8_t>(d_m[2] & ~0x04); // no AA on errors
    flush(tsigError);
  }

  // NOTAUTH with an unsigned TSIG error (BADKEY, BADSIG: RFC 8945 §5.2.1, §5.2.2).
  void unsignedError(const tsig::Record& request, uint16_t tsigError) {
    d_m.clear();
    open();
    d_m[3] = static_cast<uint8_t>(d_m[3] | 9);
    d_m[2] = static_cast<uint8_t>(d_m[2] & ~0x04);
    tsig::appendUnsigned(d_m, request, tsigError);
    if (!d_send(d_m)) throw SendFailed{};
    d_m.clear();
  }

private:
  void put16(uint16_t v) {
    d_m.push_back(static_cast<uint8_t>(v >> 8));
    d_m.push_back(static_cast<uint8_t>(v));
  }
  void open() {
    d_m.clear();
    d_m.reserve(d_size);
    put16(d_id);
    put16(dns::kFlagQR | dns::kFlagAA); // opcode QUERY, RFC 5936 §2.2.1
    put16(1);
    put16(0);
    put16(0);
    put16(0);
    d_m.insert(d_m.end(), d_question.begin(), d_question.end());
    d_count = 0;
  }
  uint16_t d_id;
  size_t d_size;
  std::vector<uint8_t> d_question;
  const Sink& d_send;
  std::vector<uint8_t> d_m;
  uint16_t d_count = 0;
  const tsig::Key* d_key = nullptr;
  tsig::Record d_request;
  std::vector<uint8_t> d_prevMac;
  size_t d_signed = 0;
};

bool serialNotOlder(uint32_t theirs, uint32_t ours) { // RFC 1982: theirs >= ours
  return theirs == ours || static_cast<uint32_t>(theirs - ours) < 0x80000000U;
}

} // namespace

std::vector<uint8_t> notifyMessage(std::string_view zone, uint16_t id, const tsig::Key* key) {
  std::vector<uint8_t> m = {static_cast<uint8_t>(id >> 8),
                            static_cast<uint8_t>(id),
                            4 << 3 | 0x04,
                            0,
                            0,
                            1,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0};
  std::string name;
  dns::encodeName(zone, name);
  m.insert(m.end(), name.begin(), name.end());
  for (uint16_t v : {dns::kTypeSOA, dns::kClassIN}) {
    m.push_back(static_cast<uint8_t>(v >> 8));
    m.push_back(static_cast<uint8_t>(v));
  }
  if (key) tsig::sign(m, *key, id, {}, false, static_cast<uint64_t>(std::time(nullptr)));
  return m;
}

bool isNotifyReply(std::span<const uint8_t> reply, uint16_t id) {
  return reply.size() >= dns::kHeaderSize && get16(reply.data()) == id && (reply[2] & 0x80) &&
         ((reply[2] >> 3) & 0xf) == 4;
}

size_t tsigReply(std::span<const uint8_t> query, std::span<uint8_t> reply, size_t len,
                 const std::vector<tsig::Key>& keys, uint64_t now) {
  if (len < dns::kHeaderSize || query.size() < dns::kHeaderSize || get16(query.data() + 10) == 0)
    return len;
  tsig::Record r;
  const auto parsed = tsig::parse(query, r);
  if (parsed == tsig::Parse::None) return len;
  std::vector<uint8_t> m(reply.begin(), reply.begin() + static_cast<long>(len));
  auto headerOnly = [&](uint8_t rcode) { // header and question, no records
    dns::Query q;
    const size_t qend =
        dns::parseQuery(query, q) == dns::ParseStatus::Ok ? q.questionEnd : dns::kHeaderSize;
    m.assign(reply.begin(), reply.begin() + static_cast<long>(std::min(qend, len)));
    for (size_t i = 6; i < 12 && i < m.size(); ++i)
      m[i] = 0;
    if (m.size() >= 4) m[3] = static_cast<uint8_t>((m[3] & 0xf0) | rcode);
  };
  const tsig::Key* key = nullptr;
  const int v = parsed == tsig::Parse::Ok ? tsig::verify(query, r, keys, now, &key) : -1;
  if (v < 0) {
    headerOnly(dns::kFormErr);
  } else if (v == tsig::kBadKey || v == tsig::kBadSig) {
    headerOnly(9);
    tsig::appendUnsigned(m, r, static_cast<uint16_t>(v));
  } else {
    if (v == tsig::kBadTime) headerOnly(9);
    // the OPT record stays; TSIG goes last (RFC 8945 §5.3)
    auto signedCopy = m;
    tsig::sign(signedCopy, *key, r.originalId, r.mac, false, now, static_cast<uint16_t>(v));
    if (signedCopy.size() > reply.size()) {
      headerOnly(0);
      if (m.size() >= 3) m[2] = static_cast<uint8_t>(m[2] | 0x02); // TC
      signedCopy = m;
      tsig::sign(signedCopy, *key, r.originalId, r.mac, false, now, 0);
    }
    m = std::move(signedCopy);
  }
  if (m.size() > reply.size()) return 0;
  std::copy(m.begin(), m.end(), reply.begin());
  return m.size();
}

bool isTransfer(std::span<const uint8_t> query) {
  dns::Query q;
  if (dns::parseQuery(query, q) != dns::ParseStatus::Ok) return false;
  return q.qtype == dns::kTypeAXFR || q.qtype == dns::kTypeIXFR;
}

namespace {

// The question name exactly: lower case, dotted.
std::string zoneName(const dns::Query& q) {
  std::string name;
  for (size_t pos = 0; pos < q.qnameLen && q.qname[pos] != 0; pos += 1 + q.qname[pos]) {
    if (!name.empty()) name.push_back('.');
    for (size_t i = 1; i <= q.qname[pos]; ++i) {
      const char c = static_cast<char>(q.qname[pos + i]);
      name.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
  }
  return name;
}

// TSIG (RFC 8945 §5.2), checked in the order key, MAC, time: false when an error went out;
// key is the one that signed the query (nullptr: unsigned).
bool checkTsig(std::span<const uint8_t> query, const TransferOptions& options, Messages& out,
               const tsig::Key*& key) {
  tsig::Record signedBy;
  switch (tsig::parse(query, signedBy)) {
  case tsig::Parse::FormErr:
    out.error(dns::kFormErr);
    return false;
  case tsig::Parse::None:
    return true;
  case tsig::Parse::Ok:
    break;
  }
  const int v =
      tsig::verify(query, signedBy, options.keys, static_cast<uint64_t>(std::time(nullptr)), &key);
  if (v < 0) {
    out.error(dns::kFormErr);
    return false;
  }
  if (v == tsig::kBadKey || v == tsig::kBadSig) {
    out.unsignedError(signedBy, static_cast<uint16_t>(v));
    return false;
  }
  out.signWith(key, signedBy);
  if (v == tsig::kBadTime) {
    out.error(9, tsig::kBadTime);
    return false;
  }
  return true;
}

bool allowed(const Client& client, const TransferOptions& options) {
  uint8_t v4[4];
  const uint32_t n4 = htonl(client.v4);
  std::memcpy(v4, &n4, 4);
  for (const auto& p : options.allow)
    if (client.v6 ? p.contains(true, client.addr6.data()) : p.contains(false, v4)) return true;
  return false;
}

// RFC 1995 §4: the differences from their serial to ours, when the journal has the whole chain.
// False (nothing sent) when it has not: the whole zone goes instead.
bool sendIncrements(store::Snapshot& snap, const store::ZoneRecord& z, uint32_t theirs,
                    Messages& out) {
  const auto entries = snap.journal(z.name);
  std::vector<const store::Snapshot::JournalEntry*> chain;
  uint32_t at = theirs;
  for (const auto& e : entries)
    if (e.from == at) {
      chain.push_back(&e);
      at = e.to;
    }
  if (chain.empty() || at != z.soa.serial) return false;
  const auto ours = render::soaRecord(z, z.soa.serial);
  out.add(ours);
  for (const auto* e : chain) {
    std::vector<render::Record> deleted, added;
    if (!render::decodeDiff(e->payload, deleted, added)) {
      out.error(dns::kServFail); // a corrupt journal entry
      return true;
    }
    out.add(render::soaRecord(z, e->from));
    for (const auto& r : deleted)
      out.add(r);
    out.add(render::soaRecord(z, e->to));
    for (const auto& r : added)
      out.add(r);
  }
  out.add(ours);
  out.flush();
  return true;
}

// The whole zone (AXFR, RFC 5936), or for a current secondary the SOA alone (RFC 1995 §2).
void sendZone(store::Snapshot& snap, const store::ZoneRecord& z, bool current,
              const TransferOptions& options, Messages& out) {
  render::Record soa;
  render::Stats stats;
  std::string error;
  const bool ok = render::renderZone(
      snap, z, static_cast<int64_t>(std::time(nullptr)), current ? 1 : options.maxRecords,
      [&](const render::Record& r) {
        if (r.type == dns::kTypeSOA && r.owner.empty()) soa = r;
        out.add(r);
      },
      stats, error);
  if (current) {
    out.flush();
    return;
  }
  if (!ok) { // messages may have gone out already: end the stream with an error message
    out.error(dns::kServFail);
    return;
  }
  out.add(soa); // the closing SOA (RFC 5936 §2.2)
  out.flush();
}

} // namespace

bool transfer(store::Env& env, std::span<const uint8_t> query, const Client& client,
              const TransferOptions& options, const Sink& send) {
  dns::Query q;
  if (dns::parseQuery(query, q) != dns::ParseStatus::Ok || q.questionEnd == 0) return false;
  Messages out(query, q.questionEnd, options.messageSize, send);
  try {
    if (q.qclass != dns::kClassIN) {
      out.error(dns::kNotImp);
      return true;
    }
    const tsig::Key* key = nullptr;
    if (!checkTsig(query, options, out, key)) return true;
    if ((!options.requireKey.empty() && (!key || key->name != options.requireKey)) ||
        !allowed(client, options)) {
      out.error(dns::kRefused);
      return true;
    }
    const auto name = zoneName(q);
    store::Snapshot snap(env); // one consistent view for the whole transfer (RFC 5936 §6)
    for (const auto& z : snap.zones()) {
      if (z.name != name || z.name.empty()) continue;
      if (!serves(options.zones, z.name)) break; // in the store, not served
      uint32_t theirs = 0;
      const bool ixfr = q.qtype == dns::kTypeIXFR && ixfrSerial(query, q.questionEnd, theirs);
      const bool current = ixfr && serialNotOlder(theirs, z.soa.serial);
      if (ixfr && !current && sendIncrements(snap, z, theirs, out)) return true;
      sendZone(snap, z, current, options, out);
      return true;
    }
    out.error(kNotAuth);
    return true;
  } catch (const SendFailed&) {
    return false;
  }
}

} // namespace dnsxl::answer
