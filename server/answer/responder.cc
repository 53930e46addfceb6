#include "server/answer/responder.hh"

#include "dns/byte_order.hh"
#include "server/answer/found.hh"
#include "server/answer/transfer.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <bitset>
#include <cstring>

namespace dnsxl::answer {

using detail::Found;

namespace {

using dns::Writer;

constexpr size_t kMaxLabels = 128;
constexpr size_t kOptSize = 11;
constexpr uint32_t kAclAlways = 1; // an acl entry with a value: the client is always listed
static_assert(store::kAclIgnore > kAclAlways);
constexpr size_t kMaxDatasets = 256; // datasets of one zone that can answer a query
constexpr size_t kGoOn = SIZE_MAX;   // a stage has not answered: the next one goes on

// Dotted-quad text of a host-order address into out (room for INET_ADDRSTRLEN); its length.
// inet_ntop goes through sprintf: ten times the instructions.
size_t formatIp4(char* out, uint32_t a) {
  char* p = out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const unsigned o = (a >> shift) & 255;
    if (o >= 100) *p++ = static_cast<char>('0' + o / 100);
    if (o >= 10) *p++ = static_cast<char>('0' + o / 10 % 10);
    *p++ = static_cast<char>('0' + o % 10);
    if (shift) *p++ = '.';
  }
  *p = '\0';
  return static_cast<size_t>(p - out);
}

struct Labels {
  std::array<uint8_t, kMaxLabels> off; // offsets of each label's length byte in the name
  size_t count = 0;
};

bool decimalLabel(const uint8_t* name, uint8_t off, uint32_t& v) {
  uint8_t len = name[off];
  if (len == 0 || len > 3) return false;
  v = 0;
  for (uint8_t i = 1; i <= len; ++i) {
    uint8_t c = name[off + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  return v <= 255;
}

bool nibbleLabel(const uint8_t* name, uint8_t off, uint8_t& v) {
  if (name[off] != 1) return false;
  uint8_t c = name[off + 1];
  if (c >= '0' && c <= '9')
    v = static_cast<uint8_t>(c - '0');
  else if (c >= 'a' && c <= 'f')
    v = static_cast<uint8_t>(c - 'a' + 10);
  else
    return false;
  return true;
}

} // namespace

Responder::Responder(store::Env& env, Options options) : d_env(&env), d_snap(env), d_opt(options) {
  d_snap.reset();
}

void Responder::begin(int64_t now) {
  d_now = now;
  d_snap.renew();
  if (d_snap.generation() != d_generation) refreshZones();
}

void Responder::end() {
  d_snap.reset();
}

std::optional<store::DomainEntry> Responder::ancestor(uint32_t dataset, std::string_view key) {
  if (key.size() > sizeof(AncestorSlot::key)) return d_snap.domain(dataset, key);
  uint32_t h = 2166136261U ^ dataset; // FNV-1a
  for (char c : key)
    h = (h ^ static_cast<uint8_t>(c)) * 16777619U;
  auto& s = d_ancestors[h % d_ancestors.size()];
  if (s.generation == d_generation && s.dataset == dataset && s.len == key.size() &&
      std::memcmp(s.key, key.data(), key.size()) == 0)
    return s.found ? std::optional(s.entry) : std::nullopt;
  const auto e = d_snap.domain(dataset, key);
  s.generation = d_generation;
  s.dataset = dataset;
  s.len = static_cast<uint8_t>(key.size());
  std::memcpy(s.key, key.data(), key.size());
  s.found = e.has_value();
  if (e) s.entry = *e;
  return e;
}

uint32_t Responder::aclAction(uint32_t dataset, const Client& client, std::string_view& valueSet) {
  uint32_t set = store::kNoValue;
  if (client.v6) {
    if (auto iv = d_snap.ip6(dataset, client.addr6)) set = iv->valueSet;
  } else if (auto iv = d_snap.ip4(dataset, client.v4)) {
    set = iv->valueSet;
  }
  if (set == store::kNoValue) return 0;
  store::ValueSetReader r(d_snap.valueSet(set));
  store::ValueView v;
  if (!r.next(v)) return 0;
  if (v.a >= store::kAclIgnore) return v.a;
  valueSet = d_snap.valueSet(set);
  return kAclAlways;
}

void Responder::rebind(store::Env& env) {
  d_env = &env;
  d_snap.rebind(env);
  d_generation = kNoGeneration; // generations of two stores say nothing about each other
  for (auto& slot : d_ancestors)
    slot.generation = kNoGeneration;
}

void Responder::setOptions(Options options) {
  d_opt = std::move(options);
  d_generation = kNoGeneration; // the zones again at the next begin (the zone list may differ)
}

namespace {
// One writer (the worker owning the responder), readers elsewhere (stats): a plain load and
// store, not a locked read-modify-write — eight of those per answer showed in perf.
inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
} // namespace

// One query on its way to a reply: what each stage of answerQuery learnt, and the reply being
// written. Its arrays stay uninitialised (as Found's): each stage fills what the next reads.
struct Responder::Ctx {
  Ctx(std::span<const uint8_t> p, std::span<uint8_t> o, const Client* c, uint16_t udpMax)
      : packet(p), out(o), w(o.data(), o.size()), client(c), ednsUdpMax(udpMax) {}
  std::span<const uint8_t> packet;
  std::span<uint8_t> out;
  dns::Query q;
  Writer w;
  const Client* client;
  uint16_t ednsUdpMax;
  size_t limit = 512;
  uint16_t flags = 0, extRcode = 0;
  uint16_t counts[4] = {0, 0, 0, 0};
  // rbldnsd acls: the strongest action of the global acl and the zone's
  uint32_t acl = 0;
  std::string_view aclValue;
  const Dataset* aclDataset = nullptr;
  // the zone: the longest zone name that ends the query name, and the labels in front of it
  const Zone* zone = nullptr;
  size_t zoneOff = 0;
  size_t subEnd = 0; // where the subzones end: the zone, or a keyed zone's key label
  uint8_t lname[dns::kMaxName];
  Labels labels;
  std::array<bool, kMaxDatasets> active; // the datasets that answer at the deciding subzone
  size_t sub = 0;                        // that subzone's labels
  // the n labels in front of the subzone, as addresses and as a domain (classify)
  size_t n = 0;
  bool allDecimal = false, allNibbles = false, isV4 = false, isV6 = false, mapped4 = false;
  uint32_t v4 = 0;
  store::Ip6 v6{};
  bool domainOk = false;
  char dotted[dns::kMaxName];
  size_t dottedLen = 0;
  std::array<size_t, kMaxLabels> dottedStart;
  char key[dns::kMaxName];
  size_t keyLen = 0;
  std::array<size_t, kMaxLabels> keyEnd; // key length covering labels i..n-1
  char subject4[INET_ADDRSTRLEN], subject6[INET6_ADDRSTRLEN], who[INET6_ADDRSTRLEN];
  std::string_view ip4Subject, ip6Subject;
  bool listsHidden = false, inLoopback = false, testName = false;
  uint8_t result = 0;    // a name looked up in the lists: 1 listed, 2 not
  std::string_view nsid; // sent in the OPT when the client asked (RFC 5001)
  std::bitset<kMaxDatasets> belowKnown, belowFound; // per dataset: names below this one
  int access = -1;                   // the access rule's action that applied (counters)
  int keyResult = -1;                // a keyed zone's key result (counters)
  const AccessRule* fixed = nullptr; // an access rule's fixed answer for the names below the apex
  bool accessEmpty = false;          // an access rule makes the lists look empty

  size_t index(const Dataset& ds) const { return static_cast<size_t>(&ds - zone->datasets.data()); }
  bool isActive(const Dataset& ds) const { return active[index(ds)]; }
  size_t zoneOwner() const { return dns::kHeaderSize + zoneOff; }

  // The reply so far, with its OPT (when one came in) and the header's flags and counts.
  size_t finish(uint8_t rcode, bool withOpt) {
    w.setLimit(limit);
    if (withOpt && q.edns) {
      // RFC 6891 §6.1.1: root owner, our payload size in CLASS, ext-rcode/version/flags in TTL.
      w.u8(0);
      w.u16(dns::kTypeOPT);
      w.u16(ednsUdpMax);
      w.u32(uint32_t{static_cast<uint8_t>(extRcode >> 4)} << 24);
      if (q.nsid && !nsid.empty()) { // RFC 5001 §2.3: option code 3, our identifier
        w.u16(static_cast<uint16_t>(4 + nsid.size()));
        w.u16(dns::kOptionNsid);
        w.u16(static_cast<uint16_t>(nsid.size()));
        w.bytes(nsid.data(), nsid.size());
      } else {
        w.u16(0);
      }
      ++counts[3];
    }
    w.put16At(2, static_cast<uint16_t>(flags | rcode));
    for (int i = 0; i < 4; ++i)
      w.put16At(4 + 2 * static_cast<size_t>(i), counts[i]);
    return w.size();
  }
  // NXDOMAIN or NODATA: the zone's SOA in authority, TTL min(SOA TTL, minimum) (RFC 2308 §3).
  size_t negative(uint8_t rcode) {
    const size_t mark = w.size();
    if (w.pointer(zoneOwner()) && w.bytes(zone->negSoa.data(), zone->negSoa.size()))
      counts[2] = 1;
    else
      w.truncate(mark); // authority data is optional (RFC 2181 §9)
    return finish(rcode, true);
  }
  // An answer that does not fit: no records, TC (the client asks again over TCP).
  size_t truncated() {
    w.truncate(q.questionEnd);
    counts[1] = 0;
    flags |= dns::kFlagTC;
    return finish(dns::kNoError, true);
  }
  // The answer records of found, or NODATA when it has none of the type asked.
  size_t positive(const Found& found) {
    if (!detail::writeAnswers(w, found, q.qtype, counts[1])) return truncated();
    if (counts[1] == 0) return negative(dns::kNoError);
    return finish(dns::kNoError, true);
  }
  // Merges an acl's action for the client: ignore > refuse > empty > always-listed (the global
  // acl's value first) > pass.
  void mergeAcl(uint32_t action, std::string_view value, const Dataset& ds) {
    if (action == 0 || action == store::kAclPass) return;
    const int rank = action == store::kAclIgnore   ? 4
                     : action == store::kAclRefuse ? 3
                     : action == store::kAclEmpty  ? 2
                                                   : 1;
    const int current = acl == store::kAclIgnore   ? 4
                        : acl == store::kAclRefuse ? 3
                        : acl == store::kAclEmpty  ? 2
                        : acl == kAclAlways        ? 1
                                                   : 0;
    if (rank > current) {
      acl = action;
      aclValue = value;
      aclDataset = &ds;
    }
  }
};

size_t Responder::answer(std::span<const uint8_t> packet, std::span<uint8_t> out,
                         Transport transport, const Client* client) {
  Ctx c(packet, out, client, d_opt.ednsUdpMax);
  c.nsid = d_opt.nsid;
  size_t n = answerQuery(c, transport);
  if (n && !d_opt.tsigKeys.empty()) {
    // a signed query: the reply signed, within the size the client takes (RFC 8945 §5.3)
    const size_t cap = transport == Transport::Tcp ? out.size() : std::max(c.limit, n);
    n = tsigReply(packet, out.first(std::min(cap, out.size())), n, d_opt.tsigKeys,
                  static_cast<uint64_t>(d_now));
  }
  (c.zone ? d_counters[c.zone->counters] : d_none).count(c, n, transport);
  return n;
}

void Responder::Counters::count(const Ctx& c, size_t reply, Transport transport) {
  bump(in, c.packet.size());
  bump(transport == Transport::Udp ? udp : tcp);
  if (reply < dns::kHeaderSize) {
    bump(dropped);
    if (c.access >= 0) bump(access[static_cast<size_t>(c.access)]);
    return;
  }
  bump(out, reply);
  bump(rcode[c.out[3] & 0xf]);
  if (c.out[2] & (dns::kFlagTC >> 8)) bump(truncated);
  if (c.access >= 0) bump(access[static_cast<size_t>(c.access)]);
  if (c.keyResult >= 0) bump(keys[static_cast<size_t>(c.keyResult)]);
  size_t t = 0;
  while (t < kCountedTypes.size() && kCountedTypes[t] != c.q.qtype)
    ++t;
  bump(qtype[t]);
  if (c.result) bump(c.result == 1 ? listed : unlisted);
}

// The stages: the header and what needs no zone; the zone; its acls; the datasets that answer;
// the apex; the name's forms; the lookups; whether an unlisted name exists (RFC 8020).
size_t Responder::answerQuery(Ctx& c, Transport transport) {
  if (c.client && d_globalAcl) {
    std::string_view v;
    c.mergeAcl(aclAction(d_globalAcl->id, *c.client, v), v, *d_globalAcl);
    if (c.acl == store::kAclIgnore) return 0;
  }
  if (const size_t done = header(c, transport); done != kGoOn) return done;
  if (!findZone(c)) return c.finish(dns::kRefused, true);
  // Data past its $TIMESTAMP expiry is not served: SERVFAIL, as rbldnsd does, until new data.
  if (c.zone->expires != 0 && c.zone->expires <= d_now) return c.finish(dns::kServFail, true);
  if (c.client && c.zone->access) {
    if (const int r = c.zone->access->match(*c.client); r >= 0) {
      const auto& rule = c.zone->access->rules[static_cast<size_t>(r)];
      c.access = static_cast<int>(rule.action);
      switch (rule.action) {
      case AccessAction::Deny:
        return 0;
      case AccessAction::Refuse:
        return c.finish(dns::kRefused, true);
      case AccessAction::Empty:
        c.accessEmpty = true;
        break;
      case AccessAction::Answer:
        c.fixed = &rule;
        break;
      case AccessAction::Allow:
        break;
      }
    }
  }
  if (c.client)
    for (const auto& ds : c.zone->datasets)
      if (ds.kinds & store::kAcl) {
        std::string_view v;
        c.mergeAcl(aclAction(ds.id, *c.client, v), v, ds);
      }
  if (c.acl == store::kAclIgnore) return 0;
  if (c.acl == store::kAclRefuse) return c.finish(dns::kRefused, true);
  c.flags |= dns::kFlagAA;
  c.subEnd = c.zoneOff;
  if (c.zone->keyed && c.labels.count > 0)
    if (const size_t done = keyCheck(c); done != kGoOn) return done;
  selectDatasets(c);
  if (c.labels.count == 0) return apex(c);
  if (c.fixed) return fixedAnswer(c, *c.fixed);
  c.n = c.labels.count - c.sub;
  // A subzone's apex exists (NODATA), with its generic `@` records if any; SOA and NS are the
  // zone's, not the subzone's.
  if (c.n == 0) return c.positive(genericAt(c, {}));
  classify(c);
  Found found;
  lookUp(c, found);
  c.result = found.listed ? 1 : 2;
  for (size_t i = 0; i < found.nHits; ++i)
    if (i == 0 || found.hits[i] != found.hits[i - 1])
      bump(d_datasetCounters[found.hits[i]->counter]);
  if (found.listed || found.nameExists) return c.positive(found);
  if (c.listsHidden) return c.negative(dns::kNxDomain); // nothing exists for this client
  return c.negative(nameExists(c) ? dns::kNoError : dns::kNxDomain);
}

// An access rule's answer for every name below the apex: its A and TXT, whatever is listed (a
// query through a public resolver gets the code that says so, not data).
size_t Responder::fixedAnswer(Ctx& c, const AccessRule& rule) {
  auto& w = c.w;
  const uint16_t qt = c.q.qtype;
  const bool any = qt == dns::kTypeANY;
  auto record = [&](uint16_t type, auto&& rdata) {
    const size_t mark = w.size();
    if (w.pointer(dns::kHeaderSize) && w.u16(type) && w.u16(dns::kClassIN) && w.u32(rule.ttl) &&
        rdata()) {
      ++c.counts[1];
      return true;
    }
    w.truncate(mark);
    return false;
  };
  if (qt == dns::kTypeA || any)
    if (!record(dns::kTypeA, [&] { return w.u16(4) && w.u32(rule.a); })) return c.truncated();
  if ((qt == dns::kTypeTXT || any) && !rule.txt.empty()) {
    const auto& t = rule.txt;
    const size_t strings = (t.size() + 254) / 255;
    if (!record(dns::kTypeTXT, [&] {
          bool ok = w.u16(static_cast<uint16_t>(t.size() + strings));
          for (size_t at = 0; ok && at < t.size(); at += 255) {
            const size_t n = std::min<size_t>(255, t.size() - at);
            ok = w.u8(static_cast<uint8_t>(n)) && w.bytes(t.data() + at, n);
          }
          return ok;
        }))
      return c.truncated();
  }
  if (c.counts[1] == 0) return c.negative(dns::kNoError);
  return c.finish(dns::kNoError, true);
}

// A keyed zone's `<query>.<key>.<zone>`: the key (the label next to the zone) must be one of the
// store's, not revoked and within its quotas; the query then goes on without it. `<key>.<zone>`
// itself exists (NODATA), for resolvers that minimise the names they ask (RFC 9156).
size_t Responder::keyCheck(Ctx& c) {
  const uint8_t off = c.labels.off[c.labels.count - 1];
  const std::string_view label(reinterpret_cast<const char*>(c.lname) + off + 1, c.lname[off]);
  const auto it = d_keys.find(label);
  if (it == d_keys.end() || it->second.revoked) {
    c.keyResult = 1;
    return fixedAnswer(c, c.zone->keyed->unknown);
  }
  const auto& k = it->second;
  if (!KeyQuotas::take(*k.counter, d_now, k.perSecond, k.perDay)) {
    c.keyResult = 2;
    return fixedAnswer(c, c.zone->keyed->overQuota);
  }
  c.keyResult = 0;
  c.subEnd = off;
  if (--c.labels.count == 0) return c.negative(dns::kNoError);
  return kGoOn;
}

// Parses the query and writes the header and question; answers what needs no zone (FORMERR,
// NOTIMP, BADVERS, CH, other classes). kGoOn when a zone is to be found.
size_t Responder::header(Ctx& c, Transport transport) {
  const auto status = dns::parseQuery(c.packet, c.q);
  if (status == dns::ParseStatus::Drop || c.out.size() < 512) return 0;
  const auto& q = c.q;
  c.limit = transport == Transport::Tcp ? 65535 : 512;
  if (transport == Transport::Udp && q.edns)
    c.limit = std::clamp<size_t>(q.ednsUdpSize, 512, std::max<size_t>(512, d_opt.ednsUdpMax));
  c.w.setLimit(c.limit - (q.edns ? kOptSize + (q.nsid ? 4 + c.nsid.size() : 0) : 0));
  c.flags = static_cast<uint16_t>(dns::kFlagQR | (q.flags & dns::kFlagRD));
  c.w.u16(q.id);
  for (int i = 0; i < 5; ++i) // flags and counts: written by finish
    c.w.u16(0);
  if (status == dns::ParseStatus::NotImp) {
    c.flags = static_cast<uint16_t>(c.flags | (q.opcode << 11));
    return c.finish(dns::kNotImp, false);
  }
  if (q.questionEnd != 0) {
    c.w.bytes(c.packet.data() + dns::kHeaderSize, q.questionEnd - dns::kHeaderSize);
    c.counts[0] = 1;
  }
  if (status == dns::ParseStatus::FormErr) return c.finish(dns::kFormErr, true);
  if (q.ednsVersion != 0) {
    c.extRcode = dns::kBadVers; // RFC 6891 §6.1.3
    return c.finish(0, true);
  }
  switch (q.qtype) {
  case dns::kTypeAXFR:
  case dns::kTypeIXFR:
  case dns::kTypeMAILA:
  case dns::kTypeMAILB:
  case dns::kTypeTSIG:
  case dns::kTypeTKEY:
    return c.finish(dns::kNotImp, true);
  default:
    break;
  }
  if (q.qclass == dns::kClassCH) return chaos(c);
  if (q.qclass != dns::kClassIN && q.qclass != dns::kClassANY) return c.finish(dns::kRefused, true);
  return kGoOn;
}

size_t Responder::chaos(Ctx& c) {
  // CH TXT version.bind / version.server: the configured version string; id.server /
  // hostname.bind: the configured identity (RFC 4892 §2 and its common practice).
  static constexpr uint8_t kBind[] = "\7version\4bind";
  static constexpr uint8_t kServer[] = "\7version\6server";
  static constexpr uint8_t kId[] = "\2id\6server";
  static constexpr uint8_t kHostname[] = "\10hostname\4bind";
  const auto& q = c.q;
  uint8_t lname[dns::kMaxName];
  dns::lowerName(q.qname, q.qnameLen, lname);
  auto is = [&](const uint8_t* name, size_t len) {
    return q.qnameLen == len && std::memcmp(lname, name, len) == 0;
  };
  const std::string* text = nullptr;
  if (is(kBind, sizeof kBind) || is(kServer, sizeof kServer)) text = &d_opt.version;
  if (is(kId, sizeof kId) || is(kHostname, sizeof kHostname)) text = &d_opt.identity;
  if (!text || text->empty() || (q.qtype != dns::kTypeTXT && q.qtype != dns::kTypeANY))
    return c.finish(dns::kRefused, true);
  const auto& v = *text;
  const size_t len = std::min<size_t>(v.size(), 255);
  auto& w = c.w;
  const bool ok = w.pointer(dns::kHeaderSize) && w.u16(dns::kTypeTXT) && w.u16(dns::kClassCH) &&
                  w.u32(0) && w.u16(static_cast<uint16_t>(len + 1)) &&
                  w.u8(static_cast<uint8_t>(len)) && w.bytes(v.data(), len);
  if (ok) c.counts[1] = 1;
  return c.finish(dns::kNoError, true);
}

// The longest zone name that is a suffix of the query name; the labels in front of it.
bool Responder::findZone(Ctx& c) {
  const auto& q = c.q;
  dns::lowerName(q.qname, q.qnameLen, c.lname);
  for (size_t off = 0; off < q.qnameLen; off += c.lname[off] + 1U) {
    for (const auto& z : d_zones) {
      if (z.wire.size() == q.qnameLen - off &&
          std::memcmp(z.wire.data(), c.lname + off, z.wire.size()) == 0) {
        c.zone = &z;
        c.zoneOff = off;
        return true;
      }
    }
    if (c.labels.count < kMaxLabels) c.labels.off[c.labels.count++] = static_cast<uint8_t>(off);
    if (c.lname[off] == 0) break;
  }
  return false;
}

// rbldnsd combined datasets answer below subzones: the longest subzone that ends the name
// decides which datasets answer, for the labels in front of it (rbldnsd §5.8). Other datasets
// have one subzone: the zone itself.
void Responder::selectDatasets(Ctx& c) {
  const auto& datasets = c.zone->datasets;
  std::fill_n(c.active.begin(), std::min(datasets.size(), kMaxDatasets), false);
  auto subMatches = [&](const Subzone& s) {
    if (s.labels > c.labels.count) return false;
    const size_t start = s.labels == 0 ? c.subEnd : c.labels.off[c.labels.count - s.labels];
    return c.subEnd - start == s.wire.size() &&
           std::memcmp(c.lname + start, s.wire.data(), s.wire.size()) == 0;
  };
  for (const auto& ds : datasets)
    for (const auto& s : ds.subzones)
      if (s.labels > c.sub && subMatches(s)) c.sub = s.labels;
  for (size_t i = 0; i < datasets.size() && i < kMaxDatasets; ++i)
    for (const auto& s : datasets[i].subzones)
      if (s.labels == c.sub && subMatches(s)) c.active[i] = true;
}

// The generic records (rbldnsd §5.7) of the active datasets at a name (its key; {} = the apex).
Found Responder::genericAt(const Ctx& c, std::string_view key) {
  Found found;
  for (const auto& ds : c.zone->datasets)
    if (c.isActive(ds) && (ds.kinds & store::kGeneric))
      found.addGeneric(d_snap.generic(ds.id, key));
  return found;
}

// The apex: SOA, NS (RFC 1034 §4.3.2) and the generic `@` records.
size_t Responder::apex(Ctx& c) {
  const auto& q = c.q;
  const auto* zone = c.zone;
  const Found records = genericAt(c, {});
  if (q.qtype == dns::kTypeSOA || q.qtype == dns::kTypeANY) {
    bool ok = true;
    detail::putRecordHeader(c.w, c.zoneOwner(), dns::kTypeSOA, zone->soaTtl, ok);
    if (!(ok && c.w.u16(static_cast<uint16_t>(zone->soaRdata.size())) &&
          c.w.bytes(zone->soaRdata.data(), zone->soaRdata.size())))
      return c.truncated();
    ++c.counts[1];
  }
  if (q.qtype == dns::kTypeNS || q.qtype == dns::kTypeANY) {
    for (const auto& ns : zone->nsRdata) {
      bool ok = true;
      detail::putRecordHeader(c.w, c.zoneOwner(), dns::kTypeNS, zone->nsTtl, ok);
      if (!(ok && c.w.u16(static_cast<uint16_t>(ns.size())) && c.w.bytes(ns.data(), ns.size())))
        return c.truncated();
      ++c.counts[1];
    }
  }
  if (q.qtype != dns::kTypeSOA && q.qtype != dns::kTypeNS &&
      !detail::writeAnswers(c.w, records, q.qtype, c.counts[1]))
    return c.truncated();
  if (c.counts[1] == 0) return c.negative(dns::kNoError);
  return c.finish(dns::kNoError, true);
}

// What the name is: an IPv4 address (4 decimal labels), an IPv6 address (32 nibbles), a prefix
// of either (fewer labels), and/or a domain name; the subjects (`$`) of a TXT answer.
void Responder::classify(Ctx& c) {
  const size_t n = c.n;
  c.allDecimal = n <= 4;
  c.allNibbles = n <= 32;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t off = c.labels.off[n - 1 - i]; // from the rightmost label: most significant
    uint32_t octet = 0;
    uint8_t nib = 0;
    if (c.allDecimal && decimalLabel(c.lname, off, octet))
      c.v4 |= octet << (24 - 8 * i);
    else
      c.allDecimal = false;
    if (c.allNibbles && nibbleLabel(c.lname, off, nib))
      c.v6[i / 2] = static_cast<uint8_t>(c.v6[i / 2] | (i % 2 == 0 ? nib << 4 : nib));
    else
      c.allNibbles = false;
  }
  c.isV4 = c.allDecimal && n == 4;
  c.isV6 = c.allNibbles && n == 32;
  domainForm(c);
  // IPv4 inside IPv6 names (rbldnsd §6.4): v4-mapped ::ffff:a.b.c.d and 6to4 2002:aabb:ccdd::/48
  // are also looked up as IPv4. Unlike rbldnsd, the IPv6 data is asked too (its bug #27).
  if (c.isV6) {
    static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(c.v6.data(), kMappedPrefix, 12) == 0) {
      c.v4 = bytes::get32(c.v6.data() + 12);
      c.mapped4 = true;
    } else if (c.v6[0] == 0x20 && c.v6[1] == 0x02) {
      c.v4 = bytes::get32(c.v6.data() + 2);
      c.mapped4 = true;
    }
  }
  // The subject as text is `$` of a TXT record: only written for queries that may get one.
  const bool wantText = c.q.qtype == dns::kTypeTXT || c.q.qtype == dns::kTypeANY;
  if ((c.isV4 || c.mapped4) && wantText) c.ip4Subject = {c.subject4, formatIp4(c.subject4, c.v4)};
  if (c.isV6 && wantText) {
    inet_ntop(AF_INET6, c.v6.data(), c.subject6, sizeof c.subject6);
    c.ip6Subject = c.subject6;
  }
  // The test points hold addresses in 127/8 and the name `test` only (zonegen, RFC 5782 §5):
  // the store is not asked about them for other names.
  c.inLoopback = (c.v4 >> 24) == 127;
  c.testName = c.keyLen == 5 && std::memcmp(c.key, "test", 5) == 0;
}

// The domain form: dotted text of the relative name and its store key — where a dataset holds
// names, or for the test point `test` (an IP-only zone's queries skip it).
void Responder::domainForm(Ctx& c) {
  const size_t n = c.n;
  const uint8_t* first = c.lname + c.labels.off[0];
  c.domainOk = c.zone->names || (n == 1 && first[0] == 4 && std::memcmp(first + 1, "test", 4) == 0);
  for (size_t i = 0; i < n && c.domainOk; ++i) {
    const uint8_t off = c.labels.off[i];
    const uint8_t len = c.lname[off];
    const uint8_t* p = c.lname + off + 1;
    for (uint8_t j = 0; j < len; ++j)
      if (p[j] == '.' || p[j] == 0) c.domainOk = false;
    if (i) c.dotted[c.dottedLen++] = '.';
    c.dottedStart[i] = c.dottedLen;
    std::memcpy(c.dotted + c.dottedLen, p, len);
    c.dottedLen += len;
  }
  if (!c.domainOk) return;
  for (size_t i = n; i-- > 0;) {
    const uint8_t off = c.labels.off[i];
    std::memcpy(c.key + c.keyLen, c.lname + off + 1, c.lname[off]);
    c.keyLen += c.lname[off];
    c.key[c.keyLen++] = '\0';
    c.keyEnd[i] = c.keyLen;
  }
}

// What the active datasets list at the name: the data first, its generic records, then the RFC
// 5782 test points where the data has nothing of its own. acl :empty — the lists look empty to
// this client; always-listed — its value instead of the lists, for every name that is a key of
// the zone's IP or domain lists (rbldnsd §5.9).
void Responder::lookUp(Ctx& c, Found& found) {
  c.listsHidden = c.acl == store::kAclEmpty || c.acl == kAclAlways || c.accessEmpty;
  if (c.acl == kAclAlways) alwaysListed(c, found);
  if (!c.listsHidden)
    for (const auto& ds : c.zone->datasets)
      if (c.isActive(ds) && !(ds.kinds & store::kTestPoints)) lookUpIn(c, ds, found);
  if (c.domainOk)
    for (const auto& ds : c.zone->datasets)
      if (c.isActive(ds) && (ds.kinds & store::kGeneric))
        found.addGeneric(d_snap.generic(ds.id, {c.key, c.keyLen}));
  if (!c.listsHidden && !found.listed && !found.nameExists)
    for (const auto& ds : c.zone->datasets)
      if (c.isActive(ds) && (ds.kinds & store::kTestPoints)) lookUpIn(c, ds, found);
}

// An always-listed client (acl with a value): that value, with the client's address as `$`.
void Responder::alwaysListed(Ctx& c, Found& found) {
  bool isKey = false;
  for (const auto& ds : c.zone->datasets)
    if (c.isActive(ds) && !(ds.kinds & store::kTestPoints))
      isKey = isKey || ((c.isV4 || c.isV6) && (ds.kinds & (store::kIp4 | store::kIp6))) ||
              (c.domainOk && (ds.kinds & store::kDomain));
  if (c.client->v6) {
    inet_ntop(AF_INET6, c.client->addr6.data(), c.who, sizeof c.who);
  } else {
    in_addr a{htonl(c.client->v4)};
    inet_ntop(AF_INET, &a, c.who, sizeof c.who);
  }
  if (isKey) found.add(c.aclValue, std::string_view(c.who), *c.aclDataset, d_now);
}

// One dataset's answer for the name, as an address and as a domain.
void Responder::lookUpIn(Ctx& c, const Dataset& ds, Found& found) {
  const bool tp = ds.kinds & store::kTestPoints;
  if ((c.isV4 || c.mapped4) && (ds.kinds & store::kIp4) && (!tp || c.inLoopback)) {
    if (auto iv = d_snap.ip4(ds.id, c.v4))
      found.add(d_snap.valueSet(iv->valueSet), c.ip4Subject, ds, d_now);
  }
  if (c.isV6 && (ds.kinds & store::kIp6) && !tp) {
    if (auto iv = d_snap.ip6(ds.id, c.v6))
      found.add(d_snap.valueSet(iv->valueSet), c.ip6Subject, ds, d_now);
  }
  if (c.domainOk && (ds.kinds & store::kDomain) && (!tp || c.testName)) lookUpName(c, ds, found);
}

// rbldnsd dnset: an exact entry decides; otherwise the closest `*.name` entry above does. The
// RFC 8020 check needs to know whether names exist under this one: asked in the same seek.
void Responder::lookUpName(Ctx& c, const Dataset& ds, Found& found) {
  bool below = false;
  const auto exact = d_snap.domainAndBelow(ds.id, {c.key, c.keyLen}, below);
  const size_t di = c.index(ds);
  c.belowKnown.set(di);
  // A `*.name` entry lists the names below this one: it is an empty non-terminal at least (RFC
  // 8020; RFC 4592 §2.2.2), even with no other key below it.
  if (below || (exact && liveSet(exact->wild))) c.belowFound.set(di);
  uint32_t set = store::kNoValue;
  size_t matchLabel = 0;
  if (exact && exact->exact != store::kNoValue) {
    set = exact->exact;
  } else {
    for (size_t i = 1; i < c.n; ++i) {
      const auto e = ancestor(ds.id, {c.key, c.keyEnd[i]});
      if (e && e->wild != store::kNoValue) {
        set = e->wild;
        matchLabel = i;
        break;
      }
    }
  }
  if (set != store::kNoValue && set != store::kExcluded)
    found.add(d_snap.valueSet(set),
              {c.dotted + c.dottedStart[matchLabel], c.dottedLen - c.dottedStart[matchLabel]}, ds,
              d_now);
}

// Whether a value set answers now: not "none", not an exclusion, not every value expired.
bool Responder::liveSet(uint32_t set) {
  if (set == store::kNoValue || set == store::kExcluded) return false;
  store::ValueSetReader r(d_snap.valueSet(set));
  for (store::ValueView v; r.next(v);)
    if (v.expires == 0 || v.expires > d_now) return true;
  return false;
}

// An unlisted name exists when something is listed below it (RFC 8020): a prefix of a listed
// address, a parent of a listed name, a name with a `*.name` entry, a generic record's parent.
bool Responder::nameExists(Ctx& c) {
  const bool allDecimal = c.allDecimal, allNibbles = c.allNibbles;
  const size_t n = c.n;
  for (const auto& ds : c.zone->datasets) {
    if (!c.isActive(ds)) continue;
    const bool tp = ds.kinds & store::kTestPoints;
    if (allDecimal && n < 4 && (ds.kinds & store::kIp4) && (!tp || n == 0 || c.inLoopback)) {
      const uint32_t size = 32 - 8 * static_cast<uint32_t>(n);
      if (d_snap.ip4Any(ds.id, c.v4, c.v4 | ((uint32_t{1} << size) - 1))) return true;
    }
    if (allNibbles && n < 32 && (ds.kinds & store::kIp6) && !tp) {
      store::Ip6 hi = c.v6;
      for (size_t i = n; i < 32; ++i)
        hi[i / 2] = static_cast<uint8_t>(hi[i / 2] | (i % 2 == 0 ? 0xf0 : 0x0f));
      if (d_snap.ip6Any(ds.id, c.v6, hi)) return true;
    }
    if (c.domainOk && (ds.kinds & store::kDomain) && (!tp || c.keyLen == 0)) {
      const size_t di = c.index(ds);
      if (c.belowKnown.test(di) ? c.belowFound.test(di)
                                : d_snap.domainBelow(ds.id, {c.key, c.keyLen}))
        return true;
    }
    if (c.domainOk && (ds.kinds & store::kGeneric) && d_snap.genericBelow(ds.id, {c.key, c.keyLen}))
      return true;
  }
  return false;
}

} // namespace dnsxl::answer
