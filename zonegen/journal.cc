#include "zonegen/journal.hh"

#include <ctime>
#include <filesystem>

namespace dnsxl::zonegen {

namespace {

bool renderAll(store::Snapshot& snap, const store::ZoneRecord& z, int64_t now, uint64_t max,
               std::vector<render::Record>& out) {
  render::Stats stats;
  std::string error;
  return render::renderZone(
      snap, z, now, max, [&](const render::Record& r) { out.push_back(r); }, stats, error);
}

size_t bytesOf(const std::vector<render::Record>& rs) {
  size_t n = 0;
  for (const auto& r : rs)
    n += r.owner.size() + r.rdata.size() + 12;
  return n;
}

} // namespace

Journal::Journal(store::Env& env, uint64_t maxRecords, const std::string& zone)
    : d_max(maxRecords) {
  if (maxRecords == 0) return;
  store::Snapshot snap(env);
  const auto now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& z : snap.zones()) {
    if (z.name.empty() || (!zone.empty() && z.name != zone)) continue;
    Before b;
    b.serial = z.soa.serial;
    if (renderAll(snap, z, now, maxRecords, b.records)) d_before.emplace(z.name, std::move(b));
  }
}

void Journal::write(store::Env& env, store::Writer& w,
                    const std::vector<store::ZoneRecord>& after) {
  if (d_before.empty()) return;
  const auto now = static_cast<int64_t>(std::time(nullptr));
  store::Snapshot snap(env, w); // the transaction's own state
  for (const auto& z : after) {
    auto it = d_before.find(z.name);
    if (it == d_before.end() || it->second.serial == z.soa.serial) continue;
    std::vector<render::Record> records;
    if (!renderAll(snap, z, now, d_max, records)) continue; // grew too big: no entry
    std::vector<render::Record> deleted, added;
    render::diff(it->second.records, records, deleted, added);
    if (deleted.size() + added.size() > records.size()) continue; // RFC 1995 §5
    w.putJournal(z.name, it->second.serial, z.soa.serial, now, render::encodeDiff(deleted, added));
    // RFC 1995 §5: smaller than the zone, and nothing a secondary could still need after the
    // zone's expire time
    w.pruneJournal(z.name, bytesOf(records), now - static_cast<int64_t>(z.soa.expire));
  }
}

} // namespace dnsxl::zonegen
