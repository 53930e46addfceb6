// The zones' metadata as the responder keeps it per store generation: decoded once from the
// store's zone records (SOA, NS, the datasets and their subzones), with the counters each zone
// and dataset keeps across generations and the access table the options give it.
#include "server/answer/responder.hh"

#include "dns/wire.hh"

#include <algorithm>

namespace dnsxl::answer {

namespace {

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

} // namespace

void Responder::refreshZones() {
  // A new generation (an import, a live change): the pages of the old ones leave this
  // process's RSS (store::Env::releaseResidentPages); the first load has nothing to release.
  if (d_generation != kNoGeneration && d_env->readOnly())
    d_env->releaseResidentPages(d_snap.generation());
  d_generation = d_snap.generation();
  d_zones.clear();
  d_globalAcl.reset();
  for (const auto& z : d_snap.zones()) {
    if (z.name.empty()) { // the global acl's pseudo zone
      for (const auto& d : z.datasets)
        if (d.kinds & store::kAcl) d_globalAcl = Dataset{d.id, d.kinds, d.ttl, d.vars, {}, 0};
      continue;
    }
    if (!serves(d_opt.zones, z.name)) continue; // in the store, not in the config
    Zone c;
    if (!dns::encodeName(z.name, c.wire)) continue;
    for (const auto& a : d_opt.access)
      if (a.zone == z.name && !a.table.empty()) c.access = &a.table;
    for (const auto& k : d_opt.keyed)
      if (k.zone == z.name) c.keyed = &k;
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
    {
      std::lock_guard lock(d_countersMutex);
      for (const auto& d : z.datasets) {
        auto [ds, dsAdded] = d_datasetIndex.try_emplace({z.name, d.name}, d_datasetCounters.size());
        if (dsAdded) d_datasetCounters.emplace_back(0);
        c.datasets.push_back({d.id, d.kinds, d.ttl, d.vars, subzonesOf(d.subzones), ds->second});
      }
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
  d_keys.clear();
  if (!d_opt.keyed.empty())
    d_snap.forEachKey([&](const store::KeyRecord& k) {
      d_keys[k.name] = {k.revoked, k.perSecond, k.perDay, d_opt.quotas->counter(k.name)};
    });
}

} // namespace dnsxl::answer
