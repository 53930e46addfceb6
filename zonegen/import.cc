#include "zonegen/import.hh"

#include "dns/byte_order.hh"
#include "dns/wire.hh"
#include "feeds/feed.hh"
#include "store/store.hh"
#include "zonegen/apply.hh"
#include "zonegen/compile.hh"
#include "zonegen/journal.hh"

#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace dnsxl::zonegen {

namespace {

// The parser's acl actions are stored as they are.
static_assert(feeds::kAclIgnore == store::kAclIgnore && feeds::kAclRefuse == store::kAclRefuse &&
              feeds::kAclEmpty == store::kAclEmpty && feeds::kAclPass == store::kAclPass);
constexpr size_t kMaxDatasetsPerZone = 256; // the responder's limit, the test points included

// An entry's identity for the audit trail: subject, exclusion, fields and value (A, TXT template,
// expiry) — not where it came from. Two imports listing the same thing give the same hash.
uint64_t entryHash(std::string_view identity, std::string_view valueBytes) {
  const uint64_t h = std::hash<std::string_view>{}(identity);
  return h ^
         (std::hash<std::string_view>{}(valueBytes) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

// Calls f(entry, packed fields, value bytes) for every entry of a feed, in the order writeEntries
// stores them.
void forEachFeedEntry(const feeds::Feed& f,
                      const std::function<void(store::EntryRecord&, std::string_view,
                                               const std::string&, const feeds::Origin&)>& fn) {
  std::vector<std::string> values(f.values.size());
  for (size_t i = 0; i < f.values.size(); ++i)
    store::appendValue(values[i], f.values[i].a, f.values[i].txt, f.values[i].expires);
  const std::string none;
  store::EntryRecord e; // reused: no allocation per entry
  auto one = [&](uint32_t value, const feeds::Origin& at) {
    e.excluded = value == feeds::kExclusion;
    e.file = static_cast<uint16_t>(std::min<uint32_t>(at.file, 0xffff));
    e.line = at.line;
    fn(e, f.infoOf(at), !e.excluded && value < values.size() ? values[value] : none, at);
  };
  e.kind = store::EntryRecord::V4;
  for (const auto& x : f.ip4) {
    e.lo4 = x.lo;
    e.hi4 = x.hi;
    one(x.value, x.at);
  }
  e.kind = store::EntryRecord::V6;
  for (const auto& x : f.ip6) {
    e.lo6 = toIp6(x.lo);
    e.hi6 = toIp6(x.hi);
    one(x.value, x.at);
  }
  e.kind = store::EntryRecord::Name;
  for (const auto& x : f.domains) {
    e.name = x.name;
    e.scope = x.scope == feeds::Scope::Exact ? 0 : x.scope == feeds::Scope::Below ? 1 : 2;
    one(x.value, x.at);
  }
}

// What one dataset's import changes against the last import, by entry hash.
struct DatasetDiff {
  std::vector<uint64_t> newHashes; // each entry of the new feed, in the order they are stored
  bool hadLast = false;            // the dataset was in the last import
  std::vector<uint64_t> added;     // sorted: hashes the last import did not have
};

std::vector<uint64_t> entryHashes(const feeds::Feed& f) {
  std::vector<uint64_t> out;
  out.reserve(f.ip4.size() + f.ip6.size() + f.domains.size());
  std::string entryBuf, idBuf;
  forEachFeedEntry(f, [&](store::EntryRecord& e, std::string_view packed, const std::string& value,
                          const feeds::Origin&) {
    store::encodeEntry(entryBuf, e, packed);
    out.push_back(entryHash(store::entryIdentity(entryBuf, idBuf), value));
  });
  return out;
}

// Compares the last import's entries of a dataset with the new ones (d.newHashes): fills d.added
// and writes an `unlisted` audit line for each old entry the new import does not have.
void diffWithLast(store::Writer& w, const std::string& zone, const store::DatasetRecord& ds,
                  DatasetDiff& d, const store::ChangeRecord& audit) {
  d.hadLast = true;
  std::vector<std::pair<uint64_t, std::string>> old; // hash, entry key
  std::string idBuf;
  // Entries share few value sets: each is looked up once (views stay valid: nothing is
  // written to `values` before the diff is done).
  std::unordered_map<uint32_t, std::string_view> values;
  w.forEachEntry(ds.id, [&](std::string_view key, std::string_view bytes) {
    uint32_t valueId = store::kNoValue;
    const auto identity = store::entryIdentity(bytes, idBuf, &valueId);
    std::string_view value;
    if (valueId != store::kNoValue) {
      auto [it, fresh] = values.try_emplace(valueId);
      if (fresh) it->second = w.valueSetView(valueId);
      value = it->second;
    }
    old.emplace_back(entryHash(identity, value), key);
  });
  std::sort(old.begin(), old.end());
  auto fresh = d.newHashes;
  std::sort(fresh.begin(), fresh.end());
  std::vector<std::string> gone;
  size_t i = 0, j = 0; // merge: a hash on one side only was added / removed
  while (i < old.size() || j < fresh.size()) {
    if (j == fresh.size() || (i < old.size() && old[i].first < fresh[j]))
      gone.push_back(std::move(old[i++].second));
    else if (i == old.size() || fresh[j] < old[i].first)
      d.added.push_back(fresh[j++]);
    else
      ++i, ++j;
  }
  // In key order: the audit lines follow the feed's old order, and the lookups walk the table
  // (after a turnover that is a million of them).
  std::sort(gone.begin(), gone.end());
  for (const auto& key : gone) {
    store::ChangeRecord c = audit;
    c.action = store::ChangeRecord::Unlisted;
    c.zone = zone;
    c.dataset = ds.name;
    c.entry = store::decodeEntry(w.entry(key));
    const auto& e = c.entry;
    const std::string_view file =
        e.file < ds.files.size() ? std::string_view(ds.files[e.file]) : std::string_view("?");
    c.source = e.line ? fmt::format("{}:{}", file, e.line) : std::string(file);
    if (e.value != store::kNoValue) {
      auto [it, first] = values.try_emplace(e.value);
      if (first) it->second = w.valueSetView(e.value);
      c.value = it->second;
    }
    w.putAudit(c);
  }
}

// Every entry with its provenance, for `dnsxl why`: one record per feed entry, in feed order.
// Those the last import did not have (d) are `listed` in the audit trail (audit: zone, dataset,
// who, when).
void writeEntries(store::Writer& w, uint32_t dataset, const feeds::Feed& f, const DatasetDiff& d,
                  const store::ChangeRecord& audit) {
  uint32_t seq = 0;
  std::string bytes;
  std::unordered_map<std::string_view, uint32_t> ids; // value bytes -> stored set
  std::string_view lastValue; // the last value looked up, and its stored set
  uint32_t lastId = store::kNoValue;
  std::string row;
  size_t index = 0;
  store::ChangeRecord header = audit;
  header.action = store::ChangeRecord::Listed;
  forEachFeedEntry(f, [&](store::EntryRecord& e, std::string_view packed, const std::string& value,
                          const feeds::Origin& at) {
    e.value = store::kNoValue;
    if (!value.empty()) {
      if (value != lastValue) { // runs of entries share their value: hash it once per run
        auto [it, fresh] = ids.try_emplace(value, store::kNoValue);
        if (fresh) it->second = w.internValueSet(value);
        lastValue = it->first;
        lastId = it->second;
      }
      e.value = lastId;
    }
    store::encodeEntry(bytes, e, packed);
    w.putEntry(store::entryKey(dataset, seq++), bytes, e);
    const uint64_t h = d.newHashes[index++];
    if (!d.hadLast || std::binary_search(d.added.begin(), d.added.end(), h)) {
      header.source = f.where(at);
      header.value = value;
      store::encodeChange(row, header, bytes);
      w.putAuditEncoded(row);
    }
  });
}

// "2026-11-26 12:14:02 UTC" (requests.cc's utcText leaves out the seconds)
std::string utcTime(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// rbldnsd `$TIMESTAMP`: data stamped in the future is refused (a clock or feed problem), and so
// is data already past its expiry: serving it would list or delist on stale information.
void checkTimestamp(const feeds::Feed& feed, const std::string& name, int64_t now,
                    std::vector<std::string>& errors) {
  const auto when = utcTime;
  const auto& files = feed.files;
  std::string where = files.empty() ? name : files.front();
  if (feed.timestamp && *feed.timestamp > now)
    errors.push_back(fmt::format("{}: $TIMESTAMP {} is {} s in the future", where,
                                 when(*feed.timestamp), *feed.timestamp - now));
  if (feed.expires && *feed.expires <= now)
    errors.push_back(
        fmt::format("{}: the data expired at {} ($TIMESTAMP)", where, when(*feed.expires)));
}

std::function<uint32_t(uint32_t)> clampOf(const config::Zone& z) {
  return [min = z.ttlMin, max = z.ttlMax](uint32_t t) {
    if (min != 0 && t < min) t = min;
    if (max != 0 && t > max) t = max;
    return t;
  };
}

// rbldnsd generic records grouped by name, in wire form: (type, ttl, rdlength, rdata)...
std::map<std::string, std::string> genericRecords(const feeds::Feed& feed, uint32_t defaultTtl,
                                                  const std::function<uint32_t(uint32_t)>& clamp) {
  std::map<std::string, std::string> out;
  for (const auto& r : feed.records) {
    std::string key;
    store::domainKey(r.name, key);
    std::string rdata;
    if (r.type == 1) {
      bytes::put32(rdata, r.a);
    } else if (r.type == 16) {
      for (size_t i = 0; i == 0 || i < r.text.size(); i += 255) {
        auto chunk = r.text.substr(i, 255);
        rdata.push_back(static_cast<char>(chunk.size()));
        rdata += chunk;
      }
    } else {
      bytes::put16(rdata, r.pref);
      dns::encodeName(r.target, rdata);
    }
    auto& rec = out[key];
    bytes::put16(rec, r.type);
    bytes::put32(rec, clamp(r.ttl.value_or(defaultTtl)));
    bytes::put16(rec, static_cast<uint16_t>(rdata.size()));
    rec += rdata;
  }
  return out;
}

// rbldnsd: the serial of the zone's first $SOA, or when it is 0 the newest modification time of
// the zone's data files.
uint32_t dataSerial(const std::vector<Loaded>& units) {
  for (const auto& l : units)
    if (l.root->soa && l.root->soa->serial != 0) return l.root->soa->serial;
  int64_t newest = 0;
  for (const auto& l : units)
    for (const auto& f : l.cfg->files) {
      struct stat st {};
      if (::stat(f.c_str(), &st) == 0) newest = std::max<int64_t>(newest, st.st_mtime);
    }
  return static_cast<uint32_t>(newest);
}

uint8_t kindsOf(const Loaded& l) {
  if (l.format == feeds::Format::Generic) return store::kGeneric;
  if (l.format == feeds::Format::Acl) return store::kAcl; // client addresses, not listings
  // an rbldnsd format holds one kind, even when empty; the others what they were given
  const auto& t = feeds::traitsOf(l.format);
  if (!t.records && t.ip4 + t.ip6 + t.names == 1)
    return t.ip4 ? store::kIp4 : t.ip6 ? store::kIp6 : store::kDomain;
  return static_cast<uint8_t>((l.compiled.ip4.empty() ? 0 : store::kIp4) |
                              (l.compiled.ip6.empty() ? 0 : store::kIp6) |
                              (l.compiled.domains.empty() ? 0 : store::kDomain));
}

// One run of `dnsxl import`, in stages that share what they learn: the datasets read and
// compiled (load), the zone records (zoneRecord), and the one write transaction (write).
class Import {
public:
  Import(const config::Config& cfg, const ImportOptions& options)
      : d_cfg(cfg), d_options(options), d_now(static_cast<int64_t>(std::time(nullptr))) {}

  ImportResult run() {
    const auto started = std::chrono::steady_clock::now();
    zonesWithGlobalAcl();
    readPreviousCounts();
    loadAll();
    std::vector<store::ZoneRecord> records;
    uint32_t nextId = 1;
    for (size_t zi = 0; zi < d_zonesCfg.size(); ++zi)
      records.push_back(zoneRecord(zi, nextId));
    for (auto& g : d_guardErrors)
      (d_options.force ? d_res.warnings : d_res.errors)
          .push_back(d_options.force ? g + " (imported anyway: --force)" : g);
    d_res.guardRefusals = d_options.force ? 0 : d_guardErrors.size();
    if (d_res.errors.empty() && !d_options.dryRun) write(records);
    d_res.ok = d_res.errors.empty();
    d_res.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return d_res;
  }

private:
  // rbldnsd's global acl is kept as the acl dataset of a pseudo zone with an empty name.
  void zonesWithGlobalAcl() {
    d_zonesCfg = d_cfg.zones;
    if (d_cfg.server.acl.empty()) return;
    config::Zone global;
    global.allowNoNs = true;
    config::Dataset acl;
    acl.name = "global-acl";
    acl.format = "acl";
    acl.files = d_cfg.server.acl;
    acl.skipBadLines = d_cfg.server.aclSkipBadLines;
    global.datasets.push_back(acl);
    d_zonesCfg.push_back(global);
  }

  // The entry counts of the last import, for the shrink guard.
  void readPreviousCounts() {
    if (!std::filesystem::exists(d_cfg.server.store / "data.mdb")) return;
    store::Env env(d_cfg.server.store, {.readOnly = true, .mapSize = d_cfg.server.mapSize});
    store::Snapshot snap(env);
    for (const auto& z : snap.zones())
      for (const auto& d : z.datasets)
        d_previous[{z.name, d.name}] = d.entries;
  }

  void loadAll() {
    d_zones.resize(d_zonesCfg.size());
    size_t count = 0, index = 0;
    for (const auto& z : d_zonesCfg)
      count += z.datasets.size();
    for (size_t zi = 0; zi < d_zonesCfg.size(); ++zi) {
      const auto& z = d_zonesCfg[zi];
      for (const auto& d : z.datasets) {
        if (d_options.progress) d_options.progress(index++, count, z.name + "/" + d.name);
        for (auto& l : load(d)) {
          l.compiled = compile(*l.feed, l.format);
          checkLoaded(l, z.name, d_res.errors, d_guardErrors);
          d_res.datasets.push_back(summarize(z, l));
          d_zones[zi].push_back(std::move(l));
        }
      }
    }
  }

  // The dataset's shared hosts (the built-in list and its files); errors go to d_res.errors.
  std::shared_ptr<const feeds::SharedHosts> sharedHosts(const config::Dataset& d) {
    auto hosts = std::make_shared<feeds::SharedHosts>();
    if (d.sharedHostsBuiltin)
      if (auto e = hosts->addBuiltin(); !e.empty()) d_res.errors.push_back(e);
    for (const auto& file : d.sharedHostsFiles) {
      std::ifstream in(file);
      std::stringstream text;
      text << in.rdbuf();
      if (!in) {
        d_res.errors.push_back(fmt::format("{}: cannot read the shared-hosts list", file.string()));
        continue;
      }
      if (auto e = hosts->add(text.str(), file.string()); !e.empty()) d_res.errors.push_back(e);
    }
    return hosts->empty() ? nullptr : hosts;
  }

  // Reads a dataset's files: one unit, or one per $DATASET section of a combined dataset.
  std::vector<Loaded> load(const config::Dataset& d) {
    const auto format = *feeds::parseFormat(d.format);
    auto root = std::make_shared<feeds::Feed>();
    feeds::ParseOptions po;
    po.format = format;
    po.initialDefault.a = d.a;
    po.initialDefault.txt = d.txt;
    po.allowHostBits = d.allowHostBits;
    po.gzip = d.gzip;
    po.allowPublicSuffix = d.allowPublicSuffix;
    po.columns = d.fields;
    po.delimiter = d.delimiter;
    po.header = d.header;
    po.now = d_now;
    if (format == feeds::Format::Rdns)
      if (auto e = feeds::loadTokens(d.tokens.string(), po); !e.empty()) d_res.errors.push_back(e);
    po.sharedHosts = sharedHosts(d);
    for (const auto& file : d.files)
      feeds::parseFile(file.string(), po, *root);
    for (const auto& msg : root->diagnostics)
      (d.skipBadLines ? d_res.warnings : d_res.errors).push_back(msg);
    for (const auto& msg : root->fileErrors)
      d_res.errors.push_back(msg);
    root->finish(po.initialDefault);
    checkTimestamp(*root, d.name, d_now, d_res.errors);
    for (const auto& [expires, where] : root->listExpires)
      if (expires <= d_now) // a stale DROP file: its fetcher has stopped
        d_guardErrors.push_back(fmt::format(
            "{}: the list expired at {} (its Expires: header); fetch a fresh copy, or import it "
            "with --force",
            where, utcTime(expires)));
    std::vector<Loaded> units;
    if (format != feeds::Format::Combined) {
      units.push_back({&d, format, root, root, d.name, {}, {}});
      return units;
    }
    for (const auto& section : root->sections)
      units.push_back({&d,
                       section.format,
                       section.feed,
                       root,
                       d.name + "/" + section.label,
                       section.subzones,
                       {}});
    return units;
  }

  // What the import prints of a unit; the shrink guard against the last import's count.
  DatasetSummary summarize(const config::Zone& z, const Loaded& l) {
    const auto& d = *l.cfg;
    const auto& root = *l.root;
    DatasetSummary s;
    s.zone = z.name;
    s.dataset = l.name;
    s.format = std::string(feeds::formatName(l.format));
    s.lines = l.feed == l.root ? root.linesRead : 0;
    s.entries =
        l.feed->ip4.size() + l.feed->ip6.size() + l.feed->domains.size() + l.feed->records.size();
    s.ip4Intervals = l.compiled.ip4.size();
    s.ip6Intervals = l.compiled.ip6.size();
    s.domains = l.compiled.domains.size();
    s.valueSets = l.compiled.sets.size() - 1;
    s.expired = l.feed->expired;
    s.sharedHostUrls = l.feed->sharedHostUrls;
    s.skipped = l.feed == l.root && d.skipBadLines ? root.diagnostics.size() : 0;
    const auto prev = d_previous.find({z.name, l.name});
    if (prev == d_previous.end()) return s;
    s.previousEntries = prev->second;
    const uint64_t keep = 100 - d.maxShrinkPercent;
    if (d.maxShrinkPercent < 100 && root.fileErrors.empty() &&
        s.entries * 100 < prev->second * keep) {
      std::string files;
      for (const auto& f : l.feed->files)
        files += (files.empty() ? "" : ", ") + f;
      d_guardErrors.push_back(
          fmt::format("{}: {}/{} has {} entries, {} at the last import: {}% fewer, more than "
                      "max_shrink_percent = {} allows (a truncated feed?)",
                      files, z.name, l.name, s.entries, prev->second,
                      (prev->second - s.entries) * 100 / prev->second, d.maxShrinkPercent));
    }
    return s;
  }

  // A zone's record: SOA and NS from the config, else from the first dataset's $SOA / $NS; the
  // test points' dataset first, then one per unit.
  store::ZoneRecord zoneRecord(size_t zi, uint32_t& nextId) {
    const auto& z = d_zonesCfg[zi];
    const auto clamp = clampOf(z); // rbldnsd -t def:min:max: every TTL within [ttl_min, ttl_max]
    store::ZoneRecord rec;
    rec.name = z.name;
    rec.ns = z.ns;
    rec.nsTtl = z.soa ? z.soa->ttl : 3600;
    for (const auto& l : d_zones[zi]) {
      if (rec.ns.empty() && !l.root->ns.empty()) {
        rec.ns = l.root->ns;
        rec.nsTtl = l.root->nsTtl ? l.root->nsTtl : z.ttl;
      }
    }
    if (rec.ns.empty() && !z.allowNoNs)
      d_res.errors.push_back(fmt::format("{}: zone {} has no name servers: set ns = [...] (or $NS "
                                         "in a data file)",
                                         d_cfg.file.string(), z.name));
    rec.soa = soaOf(zi, rec.ns);
    store::DatasetRecord test;
    test.id = nextId++;
    test.name = "rfc5782-test-points";
    test.kinds = store::kIp4 | store::kIp6 | store::kDomain | store::kTestPoints;
    test.ttl = clamp(z.ttl);
    rec.soa.ttl = clamp(rec.soa.ttl);
    rec.nsTtl = clamp(rec.nsTtl);
    rec.datasets.push_back(test);
    for (const auto& l : d_zones[zi]) {
      store::DatasetRecord d;
      d.id = nextId++;
      d.name = l.name;
      d.subzones = l.subzones;
      d.kinds = kindsOf(l);
      d.ttl = clamp(l.cfg->ttl ? *l.cfg->ttl : (l.feed->ttl.value_or(0) ? *l.feed->ttl : z.ttl));
      for (size_t i = 0; i < 10; ++i)
        if (l.feed->vars[i]) d.vars[i] = *l.feed->vars[i];
      d.expires = l.root->expires.value_or(0);
      d.entries =
          l.feed->ip4.size() + l.feed->ip6.size() + l.feed->domains.size() + l.feed->records.size();
      d.files = l.feed->files;
      rec.datasets.push_back(d);
    }
    if (rec.datasets.size() > kMaxDatasetsPerZone)
      d_res.errors.push_back(fmt::format("{}: zone {} has {} datasets; at most {} can answer",
                                         d_cfg.file.string(), z.name, rec.datasets.size() - 1,
                                         kMaxDatasetsPerZone - 1));
    return rec;
  }

  store::Soa soaOf(size_t zi, const std::vector<std::string>& ns) const {
    const auto& z = d_zonesCfg[zi];
    if (z.soa)
      return {z.soa->mname,  z.soa->rname,   0,         z.soa->refresh, z.soa->retry,
              z.soa->expire, z.soa->minimum, z.soa->ttl};
    for (const auto& l : d_zones[zi])
      if (l.root->soa) {
        const auto& s = *l.root->soa;
        return {s.mname, s.rname,  0,         s.refresh,
                s.retry, s.expire, s.minimum, s.ttl ? s.ttl : z.ttl};
      }
    store::Soa soa;
    soa.mname = ns.empty() ? z.name : ns.front();
    soa.rname = "hostmaster." + z.name;
    return soa;
  }

  // The one write transaction: the audit trail's diff against the last import, every zone's
  // data, the operator's changes again, the journal; committed or, on an exception, not at all.
  void write(std::vector<store::ZoneRecord>& records) {
    store::Env env(d_cfg.server.store,
                   {.readOnly = false, .mapSize = d_cfg.server.mapSize, .writeMapIfAlone = true});
    Journal journal(env, d_cfg.server.journalMaxRecords);
    store::Writer w(env);
    std::map<std::string, uint32_t> oldSerials;
    const auto oldZones = w.zones();
    for (const auto& z : oldZones)
      oldSerials[z.name] = z.soa.serial;
    d_audit.when = d_now;
    d_audit.by = d_options.by.empty() ? currentUser() : d_options.by;
    diffAll(w, oldZones);
    // The operator's changes, applied again after the feeds, in the order they were made.
    const auto manual = w.manualChanges();
    w.clearData();
    for (size_t zi = 0; zi < records.size(); ++zi) {
      auto& rec = records[zi];
      const auto it = oldSerials.find(rec.name);
      const auto now32 = static_cast<uint32_t>(d_now);
      rec.soa.serial = it == oldSerials.end() ? now32 : nextSerial(it->second, now32);
      if (d_zonesCfg[zi].serial == "data") rec.soa.serial = dataSerial(d_zones[zi]);
      d_res.serials.emplace_back(rec.name, rec.soa.serial);
      writeZone(w, rec, zi, manual);
      w.putZone(rec);
    }
    if (d_cfg.server.auditDays != 0) w.pruneAudit(d_now - int64_t{d_cfg.server.auditDays} * 86400);
    journal.write(env, w, records);
    w.commit();
  }

  // The audit trail: what this import lists and unlists, entry by entry, against the last one.
  void diffAll(store::Writer& w, const std::vector<store::ZoneRecord>& oldZones) {
    for (size_t zi = 0; zi < d_zones.size(); ++zi)
      for (const auto& l : d_zones[zi])
        if (l.format != feeds::Format::Acl)
          d_diffs[{d_zonesCfg[zi].name, l.name}].newHashes = entryHashes(*l.feed);
    for (const auto& z : oldZones)
      for (const auto& ds : z.datasets)
        if (!(ds.kinds & (store::kTestPoints | store::kAcl)))
          diffWithLast(w, z.name, ds, d_diffs[{z.name, ds.name}], d_audit);
  }

  // A zone's data: the RFC 5782 §5 test points — 127.0.0.2 (::ffff:127.0.0.2 maps to it),
  // `test`, and for every other A value the zone answers with, that address answering exactly
  // that value (checklist T-7) — each unit's data, then the operator's changes.
  void writeZone(store::Writer& w, store::ZoneRecord& rec, size_t zi,
                 const std::vector<std::pair<uint64_t, store::ChangeRecord>>& manual) {
    const uint32_t testId = rec.datasets[0].id;
    std::set<uint32_t> codes = {0x7f000002};
    for (const auto& l : d_zones[zi])
      for (const auto& set : l.compiled.sets)
        for (uint32_t vi : set)
          codes.insert(l.feed->values[vi].a);
    for (uint32_t a : codes)
      if ((a >> 24) == 127 && a != kLoopback1) w.putIp4(testId, {a, a, testPointSet(w, a)});
    w.appendDomain(testId, std::string("test\0", 5),
                   {testPointSet(w, 0x7f000002), store::kNoValue});
    for (size_t di = 0; di < d_zones[zi].size(); ++di)
      writeUnit(w, rec, d_zones[zi][di], rec.datasets[di + 1], zi);
    for (const auto& change : manual) {
      const store::ChangeRecord& c = change.second; // (clang 14 cannot capture a binding)
      if (c.zone != rec.name) continue;
      auto ds = std::find_if(rec.datasets.begin() + 1, rec.datasets.end(),
                             [&](const auto& d) { return d.name == c.dataset; });
      if (ds == rec.datasets.end())
        d_res.warnings.push_back(fmt::format(
            "{}/{}: no such dataset any more; the {} of {} ({} by {}) is kept, not applied", c.zone,
            c.dataset, store::actionName(c.action), subjectText(c.entry), c.source, c.by));
      else if (applyManual(w, *ds, c); c.action == store::ChangeRecord::Added) {
        store::ValueSetReader r(c.value);
        for (store::ValueView v; r.next(v);)
          if (!codes.contains(v.a)) putTestPoint(w, testId, v.a);
      }
    }
  }

  // One unit's value sets, intervals, names, generic records and entries.
  void writeUnit(store::Writer& w, const store::ZoneRecord& rec, const Loaded& l,
                 const store::DatasetRecord& ds, size_t zi) {
    std::vector<uint32_t> ids(l.compiled.sets.size(), store::kNoValue);
    std::string bytes;
    for (size_t i = 1; i < l.compiled.sets.size(); ++i) {
      bytes.clear();
      for (uint32_t vi : l.compiled.sets[i]) {
        const auto& v = l.feed->values[vi];
        store::appendValue(bytes, v.a, v.txt, v.expires);
      }
      ids[i] = w.internValueSet(bytes);
    }
    auto mapSet = [&](uint32_t s) {
      if (s == kExcludedSet) return store::kExcluded;
      return s == kNoSet ? store::kNoValue : ids[s];
    };
    for (const auto& iv : l.compiled.ip4)
      w.putIp4(ds.id, {iv.lo, iv.hi, ids[iv.set]});
    for (const auto& iv : l.compiled.ip6)
      w.putIp6(ds.id, {toIp6(iv.lo), toIp6(iv.hi), ids[iv.set]});
    for (const auto& [key, sets] : l.compiled.domains)
      w.appendDomain(ds.id, key, {mapSet(sets.exact), mapSet(sets.wild)});
    for (const auto& [key, records] : genericRecords(*l.feed, ds.ttl, clampOf(d_zonesCfg[zi])))
      w.putGeneric(ds.id, key, records);
    if (l.format == feeds::Format::Acl) return;
    d_audit.zone = rec.name;
    d_audit.dataset = l.name;
    writeEntries(w, ds.id, *l.feed, d_diffs[{rec.name, l.name}], d_audit);
  }

  const config::Config& d_cfg;
  const ImportOptions& d_options;
  const int64_t d_now;
  ImportResult d_res;
  std::vector<config::Zone> d_zonesCfg;
  std::vector<std::vector<Loaded>> d_zones;
  std::vector<std::string> d_guardErrors; // what --force may override
  std::map<std::pair<std::string, std::string>, uint64_t> d_previous;
  std::map<std::pair<std::string, std::string>, DatasetDiff> d_diffs;
  store::ChangeRecord d_audit;
};

} // namespace

ImportResult runImport(const config::Config& cfg, const ImportOptions& options) {
  return Import(cfg, options).run();
}

} // namespace dnsxl::zonegen
