// The responder's counters as the scrape sees them: summed per zone and in all (responder.hh).
#include "server/answer/responder.hh"

namespace dnsxl::answer {

namespace {
uint64_t read(const std::atomic<uint64_t>& c) {
  return c.load(std::memory_order_relaxed);
}
} // namespace

ZoneStats& ZoneStats::operator+=(const ZoneStats& o) {
  tot += o.tot, ok += o.ok, nxd += o.nxd, err += o.err, in += o.in, out += o.out;
  udp += o.udp, tcp += o.tcp, dropped += o.dropped, truncated += o.truncated;
  listed += o.listed, unlisted += o.unlisted;
  for (size_t i = 0; i < rcode.size(); ++i)
    rcode[i] += o.rcode[i];
  for (size_t i = 0; i < qtype.size(); ++i)
    qtype[i] += o.qtype[i];
  for (const auto& [name, n] : o.datasetHits)
    datasetHits[name] += n;
  for (size_t i = 0; i < access.size(); ++i)
    access[i] += o.access[i];
  for (size_t i = 0; i < keys.size(); ++i)
    keys[i] += o.keys[i];
  return *this;
}

void Responder::Counters::addTo(ZoneStats& s) const {
  ZoneStats z;
  z.in = read(in), z.out = read(out), z.udp = read(udp), z.tcp = read(tcp);
  z.dropped = read(dropped), z.truncated = read(truncated);
  z.listed = read(listed), z.unlisted = read(unlisted);
  for (size_t i = 0; i < rcode.size(); ++i)
    z.rcode[i] = read(rcode[i]);
  for (size_t i = 0; i < qtype.size(); ++i)
    z.qtype[i] = read(qtype[i]);
  for (size_t i = 0; i < access.size(); ++i)
    z.access[i] = read(access[i]);
  for (size_t i = 0; i < keys.size(); ++i)
    z.keys[i] = read(keys[i]);
  // rbldnsd's statistics: every query; NOERROR; NXDOMAIN; the other replies and the dropped
  z.tot = z.udp + z.tcp;
  z.ok = z.rcode[0];
  z.nxd = z.rcode[3];
  z.err = z.tot - z.ok - z.nxd;
  s += z;
}

void Responder::addStats(std::map<std::string, ZoneStats>& into) const {
  std::lock_guard lock(d_countersMutex);
  ZoneStats all;
  for (const auto& [name, index] : d_counterIndex) {
    ZoneStats z;
    d_counters[index].addTo(z);
    for (const auto& [key, ds] : d_datasetIndex)
      if (key.first == name) z.datasetHits[key.second] = read(d_datasetCounters[ds]);
    all += z;
    into[name] += z;
  }
  ZoneStats none;
  d_none.addTo(none);
  all += none;
  into[""] += none;
  into["*"] += all;
}

} // namespace dnsxl::answer
