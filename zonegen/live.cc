#include "zonegen/live.hh"

#include "feeds/text.hh"
#include "zonegen/apply.hh"
#include "zonegen/journal.hh"

#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <pwd.h>
#include <unistd.h>
#include <unordered_map>

namespace dnsxl::zonegen {

namespace {

using store::ChangeRecord;
using store::EntryRecord;

std::string isoTime(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
  return buf;
}

// What a dataset `dnsxl add` can change can hold: its format's listings of that kind.
bool holds(feeds::Format f, feeds::Subject::Kind k) {
  const auto& t = feeds::traitsOf(f);
  return t.listings && (k == feeds::Subject::Ip4   ? t.ip4
                        : k == feeds::Subject::Ip6 ? t.ip6
                                                   : t.names);
}

// The set without its values expired at `now`: the same id when none has, kNoValue when all have.
uint32_t withoutExpired(store::Writer& w, uint32_t id, int64_t now) {
  if (id == store::kNoValue || id == store::kExcluded) return id;
  const auto bytes = w.valueSet(id);
  store::ValueSetReader r(bytes);
  store::ValueView v;
  std::string kept;
  bool dropped = false;
  while (r.next(v)) {
    if (v.expires != 0 && v.expires <= now) {
      dropped = true;
      continue;
    }
    store::appendValue(kept, v.a, v.hasTxt ? std::optional<std::string>(v.txt) : std::nullopt,
                       v.expires);
  }
  if (!dropped) return id;
  return kept.empty() ? store::kNoValue : w.internValueSet(kept);
}

// Whether a manual change's subject lies inside a delisting's (the delisting makes it moot).
bool covers(const EntryRecord& m, const EntryRecord& o) {
  if (m.kind != o.kind) return false;
  switch (m.kind) {
  case EntryRecord::V4:
    return m.lo4 <= o.lo4 && o.hi4 <= m.hi4;
  case EntryRecord::V6:
    return m.lo6 <= o.lo6 && o.hi6 <= m.hi6;
  case EntryRecord::Name: {
    const bool below = o.name.size() > m.name.size() && o.name.ends_with("." + m.name);
    if (m.scope == 2) return below || o.name == m.name;
    if (m.scope == 1) return below || (o.name == m.name && o.scope == 1);
    return o.name == m.name && o.scope == 0;
  }
  }
  return false;
}

uint32_t auditDays(const config::Config& cfg) {
  return cfg.server.auditDays;
}

void pruneAudit(store::Writer& w, const config::Config& cfg, int64_t now) {
  if (auditDays(cfg) != 0) w.pruneAudit(now - int64_t{auditDays(cfg)} * 86400);
}

} // namespace

std::vector<Change> readChanges(const std::string& path, std::vector<std::string>& errors) {
  std::vector<Change> out;
  std::ifstream in(path);
  if (!in) {
    errors.push_back(fmt::format("{}: cannot open the file", path));
    return out;
  }
  std::string line;
  for (uint32_t n = 1; std::getline(in, line); ++n) {
    auto text = feeds::text::trim(line);
    if (text.empty() || text.front() == '#') continue;
    Change c;
    c.source = path;
    c.line = n;
    auto sp = text.find_first_of(" \t");
    c.subject = std::string(text.substr(0, sp));
    if (sp != std::string_view::npos)
      c.fields[feeds::kReason] = std::string(feeds::text::trim(text.substr(sp)));
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

// One `dnsxl add` or `dnsxl delist`: the zone and dataset it changes, each change checked as an
// import would check it (nothing is written if one is wrong), then one write transaction.
class Live {
public:
  Live(const config::Config& cfg, const LiveOptions& options)
      : d_cfg(cfg), d_options(options),
        d_now(options.now ? options.now : static_cast<int64_t>(std::time(nullptr))) {}

  LiveResult run(const std::vector<Change>& changes) {
    auto& res = d_res;
    if (!selectTarget()) return res;
    std::vector<ChangeRecord> records;
    for (const auto& ch : changes)
      if (auto c = record(ch)) records.push_back(std::move(*c));
    std::vector<std::string> guardErrors;
    checkListing(d_check, d_format, *d_dataset, d_zone->name, res.errors, guardErrors);
    for (auto& g : guardErrors)
      (d_options.force ? res.warnings : res.errors)
          .push_back(d_options.force ? g + " (added anyway: --force)" : g);
    if (changes.empty()) res.errors.push_back("nothing to change: name a subject or --file");
    if (res.errors.empty()) write(records);
    return res;
  }

private:
  // The zone and dataset: named, or the config's only ones.
  bool selectTarget() {
    const auto& cfg = d_cfg;
    const auto& options = d_options;
    auto& res = d_res;
    const config::Zone*& zone = d_zone;
    const config::Dataset*& dataset = d_dataset;
    for (const auto& z : cfg.zones)
      if (z.name == options.zone || (options.zone.empty() && cfg.zones.size() == 1)) zone = &z;
    if (!zone) {
      res.errors.push_back(options.zone.empty()
                               ? "the config has several zones: name one with --zone"
                               : fmt::format("no zone {} in {}", options.zone, cfg.file.string()));
      return false;
    }
    std::string candidates;
    for (const auto& d : zone->datasets) {
      const auto format = *feeds::parseFormat(d.format);
      if (!feeds::traitsOf(format).listings) continue;
      candidates += (candidates.empty() ? "" : ", ") + d.name;
      if (d.name == options.dataset || options.dataset.empty()) {
        if (dataset && options.dataset.empty()) {
          res.errors.push_back(
              fmt::format("zone {} has several datasets ({}): name one with --dataset", zone->name,
                          candidates));
          return false;
        }
        dataset = &d;
      }
    }
    if (!dataset) {
      res.errors.push_back(
          options.dataset.empty()
              ? fmt::format("zone {} has no dataset that lists entries", zone->name)
              : fmt::format("zone {} has no dataset {} that lists entries (it has: {})", zone->name,
                            options.dataset, candidates.empty() ? "none" : candidates));
      return false;
    }
    d_format = *feeds::parseFormat(dataset->format);
    return true;
  }

  // One change as a change record, checked; its entry also goes into d_check for the guard.
  std::optional<ChangeRecord> record(const Change& ch) {
    const auto& options = d_options;
    const auto* zone = d_zone;
    const auto* dataset = d_dataset;
    const auto format = d_format;
    const auto now = d_now;
    auto& res = d_res;
    auto& check = d_check;
    feeds::ParseOptions po;
    po.allowPublicSuffix = dataset->allowPublicSuffix;
    const auto where =
        ch.line ? fmt::format("{}:{}", ch.source, ch.line) : fmt::format("{}", ch.source);
    std::string err;
    auto s = feeds::parseSubject(ch.subject, po, err);
    if (!s) {
      res.errors.push_back(fmt::format("{}: {}", where, err));
      return std::nullopt;
    }
    if (!holds(format, s->kind)) {
      res.errors.push_back(fmt::format("{}: {} is a {} dataset; it cannot hold '{}'", where,
                                       dataset->name, dataset->format, ch.subject));
      return std::nullopt;
    }
    ChangeRecord c;
    c.action = options.delist ? ChangeRecord::Delisted : ChangeRecord::Added;
    c.when = now;
    c.zone = zone->name;
    c.dataset = dataset->name;
    c.by = options.by;
    c.source = where;
    c.entry.fields = ch.fields;
    auto& e = c.entry;
    if (s->kind == feeds::Subject::Ip4) {
      e.kind = EntryRecord::V4;
      e.lo4 = s->lo4;
      e.hi4 = s->hi4;
    } else if (s->kind == feeds::Subject::Ip6) {
      e.kind = EntryRecord::V6;
      e.lo6 = toIp6(s->lo6);
      e.hi6 = toIp6(s->hi6);
    } else {
      e.kind = EntryRecord::Name;
      e.name = s->name;
      e.scope = s->scope == feeds::Scope::Exact ? 0 : s->scope == feeds::Scope::Below ? 1 : 2;
      // Delisting a name takes it and everything below it off the list.
      if (options.delist && e.scope == 0) e.scope = 2;
    }
    feeds::Origin at{static_cast<uint32_t>(check.files.size()), ch.line};
    check.files.push_back(ch.source);
    if (options.delist) {
      if (e.fields[feeds::kReason].empty())
        res.errors.push_back(fmt::format("{}: a delisting needs a reason (--reason)", where));
      e.excluded = true;
    } else {
      int64_t expires = 0;
      if (const auto& x = e.fields[feeds::kExpires]; !x.empty()) {
        auto t = feeds::parseDate(x);
        if (!t) {
          res.errors.push_back(fmt::format(
              "{}: invalid expiry '{}' (e.g. 2026-12-31 or 2026-12-31T12:00:00Z)", where, x));
          return std::nullopt;
        }
        if (*t <= now) {
          res.errors.push_back(fmt::format("{}: the expiry {} has already passed", where, x));
          return std::nullopt;
        }
        expires = *t;
      }
      if (e.fields[feeds::kListed].empty()) e.fields[feeds::kListed] = isoTime(now);
      auto v = feeds::recordValue(e.fields, {dataset->a, dataset->txt, 0}, err);
      if (!v) {
        res.errors.push_back(fmt::format("{}: {}", where, err));
        return std::nullopt;
      }
      v->expires = expires;
      store::appendValue(c.value, v->a, v->txt, v->expires);
      const uint32_t vi = check.internValue(*v);
      if (s->kind == feeds::Subject::Ip4)
        check.ip4.push_back({s->lo4, s->hi4, vi, at});
      else if (s->kind == feeds::Subject::Ip6)
        check.ip6.push_back({s->lo6, s->hi6, vi, at});
      else
        check.domains.push_back({s->name, s->scope, vi, at});
    }
    return c;
  }

  void write(const std::vector<ChangeRecord>& records) {
    const auto& cfg = d_cfg;
    const auto& options = d_options;
    const auto* zone = d_zone;
    const auto* dataset = d_dataset;
    const auto now = d_now;
    auto& res = d_res;
    store::Env env(cfg.server.store, {.readOnly = false, .mapSize = cfg.server.mapSize});
    Journal journal(env, cfg.server.journalMaxRecords, zone->name);
    store::Writer w(env);
    auto zones = w.zones();
    store::ZoneRecord* rec = nullptr;
    for (auto& z : zones)
      if (z.name == zone->name) rec = &z;
    store::DatasetRecord* ds = nullptr;
    if (rec)
      for (auto& d : rec->datasets)
        if (d.name == dataset->name && !(d.kinds & store::kTestPoints)) ds = &d;
    if (!ds) {
      res.errors.push_back(fmt::format("{}/{} is not in the store {}: run `dnsxl import` first",
                                       zone->name, dataset->name, cfg.server.store.string()));
      return;
    }
    size_t made = 0;
    auto manual = w.manualChanges();
    // A new A code gets its test address (RFC 5782 §5, checklist T-7).
    if (!options.delist && (rec->datasets.front().kinds & store::kTestPoints))
      for (const auto& c : records) {
        store::ValueSetReader r(c.value);
        for (store::ValueView v; r.next(v);)
          putTestPoint(w, rec->datasets.front().id, v.a);
      }
    for (const auto& c : records) {
      const bool was = applyManual(w, *ds, c);
      const auto subject = subjectText(c.entry);
      if (options.delist && !was && !options.force) {
        res.warnings.push_back(fmt::format("{}: {} is not listed in {}/{}: nothing to delist "
                                           "(--force keeps it off the list all the same)",
                                           c.source, subject, c.zone, c.dataset));
        continue;
      }
      if (options.delist) // what the delisting covers needs no replay any more
        std::erase_if(manual, [&](const auto& m) {
          const bool moot = m.second.zone == c.zone && m.second.dataset == c.dataset &&
                            covers(c.entry, m.second.entry);
          if (moot) w.deleteManual(m.first);
          return moot;
        });
      manual.emplace_back(w.putManual(c), c);
      w.putAudit(c);
      ++made;
      res.done.push_back(fmt::format("{} {} in {}/{}{}", options.delist ? "delisted" : "added",
                                     subject, c.zone, c.dataset, was ? "" : " (was not listed)"));
    }
    if (made == 0 || options.dryRun) {
      res.ok = made > 0;
      return; // the transaction is aborted: nothing written
    }
    rec->soa.serial = nextSerial(rec->soa.serial, static_cast<uint32_t>(now));
    w.putZone(*rec);
    res.serials.emplace_back(rec->name, rec->soa.serial);
    pruneAudit(w, cfg, now);
    journal.write(env, w, {*rec});
    w.commit();
    res.ok = true;
  }

  const config::Config& d_cfg;
  const LiveOptions& d_options;
  const int64_t d_now;
  LiveResult d_res;
  const config::Zone* d_zone = nullptr;
  const config::Dataset* d_dataset = nullptr;
  feeds::Format d_format{};
  feeds::Feed d_check; // the changes' entries, for the guard (RFC 5782 §5, widest, special space)
};

} // namespace

LiveResult applyChanges(const config::Config& cfg, const LiveOptions& options,
                        const std::vector<Change>& changes) {
  return Live(cfg, options).run(changes);
}

LiveResult runExpire(const config::Config& cfg, const std::string& by, int64_t now) {
  LiveResult res;
  if (!now) now = static_cast<int64_t>(std::time(nullptr));
  store::Env env(cfg.server.store, {.readOnly = false, .mapSize = cfg.server.mapSize});
  Journal journal(env, cfg.server.journalMaxRecords);
  store::Writer w(env);
  auto zones = w.zones();
  auto manual = w.manualChanges();
  std::unordered_map<uint32_t, bool> expiredSet; // value id -> holds an expired value
  auto expiredValue = [&](std::string_view bytes) {
    store::ValueSetReader r(bytes);
    store::ValueView v;
    while (r.next(v))
      if (v.expires != 0 && v.expires <= now) return true;
    return false;
  };
  auto drop = [&](uint32_t id) { return withoutExpired(w, id, now); };
  for (auto& z : zones) {
    bool changed = false;
    for (auto& ds : z.datasets) {
      if (ds.kinds & (store::kTestPoints | store::kAcl)) continue;
      auto expire = [&](const EntryRecord& e, const std::string& source, bool wasManual) {
        paintEntry(w, ds, e, drop);
        ChangeRecord c;
        c.action = ChangeRecord::Expired;
        c.when = now;
        c.zone = z.name;
        c.dataset = ds.name;
        c.by = by;
        c.source = source;
        c.entry = e;
        w.putAudit(c);
        res.done.push_back(fmt::format("expired {} in {}/{} ({}{})", subjectText(e), z.name,
                                       ds.name, wasManual ? "listed by " : "from ", source));
        changed = true;
      };
      for (const auto& [seq, c] : manual)
        if (c.zone == z.name && c.dataset == ds.name && c.action == ChangeRecord::Added &&
            expiredValue(c.value)) {
          w.deleteManual(seq);
          expire(c.entry, c.source, true);
        }
      std::vector<std::pair<std::string, EntryRecord>> gone;
      w.forEachEntry(ds.id, [&](std::string_view key, std::string_view bytes) {
        auto e = store::decodeEntry(bytes);
        if (e.excluded || e.value == store::kNoValue) return;
        auto [it, fresh] = expiredSet.try_emplace(e.value, false);
        if (fresh) it->second = expiredValue(w.valueSet(e.value));
        if (it->second) gone.emplace_back(std::string(key), std::move(e));
      });
      for (const auto& [key, e] : gone) {
        w.deleteEntry(key);
        expire(e, fmt::format("{}:{}", e.file < ds.files.size() ? ds.files[e.file] : "?", e.line),
               false);
      }
    }
    if (changed) {
      z.soa.serial = nextSerial(z.soa.serial, static_cast<uint32_t>(now));
      w.putZone(z);
      res.serials.emplace_back(z.name, z.soa.serial);
    }
  }
  if (!res.serials.empty()) {
    pruneAudit(w, cfg, now);
    journal.write(env, w, zones);
    w.commit();
  }
  res.ok = true;
  return res;
}

} // namespace dnsxl::zonegen
