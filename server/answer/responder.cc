#include "server/answer/responder.hh"

#include "dns/byte_order.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <bitset>
#include <cstring>

namespace dnsxl::answer {

namespace {

using dns::Writer;

constexpr size_t kMaxRecords = 64; // A or TXT records merged into one answer
constexpr size_t kMaxTxt = 4000;   // bytes of one expanded TXT record
constexpr size_t kMaxLabels = 128;
constexpr size_t kOptSize = 11;
constexpr uint32_t kAclAlways = 1; // an acl entry with a value: the client is always listed
static_assert(store::kAclIgnore > kAclAlways);
constexpr size_t kMaxDatasets = 256; // datasets of one zone that can answer a query

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

// A dataset's subzones in lower-case wire form (no root label); none = the zone itself.
std::vector<Responder::Subzone> subzonesOf(const std::vector<std::string>& names) {
  std::vector<Responder::Subzone> out;
  for (const auto& n : names) {
    Responder::Subzone s;
    if (!n.empty()) {
      if (!dns::encodeName(n, s.wire)) continue;
      s.wire.pop_back(); // the root label
      dns::lowerName(reinterpret_cast<const uint8_t*>(s.wire.data()), s.wire.size(),
                     reinterpret_cast<uint8_t*>(s.wire.data()));
      for (size_t pos = 0; pos < s.wire.size(); pos += static_cast<uint8_t>(s.wire[pos]) + 1U)
        ++s.labels;
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) out.push_back({});
  return out;
}

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

// The arrays here and in answerQuery are left uninitialised on purpose: only their first n
// entries are ever read, and zeroing them cost ~700 instructions per query (callgrind).
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
      listed = true;
      ttl = std::min(ttl, ds.ttl);
    }
  }
};

size_t expand(const TxtItem& t, char* out, size_t cap) {
  return store::expandTemplate(t.tmpl, t.subject, t.ds->vars, out, cap);
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

void putRecordHeader(Writer& w, size_t ownerOffset, uint16_t type, uint32_t ttl, bool& ok) {
  ok = ok && w.pointer(ownerOffset) && w.u16(type) && w.u16(dns::kClassIN) && w.u32(ttl);
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

// Writes the answer records of found for qtype: A, TXT and MX RRsets, each with one TTL (the
// smallest of its records, RFC 2181 §5.2) and no duplicates. False when they do not fit.
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

} // namespace

template <typename Finish>
size_t Responder::chaos(const dns::Query& q, dns::Writer& w, uint16_t* counts, Finish& finish) {
  // CH TXT version.bind / version.server (RFC 4892 §2 practice): the configured version string.
  static constexpr uint8_t kBind[] = "\7version\4bind";
  static constexpr uint8_t kServer[] = "\7version\6server";
  uint8_t lname[dns::kMaxName];
  dns::lowerName(q.qname, q.qnameLen, lname);
  auto is = [&](const uint8_t* name, size_t len) {
    return q.qnameLen == len && std::memcmp(lname, name, len) == 0;
  };
  bool versionName = is(kBind, sizeof kBind) || is(kServer, sizeof kServer);
  if (!versionName || d_opt.version.empty() ||
      (q.qtype != dns::kTypeTXT && q.qtype != dns::kTypeANY))
    return finish(dns::kRefused, true);
  const auto& v = d_opt.version;
  size_t len = std::min<size_t>(v.size(), 255);
  bool ok = w.pointer(dns::kHeaderSize) && w.u16(dns::kTypeTXT) && w.u16(dns::kClassCH) &&
            w.u32(0) && w.u16(static_cast<uint16_t>(len + 1)) && w.u8(static_cast<uint8_t>(len)) &&
            w.bytes(v.data(), len);
  if (ok) counts[1] = 1;
  return finish(dns::kNoError, true);
}

Responder::Responder(store::Env& env, Options options) : d_env(env), d_snap(env), d_opt(options) {
  d_snap.reset();
}

void Responder::begin() {
  d_now = static_cast<int64_t>(std::time(nullptr));
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

void Responder::refreshZones() {
  // A new generation (an import, a live change): the pages of the old ones leave this
  // process's RSS (store::Env::releaseResidentPages); the first load has nothing to release.
  if (d_generation != kNoGeneration && d_env.readOnly())
    d_env.releaseResidentPages(d_snap.generation());
  d_generation = d_snap.generation();
  d_zones.clear();
  d_globalAcl.reset();
  for (const auto& z : d_snap.zones()) {
    if (z.name.empty()) { // the global acl's pseudo zone
      for (const auto& d : z.datasets)
        if (d.kinds & store::kAcl) d_globalAcl = Dataset{d.id, d.kinds, d.ttl, d.vars, {}};
      continue;
    }
    Zone c;
    if (!dns::encodeName(z.name, c.wire)) continue;
    dns::lowerName(reinterpret_cast<const uint8_t*>(c.wire.data()), c.wire.size(),
                   reinterpret_cast<uint8_t*>(c.wire.data()));
    std::string rd;
    dns::encodeName(z.soa.mname, rd);
    dns::encodeName(z.soa.rname, rd);
    for (uint32_t v : {z.soa.serial, z.soa.refresh, z.soa.retry, z.soa.expire, z.soa.minimum})
      for (int s = 24; s >= 0; s -= 8)
        rd.push_back(static_cast<char>(v >> s));
    c.soaRdata = rd;
    c.soaTtl = z.soa.ttl;
    c.negTtl = std::min(z.soa.ttl, z.soa.minimum); // RFC 2308 §3
    for (uint32_t v : {uint32_t{dns::kTypeSOA} << 16 | dns::kClassIN, c.negTtl})
      for (int s = 24; s >= 0; s -= 8)
        c.negSoa.push_back(static_cast<char>(v >> s));
    c.negSoa.push_back(static_cast<char>(rd.size() >> 8));
    c.negSoa.push_back(static_cast<char>(rd.size()));
    c.negSoa += rd;
    for (const auto& ns : z.ns) {
      std::string n;
      if (dns::encodeName(ns, n)) c.nsRdata.push_back(n);
    }
    c.nsTtl = z.nsTtl;
    for (const auto& d : z.datasets)
      c.datasets.push_back({d.id, d.kinds, d.ttl, d.vars, subzonesOf(d.subzones)});
    {
      std::lock_guard lock(d_countersMutex);
      auto [slot, added] = d_counterIndex.try_emplace(z.name, d_counters.size());
      if (added) d_counters.emplace_back();
      c.counters = slot->second;
    }
    c.expires = 0;
    c.names = false;
    for (const auto& d : z.datasets) {
      if (d.expires != 0 && (c.expires == 0 || d.expires < c.expires)) c.expires = d.expires;
      if (!(d.kinds & store::kTestPoints) && (d.kinds & (store::kDomain | store::kGeneric)))
        c.names = true;
    }
    d_zones.push_back(std::move(c));
  }
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

void Responder::Counters::count(size_t query, size_t reply, uint8_t rcode) {
  // One writer (the worker owning this responder), readers elsewhere (stats): a plain load and
  // store, not a locked read-modify-write — eight of those per answer showed in perf.
  auto add = [](std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  };
  add(tot, 1);
  add(in, query);
  add(out, reply);
  add(reply == 0 ? err : rcode == dns::kNoError ? ok : rcode == dns::kNxDomain ? nxd : err, 1);
}

void Responder::addStats(std::map<std::string, ZoneStats>& into) const {
  auto add = [](ZoneStats& s, const Counters& c) {
    s += ZoneStats{c.tot.load(std::memory_order_relaxed), c.ok.load(std::memory_order_relaxed),
                   c.nxd.load(std::memory_order_relaxed), c.err.load(std::memory_order_relaxed),
                   c.in.load(std::memory_order_relaxed),  c.out.load(std::memory_order_relaxed)};
  };
  std::lock_guard lock(d_countersMutex);
  for (const auto& [name, index] : d_counterIndex)
    add(into[name], d_counters[index]);
  add(into["*"], d_all);
}

size_t Responder::answer(std::span<const uint8_t> packet, std::span<uint8_t> out,
                         Transport transport, const Client* client) {
  const Zone* zone = nullptr;
  size_t n = answerQuery(packet, out, transport, client, zone);
  uint8_t rcode = n >= dns::kHeaderSize ? static_cast<uint8_t>(out[3] & 0xf) : 0;
  if (zone) d_counters[zone->counters].count(packet.size(), n, rcode);
  d_all.count(packet.size(), n, rcode);
  return n;
}

size_t Responder::answerQuery(std::span<const uint8_t> packet, std::span<uint8_t> out,
                              Transport transport, const Client* client, const Zone*& zoneFound) {
  // rbldnsd acls: the global one is consulted first; per zone below. The strongest action wins:
  // ignore > refuse > empty > always-listed (the global value first) > pass.
  uint32_t acl = 0;
  std::string_view aclValue;
  const Dataset* aclDataset = nullptr;
  auto mergeAcl = [&](uint32_t action, std::string_view value, const Dataset& ds) {
    if (action == 0 || action == store::kAclPass) return;
    int rank = action == store::kAclIgnore   ? 4
               : action == store::kAclRefuse ? 3
               : action == store::kAclEmpty  ? 2
                                             : 1;
    int current = acl == store::kAclIgnore   ? 4
                  : acl == store::kAclRefuse ? 3
                  : acl == store::kAclEmpty  ? 2
                  : acl == kAclAlways        ? 1
                                             : 0;
    if (rank > current) {
      acl = action;
      aclValue = value;
      aclDataset = &ds;
    }
  };
  if (client && d_globalAcl) {
    std::string_view v;
    mergeAcl(aclAction(d_globalAcl->id, *client, v), v, *d_globalAcl);
    if (acl == store::kAclIgnore) return 0;
  }

  dns::Query q;
  auto status = dns::parseQuery(packet, q);
  if (status == dns::ParseStatus::Drop || out.size() < 512) return 0;

  Writer w(out.data(), out.size());
  size_t limit = transport == Transport::Tcp ? 65535 : 512;
  if (transport == Transport::Udp && q.edns)
    limit = std::clamp<size_t>(q.ednsUdpSize, 512, std::max<size_t>(512, d_opt.ednsUdpMax));
  w.setLimit(limit - (q.edns ? kOptSize : 0));

  uint16_t flags = static_cast<uint16_t>(dns::kFlagQR | (q.flags & dns::kFlagRD));
  uint16_t counts[4] = {0, 0, 0, 0};
  uint16_t extRcode = 0;
  w.u16(q.id);
  w.u16(0);
  for (int i = 0; i < 4; ++i)
    w.u16(0);

  auto finish = [&](uint8_t rcode, bool withOpt) {
    w.setLimit(limit);
    if (withOpt && q.edns) {
      // RFC 6891 §6.1.1: root owner, our payload size in CLASS, ext-rcode/version/flags in TTL.
      w.u8(0);
      w.u16(dns::kTypeOPT);
      w.u16(d_opt.ednsUdpMax);
      w.u32(uint32_t{static_cast<uint8_t>(extRcode >> 4)} << 24);
      w.u16(0);
      ++counts[3];
    }
    w.put16At(2, static_cast<uint16_t>(flags | rcode));
    for (int i = 0; i < 4; ++i)
      w.put16At(4 + 2 * static_cast<size_t>(i), counts[i]);
    return w.size();
  };

  if (status == dns::ParseStatus::NotImp) {
    flags = static_cast<uint16_t>(flags | (q.opcode << 11));
    return finish(dns::kNotImp, false);
  }
  if (q.questionEnd != 0) {
    w.bytes(packet.data() + dns::kHeaderSize, q.questionEnd - dns::kHeaderSize);
    counts[0] = 1;
  }
  if (status == dns::ParseStatus::FormErr) return finish(dns::kFormErr, true);
  if (q.ednsVersion != 0) {
    extRcode = dns::kBadVers; // RFC 6891 §6.1.3
    return finish(0, true);
  }
  switch (q.qtype) {
  case dns::kTypeAXFR:
  case dns::kTypeIXFR:
  case dns::kTypeMAILA:
  case dns::kTypeMAILB:
  case dns::kTypeTSIG:
  case dns::kTypeTKEY:
    return finish(dns::kNotImp, true);
  default:
    break;
  }
  if (q.qclass == dns::kClassCH) return chaos(q, w, counts, finish);
  if (q.qclass != dns::kClassIN && q.qclass != dns::kClassANY) return finish(dns::kRefused, true);

  // Find the zone: the longest zone name that is a suffix of the query name.
  uint8_t lname[dns::kMaxName];
  dns::lowerName(q.qname, q.qnameLen, lname);
  Labels labels;
  const Zone* zone = nullptr;
  size_t zoneOff = 0;
  for (size_t off = 0; off < q.qnameLen && !zone; off += lname[off] + 1U) {
    for (const auto& z : d_zones) {
      if (z.wire.size() == q.qnameLen - off &&
          std::memcmp(z.wire.data(), lname + off, z.wire.size()) == 0) {
        zone = &z;
        zoneOff = off;
        break;
      }
    }
    if (!zone && labels.count < kMaxLabels) labels.off[labels.count++] = static_cast<uint8_t>(off);
    if (lname[off] == 0) break;
  }
  if (!zone) return finish(dns::kRefused, true);
  zoneFound = zone;
  // Data past its $TIMESTAMP expiry is not served: SERVFAIL, as rbldnsd does, until new data.
  if (zone->expires != 0 && zone->expires <= d_now) return finish(dns::kServFail, true);
  if (client)
    for (const auto& ds : zone->datasets)
      if (ds.kinds & store::kAcl) {
        std::string_view v;
        mergeAcl(aclAction(ds.id, *client, v), v, ds);
      }
  if (acl == store::kAclIgnore) return 0;
  if (acl == store::kAclRefuse) return finish(dns::kRefused, true);
  flags |= dns::kFlagAA;
  const size_t zoneOwner = dns::kHeaderSize + zoneOff;

  auto soaRecord = [&](uint32_t ttl) {
    bool ok = true;
    putRecordHeader(w, zoneOwner, dns::kTypeSOA, ttl, ok);
    return ok && w.u16(static_cast<uint16_t>(zone->soaRdata.size())) &&
           w.bytes(zone->soaRdata.data(), zone->soaRdata.size());
  };
  auto negative = [&](uint8_t rcode) {
    size_t mark = w.size();
    if (w.pointer(zoneOwner) && w.bytes(zone->negSoa.data(), zone->negSoa.size()))
      counts[2] = 1;
    else
      w.truncate(mark); // authority data is optional (RFC 2181 §9)
    return finish(rcode, true);
  };
  auto truncated = [&]() {
    w.truncate(q.questionEnd);
    counts[1] = 0;
    flags |= dns::kFlagTC;
    return finish(dns::kNoError, true);
  };

  // rbldnsd combined datasets answer below subzones: the longest subzone that ends the name
  // decides which datasets answer, for the labels in front of it (rbldnsd §5.8). Other
  // datasets have one subzone: the zone itself.
  std::array<bool, kMaxDatasets> active;
  std::fill_n(active.begin(), std::min(zone->datasets.size(), kMaxDatasets), false);
  size_t sub = 0;
  auto subMatches = [&](const Subzone& s) {
    if (s.labels > labels.count) return false;
    size_t start = s.labels == 0 ? zoneOff : labels.off[labels.count - s.labels];
    return zoneOff - start == s.wire.size() &&
           std::memcmp(lname + start, s.wire.data(), s.wire.size()) == 0;
  };
  for (const auto& ds : zone->datasets)
    for (const auto& s : ds.subzones)
      if (s.labels > sub && subMatches(s)) sub = s.labels;
  for (size_t i = 0; i < zone->datasets.size() && i < kMaxDatasets; ++i)
    for (const auto& s : zone->datasets[i].subzones)
      if (s.labels == sub && subMatches(s)) active[i] = true;

  // The apex: SOA, NS (RFC 1034 §4.3.2).
  if (labels.count == 0) {
    bool wantSoa = q.qtype == dns::kTypeSOA || q.qtype == dns::kTypeANY;
    bool wantNs = q.qtype == dns::kTypeNS || q.qtype == dns::kTypeANY;
    Found apex; // generic `@` records: A, TXT, MX at the apex
    for (const auto& ds : zone->datasets)
      if (active[static_cast<size_t>(&ds - zone->datasets.data())])
        if (ds.kinds & store::kGeneric) apex.addGeneric(d_snap.generic(ds.id, {}));
    if (wantSoa) {
      if (!soaRecord(zone->soaTtl)) return truncated();
      ++counts[1];
    }
    if (wantNs) {
      for (const auto& ns : zone->nsRdata) {
        bool ok = true;
        putRecordHeader(w, zoneOwner, dns::kTypeNS, zone->nsTtl, ok);
        if (!(ok && w.u16(static_cast<uint16_t>(ns.size())) && w.bytes(ns.data(), ns.size())))
          return truncated();
        ++counts[1];
      }
    }
    if (q.qtype != dns::kTypeSOA && q.qtype != dns::kTypeNS &&
        !writeAnswers(w, apex, q.qtype, counts[1]))
      return truncated();
    if (counts[1] == 0) return negative(dns::kNoError);
    return finish(dns::kNoError, true);
  }

  // What the name is: an IPv4 address (4 decimal labels), an IPv6 address (32 nibbles), a
  // prefix of either (fewer labels), and/or a domain name.
  const size_t n = labels.count - sub;
  if (n == 0) {
    // A subzone's apex exists (NODATA), with its generic `@` records if any; SOA and NS are the
    // zone's, not the subzone's.
    Found subApex;
    for (const auto& ds : zone->datasets)
      if (active[static_cast<size_t>(&ds - zone->datasets.data())] && (ds.kinds & store::kGeneric))
        subApex.addGeneric(d_snap.generic(ds.id, {}));
    if (!writeAnswers(w, subApex, q.qtype, counts[1])) return truncated();
    if (counts[1] == 0) return negative(dns::kNoError);
    return finish(dns::kNoError, true);
  }
  bool allDecimal = n <= 4, allNibbles = n <= 32;
  uint32_t v4 = 0;
  store::Ip6 v6{};
  for (size_t i = 0; i < n; ++i) {
    uint8_t off = labels.off[n - 1 - i]; // from the rightmost label: most significant first
    uint32_t octet = 0;
    uint8_t nib = 0;
    if (allDecimal && decimalLabel(lname, off, octet))
      v4 |= octet << (24 - 8 * i);
    else
      allDecimal = false;
    if (allNibbles && nibbleLabel(lname, off, nib))
      v6[i / 2] = static_cast<uint8_t>(v6[i / 2] | (i % 2 == 0 ? nib << 4 : nib));
    else
      allNibbles = false;
  }
  const bool isV4 = allDecimal && n == 4, isV6 = allNibbles && n == 32;

  // The domain form: dotted text of the relative name and its store key — where a dataset holds
  // names, or for the test point `test` (an IP-only zone's queries skip it).
  char dotted[dns::kMaxName];
  size_t dottedLen = 0;
  std::array<size_t, kMaxLabels> dottedStart;
  char key[dns::kMaxName];
  size_t keyLen = 0;
  std::array<size_t, kMaxLabels> keyEnd; // key length covering labels i..n-1
  bool domainOk = zone->names || (n == 1 && lname[labels.off[0]] == 4 &&
                                  std::memcmp(lname + labels.off[0] + 1, "test", 4) == 0);
  for (size_t i = 0; i < n && domainOk; ++i) {
    uint8_t off = labels.off[i];
    uint8_t len = lname[off];
    const uint8_t* p = lname + off + 1;
    for (uint8_t j = 0; j < len; ++j)
      if (p[j] == '.' || p[j] == 0) domainOk = false;
    if (i) dotted[dottedLen++] = '.';
    dottedStart[i] = dottedLen;
    std::memcpy(dotted + dottedLen, p, len);
    dottedLen += len;
  }
  if (domainOk) {
    for (size_t i = n; i-- > 0;) {
      uint8_t off = labels.off[i];
      std::memcpy(key + keyLen, lname + off + 1, lname[off]);
      keyLen += lname[off];
      key[keyLen++] = '\0';
      keyEnd[i] = keyLen;
    }
  }

  // IPv4 inside IPv6 names (rbldnsd §6.4): v4-mapped ::ffff:a.b.c.d and 6to4 2002:aabb:ccdd::/48
  // are also looked up as IPv4. Unlike rbldnsd, the IPv6 data is asked too (its bug #27).
  bool mapped4 = false;
  if (isV6) {
    static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6.data(), kMappedPrefix, 12) == 0) {
      v4 = bytes::get32(v6.data() + 12);
      mapped4 = true;
    } else if (v6[0] == 0x20 && v6[1] == 0x02) {
      v4 = bytes::get32(v6.data() + 2);
      mapped4 = true;
    }
  }
  // The subject as text is `$` of a TXT record: only written for queries that may get one.
  const bool wantText = q.qtype == dns::kTypeTXT || q.qtype == dns::kTypeANY;
  char subject4[INET_ADDRSTRLEN], subject6[INET6_ADDRSTRLEN];
  std::string_view ip4Subject, ip6Subject;
  if ((isV4 || mapped4) && wantText) ip4Subject = {subject4, formatIp4(subject4, v4)};
  if (isV6 && wantText) {
    inet_ntop(AF_INET6, v6.data(), subject6, sizeof subject6);
    ip6Subject = subject6;
  }

  Found found;
  // Whether a value set answers now: not "none", not an exclusion, not every value expired.
  auto liveSet = [&](uint32_t set) {
    if (set == store::kNoValue || set == store::kExcluded) return false;
    store::ValueSetReader r(d_snap.valueSet(set));
    for (store::ValueView v; r.next(v);)
      if (v.expires == 0 || v.expires > d_now) return true;
    return false;
  };
  // acl :empty — the lists look empty to this client; always-listed — its value instead of the
  // lists, for every name that is a key of the zone's IP or domain lists (rbldnsd §5.9).
  const bool listsHidden = acl == store::kAclEmpty || acl == kAclAlways;
  char who[INET6_ADDRSTRLEN]; // the client's address: `$` of an always-listed answer
  if (acl == kAclAlways) {
    bool isKey = false;
    for (const auto& ds : zone->datasets)
      if (active[static_cast<size_t>(&ds - zone->datasets.data())] &&
          !(ds.kinds & store::kTestPoints))
        isKey = isKey || ((isV4 || isV6) && (ds.kinds & (store::kIp4 | store::kIp6))) ||
                (domainOk && (ds.kinds & store::kDomain));
    if (client->v6) {
      inet_ntop(AF_INET6, client->addr6.data(), who, sizeof who);
    } else {
      in_addr a{htonl(client->v4)};
      inet_ntop(AF_INET, &a, who, sizeof who);
    }
    if (isKey) found.add(aclValue, std::string_view(who), *aclDataset, d_now);
  }
  // The test points hold addresses in 127/8 and the name `test` only (zonegen, RFC 5782 §5): the
  // store is not asked about them for other names.
  const bool inLoopback = (v4 >> 24) == 127;
  const bool testName = keyLen == 5 && std::memcmp(key, "test", 5) == 0;
  std::bitset<kMaxDatasets> belowKnown, belowFound; // per dataset: names below this one
  auto lookUp = [&](const Dataset& ds) {
    const bool tp = ds.kinds & store::kTestPoints;
    if ((isV4 || mapped4) && (ds.kinds & store::kIp4) && (!tp || inLoopback)) {
      if (auto iv = d_snap.ip4(ds.id, v4))
        found.add(d_snap.valueSet(iv->valueSet), ip4Subject, ds, d_now);
    }
    if (isV6 && (ds.kinds & store::kIp6) && !tp) {
      if (auto iv = d_snap.ip6(ds.id, v6))
        found.add(d_snap.valueSet(iv->valueSet), ip6Subject, ds, d_now);
    }
    if (domainOk && (ds.kinds & store::kDomain) && (!tp || testName)) {
      // rbldnsd dnset: an exact entry decides; otherwise the closest "below" entry does.
      // the RFC 8020 check below needs to know whether names exist under this one: asked in
      // the same seek
      bool below = false;
      auto exact = d_snap.domainAndBelow(ds.id, {key, keyLen}, below);
      const size_t di = static_cast<size_t>(&ds - zone->datasets.data());
      belowKnown.set(di);
      // A `*.name` entry lists the names below this one: it is an empty non-terminal at least
      // (RFC 8020; RFC 4592 §2.2.2), even with no other key below it.
      if (below || (exact && liveSet(exact->wild))) belowFound.set(di);
      uint32_t set = store::kNoValue;
      size_t matchLabel = 0;
      if (exact && exact->exact != store::kNoValue) {
        set = exact->exact;
      } else {
        for (size_t i = 1; i < n; ++i) {
          auto e = ancestor(ds.id, {key, keyEnd[i]});
          if (e && e->wild != store::kNoValue) {
            set = e->wild;
            matchLabel = i;
            break;
          }
        }
      }
      if (set != store::kNoValue && set != store::kExcluded)
        found.add(d_snap.valueSet(set),
                  {dotted + dottedStart[matchLabel], dottedLen - dottedStart[matchLabel]}, ds,
                  d_now);
    }
  };
  auto isActive = [&](const Dataset& ds) {
    return active[static_cast<size_t>(&ds - zone->datasets.data())];
  };
  if (!listsHidden)
    for (const auto& ds : zone->datasets)
      if (isActive(ds) && !(ds.kinds & store::kTestPoints)) lookUp(ds);
  if (domainOk)
    for (const auto& ds : zone->datasets)
      if (isActive(ds) && (ds.kinds & store::kGeneric))
        found.addGeneric(d_snap.generic(ds.id, {key, keyLen}));
  // The RFC 5782 test points fill in only where the data has nothing of its own at the name.
  if (!listsHidden && !found.listed && !found.nameExists)
    for (const auto& ds : zone->datasets)
      if (isActive(ds) && (ds.kinds & store::kTestPoints)) lookUp(ds);

  if (!found.listed && !found.nameExists) {
    if (listsHidden) return negative(dns::kNxDomain); // nothing exists for this client
    // Empty non-terminals exist (RFC 8020): a prefix of a listed address or a parent of a name.
    bool exists = false;
    for (const auto& ds : zone->datasets)
      if (active[static_cast<size_t>(&ds - zone->datasets.data())]) {
        if (exists) break;
        const bool tp = ds.kinds & store::kTestPoints;
        if (allDecimal && n < 4 && (ds.kinds & store::kIp4) && (!tp || n == 0 || inLoopback)) {
          uint32_t size = 32 - 8 * static_cast<uint32_t>(n);
          exists = d_snap.ip4Any(ds.id, v4, v4 | ((uint32_t{1} << size) - 1));
        }
        if (!exists && allNibbles && n < 32 && (ds.kinds & store::kIp6) && !tp) {
          store::Ip6 hi = v6;
          for (size_t i = n; i < 32; ++i)
            hi[i / 2] = static_cast<uint8_t>(hi[i / 2] | (i % 2 == 0 ? 0xf0 : 0x0f));
          exists = d_snap.ip6Any(ds.id, v6, hi);
        }
        if (!exists && domainOk && (ds.kinds & store::kDomain) && (!tp || keyLen == 0)) {
          const size_t di = static_cast<size_t>(&ds - zone->datasets.data());
          exists =
              belowKnown.test(di) ? belowFound.test(di) : d_snap.domainBelow(ds.id, {key, keyLen});
        }
        if (!exists && domainOk && (ds.kinds & store::kGeneric))
          exists = d_snap.genericBelow(ds.id, {key, keyLen});
      }
    return negative(exists ? dns::kNoError : dns::kNxDomain);
  }

  if (!writeAnswers(w, found, q.qtype, counts[1])) return truncated();
  if (counts[1] == 0) return negative(dns::kNoError); // listed, but no data of this type
  return finish(dns::kNoError, true);
}

} // namespace dnsxl::answer
