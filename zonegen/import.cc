#include "zonegen/import.hh"

#include "dns/byte_order.hh"
#include "dns/wire.hh"
#include "feeds/feed.hh"
#include "store/store.hh"
#include "zonegen/compile.hh"
#include "zonegen/journal.hh"
#include "zonegen/live.hh"

#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <set>
#include <sys/stat.h>

namespace dnsxl::zonegen {

namespace {

constexpr uint32_t kLoopback1 = 0x7f000001;
constexpr U128 kMapped = U128{0xffff} << 32;
// The parser's acl actions are stored as they are.
static_assert(feeds::kAclIgnore == store::kAclIgnore && feeds::kAclRefuse == store::kAclRefuse &&
              feeds::kAclEmpty == store::kAclEmpty && feeds::kAclPass == store::kAclPass);
constexpr size_t kMaxDatasetsPerZone = 256; // the responder's limit, the test points included
constexpr const char* kTestTxt = "Test entry: $ is always listed (RFC 5782 section 5)";

// One dataset as stored: a configured dataset, or one section of a combined one.
struct Loaded {
  const config::Dataset* cfg = nullptr;
  feeds::Format format{};
  std::shared_ptr<const feeds::Feed> feed; // its entries
  std::shared_ptr<const feeds::Feed> root; // the configured dataset's (SOA, NS, $TIMESTAMP)
  std::string name;
  std::vector<std::string> subzones; // combined sections: relative names, "" = the zone itself
  CompiledDataset compiled;
};

store::Ip6 toIp6(U128 v) {
  store::Ip6 out{};
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return out;
}

// RFC 5782 §5: 127.0.0.1, ::ffff:127.0.0.1 and `invalid` are never listed.
void guard(const Loaded& l, const std::string& zone, std::vector<std::string>& errors) {
  if (l.format == feeds::Format::Acl) return; // client addresses, not listings
  const auto& f = *l.feed;
  auto complain = [&](const feeds::Origin& at, const std::string& what) {
    errors.push_back(fmt::format("{}: {} lists {}, which must never be listed (RFC 5782 §5); "
                                 "narrow it or add an exclusion",
                                 f.where(at), zone, what));
  };
  if (findIp4(l.compiled, kLoopback1) != kNoSet) {
    for (const auto& e : f.ip4)
      if (e.value != feeds::kExclusion && e.lo <= kLoopback1 && e.hi >= kLoopback1)
        complain(e.at, "127.0.0.1");
  }
  if (findIp6(l.compiled, kMapped | kLoopback1) != kNoSet) {
    for (const auto& e : f.ip6)
      if (e.value != feeds::kExclusion && e.lo <= (kMapped | kLoopback1) &&
          e.hi >= (kMapped | kLoopback1))
        complain(e.at, "::ffff:127.0.0.1");
  }
  if (auto it = l.compiled.domains.find(std::string("invalid\0", 8));
      it != l.compiled.domains.end() && it->second.exact != kNoSet &&
      it->second.exact != kExcludedSet) {
    for (const auto& e : f.domains)
      if (e.name == "invalid" && e.scope != feeds::Scope::Below && e.value != feeds::kExclusion)
        complain(e.at, "the name 'invalid'");
  }
}

// The import guard (RFC 6471 §3.4, checklist F-1): no entry wider than the dataset allows, none in
// special-purpose space that never sends mail (RFC 6890). Exclusions are always fine.
void guardSpace(const Loaded& l, const config::Dataset& d, std::vector<std::string>& out) {
  if (l.format == feeds::Format::Acl || l.format == feeds::Format::Generic) return;
  const auto& f = *l.feed;
  constexpr size_t kMaxShown = 20;
  size_t found = 0;
  auto complain = [&](const feeds::Origin& at, const std::string& what) {
    if (++found <= kMaxShown) out.push_back(fmt::format("{}: {}", f.where(at), what));
  };
  for (const auto& e : f.ip4) {
    if (e.value == feeds::kExclusion) continue;
    const uint64_t size = uint64_t{e.hi} - e.lo + 1;
    // formatted only for a complaint: this loop sees every entry of every import
    auto range = [&] { return feeds::formatIp4(e.lo) + "-" + feeds::formatIp4(e.hi); };
    if (d.widestIp4 && size > (uint64_t{1} << (32 - d.widestIp4)))
      complain(e.at, fmt::format("{} covers {} addresses, more than a /{} (widest_ip4 = {})",
                                 range(), size, d.widestIp4, d.widestIp4));
    else if (d.guardSpecial && (e.lo <= 0x00ffffffU || e.hi >= 0xe0000000U))
      complain(e.at, fmt::format("{} reaches into {} (RFC 6890), which never sends mail "
                                 "(guard_special = false allows it)",
                                 range(), e.lo <= 0x00ffffffU ? "0.0.0.0/8" : "224.0.0.0/3"));
  }
  for (const auto& e : f.ip6) {
    if (e.value == feeds::kExclusion) continue;
    const U128 span = e.hi - e.lo; // size - 1
    auto range = [&] { return feeds::formatIp6(e.lo) + "-" + feeds::formatIp6(e.hi); };
    if (d.widestIp6 && (d.widestIp6 == 128 ? span > 0 : span >= (U128{1} << (128 - d.widestIp6))))
      complain(e.at, fmt::format("{} is wider than a /{} (widest_ip6 = {})", range(), d.widestIp6,
                                 d.widestIp6));
    else if (d.guardSpecial && (e.lo <= 1 || (e.hi >> 120) == 0xff))
      complain(e.at, fmt::format("{} reaches into {} (RFC 6890), which never sends mail "
                                 "(guard_special = false allows it)",
                                 range(), e.lo <= 1 ? "::/127" : "ff00::/8"));
  }
  if (found > kMaxShown)
    out.push_back(fmt::format("{}: ... and {} more such entries",
                              f.files.empty() ? "?" : f.files[0], found - kMaxShown));
}

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
    w.putEntry(store::entryKey(dataset, seq++), bytes);
    const uint64_t h = d.newHashes[index++];
    if (!d.hadLast || std::binary_search(d.added.begin(), d.added.end(), h)) {
      header.source = f.where(at);
      header.value = value;
      store::encodeChange(row, header, bytes);
      w.putAuditEncoded(row);
    }
  });
}

// rbldnsd `$TIMESTAMP`: data stamped in the future is refused (a clock or feed problem), and so
// is data already past its expiry: serving it would list or delist on stale information.
void checkTimestamp(const feeds::Feed& feed, const std::string& name, int64_t now,
                    std::vector<std::string>& errors) {
  auto when = [](int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&tt));
    return std::string(buf);
  };
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
  switch (l.format) {
  case feeds::Format::Ip4set:
  case feeds::Format::Ip4trie:
  case feeds::Format::Ip4tset:
    return store::kIp4;
  case feeds::Format::Ip6trie:
  case feeds::Format::Ip6tset:
    return store::kIp6;
  case feeds::Format::Dnset:
    return store::kDomain;
  case feeds::Format::Generic:
    return store::kGeneric;
  case feeds::Format::Acl:
    return store::kAcl; // client addresses in the ip4/ip6 tables, not listings
  case feeds::Format::Combined:
    break;
  case feeds::Format::List:
  case feeds::Format::Drop:
  case feeds::Format::Csv:
  case feeds::Format::Jsonl:
  case feeds::Format::Hosts:
  case feeds::Format::Urls:
  case feeds::Format::Dynamic:
  case feeds::Format::Rdns:
    break;
  }
  return static_cast<uint8_t>((l.compiled.ip4.empty() ? 0 : store::kIp4) |
                              (l.compiled.ip6.empty() ? 0 : store::kIp6) |
                              (l.compiled.domains.empty() ? 0 : store::kDomain));
}

bool serialGreater(uint32_t a, uint32_t b) {
  return a != b && static_cast<uint32_t>(a - b) < 0x80000000U;
}

} // namespace

void putTestPoint(store::Writer& w, uint32_t testDataset, uint32_t a) {
  if ((a >> 24) != 127 || a == kLoopback1) return;
  std::pair<uint32_t, std::optional<std::string>> tv{a, kTestTxt};
  const uint32_t set = w.internValueSet(store::encodeValueSet({&tv, 1}));
  w.paintIp4(testDataset, a, a, [set](uint32_t) { return set; });
}

void checkListing(const feeds::Feed& feed, feeds::Format format, const config::Dataset& d,
                  const std::string& zone, std::vector<std::string>& errors,
                  std::vector<std::string>& guardErrors) {
  Loaded l;
  l.cfg = &d;
  l.format = format;
  l.feed = std::shared_ptr<const feeds::Feed>(std::shared_ptr<const feeds::Feed>(), &feed);
  l.compiled = compile(feed, format);
  guard(l, zone, errors);
  guardSpace(l, d, guardErrors);
}

uint32_t nextSerial(uint32_t old, uint32_t now) {
  return serialGreater(now, old) ? now : old + 1;
}

ImportResult runImport(const config::Config& cfg, const ImportOptions& options) {
  auto started = std::chrono::steady_clock::now();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  ImportResult res;
  // rbldnsd's global acl is kept as the acl dataset of a pseudo zone with an empty name.
  std::vector<config::Zone> zonesCfg = cfg.zones;
  if (!cfg.server.acl.empty()) {
    config::Zone global;
    global.allowNoNs = true;
    config::Dataset acl;
    acl.name = "global-acl";
    acl.format = "acl";
    acl.files = cfg.server.acl;
    acl.skipBadLines = cfg.server.aclSkipBadLines;
    global.datasets.push_back(acl);
    zonesCfg.push_back(global);
  }
  std::vector<std::vector<Loaded>> zones(zonesCfg.size());
  std::vector<std::string> guardErrors; // what --force may override
  // The entry counts of the last import, for the shrink guard.
  std::map<std::pair<std::string, std::string>, uint64_t> previous;
  if (std::filesystem::exists(cfg.server.store / "data.mdb")) {
    store::Env env(cfg.server.store, {.readOnly = true, .mapSize = cfg.server.mapSize});
    store::Snapshot snap(env);
    for (const auto& z : snap.zones())
      for (const auto& d : z.datasets)
        previous[{z.name, d.name}] = d.entries;
  }
  size_t datasetCount = 0, datasetIndex = 0;
  for (const auto& z : zonesCfg)
    datasetCount += z.datasets.size();

  for (size_t zi = 0; zi < zonesCfg.size(); ++zi) {
    const auto& z = zonesCfg[zi];
    for (const auto& d : z.datasets) {
      if (options.progress) options.progress(datasetIndex++, datasetCount, z.name + "/" + d.name);
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
      po.now = now;
      if (format == feeds::Format::Rdns)
        if (auto e = feeds::loadTokens(d.tokens.string(), po); !e.empty()) res.errors.push_back(e);
      for (const auto& file : d.files)
        feeds::parseFile(file.string(), po, *root);
      for (const auto& msg : root->diagnostics)
        (d.skipBadLines ? res.warnings : res.errors).push_back(msg);
      for (const auto& msg : root->fileErrors)
        res.errors.push_back(msg);
      root->finish(po.initialDefault);
      checkTimestamp(*root, d.name, now, res.errors);

      // A combined dataset is one unit per $DATASET section, each for its subzones.
      std::vector<Loaded> units;
      if (format == feeds::Format::Combined) {
        for (const auto& section : root->sections)
          units.push_back({&d,
                           section.format,
                           section.feed,
                           root,
                           d.name + "/" + section.label,
                           section.subzones,
                           {}});
      } else {
        units.push_back({&d, format, root, root, d.name, {}, {}});
      }
      for (auto& l : units) {
        l.compiled = compile(*l.feed, l.format);
        guard(l, z.name, res.errors);
        guardSpace(l, *l.cfg, guardErrors);
        DatasetSummary s;
        s.zone = z.name;
        s.dataset = l.name;
        s.format = std::string(feeds::formatName(l.format));
        s.lines = l.feed == root ? root->linesRead : 0;
        s.entries = l.feed->ip4.size() + l.feed->ip6.size() + l.feed->domains.size() +
                    l.feed->records.size();
        s.ip4Intervals = l.compiled.ip4.size();
        s.ip6Intervals = l.compiled.ip6.size();
        s.domains = l.compiled.domains.size();
        s.valueSets = l.compiled.sets.size() - 1;
        s.expired = l.feed->expired;
        s.skipped = l.feed == root && d.skipBadLines ? root->diagnostics.size() : 0;
        if (auto prev = previous.find({z.name, l.name}); prev != previous.end()) {
          s.previousEntries = prev->second;
          const uint64_t keep = 100 - d.maxShrinkPercent;
          if (d.maxShrinkPercent < 100 && root->fileErrors.empty() &&
              s.entries * 100 < prev->second * keep) {
            std::string files;
            for (const auto& f : l.feed->files)
              files += (files.empty() ? "" : ", ") + f;
            guardErrors.push_back(
                fmt::format("{}: {}/{} has {} entries, {} at the last import: {}% fewer, more than "
                            "max_shrink_percent = {} allows (a truncated feed?)",
                            files, z.name, l.name, s.entries, prev->second,
                            (prev->second - s.entries) * 100 / prev->second, d.maxShrinkPercent));
          }
        }
        res.datasets.push_back(s);
        zones[zi].push_back(std::move(l));
      }
    }
  }

  // Zone records: SOA and NS from the config, else from the first dataset's $SOA / $NS.
  std::vector<store::ZoneRecord> records;
  uint32_t nextId = 1;
  for (size_t zi = 0; zi < zonesCfg.size(); ++zi) {
    const auto& z = zonesCfg[zi];
    // rbldnsd -t def:min:max: every TTL of the zone within [ttl_min, ttl_max]
    const auto clamp = clampOf(z);
    store::ZoneRecord rec;
    rec.name = z.name;
    rec.ns = z.ns;
    rec.nsTtl = z.soa ? z.soa->ttl : 3600;
    for (const auto& l : zones[zi]) {
      if (rec.ns.empty() && !l.root->ns.empty()) {
        rec.ns = l.root->ns;
        rec.nsTtl = l.root->nsTtl ? l.root->nsTtl : z.ttl;
      }
    }
    if (rec.ns.empty() && !z.allowNoNs)
      res.errors.push_back(
          fmt::format("{}: zone {} has no name servers: set ns = [...] (or $NS in a "
                      "data file)",
                      cfg.file.string(), z.name));
    if (z.soa) {
      rec.soa = {z.soa->mname,  z.soa->rname,   0,         z.soa->refresh, z.soa->retry,
                 z.soa->expire, z.soa->minimum, z.soa->ttl};
    } else {
      rec.soa.mname = rec.ns.empty() ? z.name : rec.ns.front();
      rec.soa.rname = "hostmaster." + z.name;
      for (const auto& l : zones[zi]) {
        if (l.root->soa) {
          const auto& s = *l.root->soa;
          rec.soa = {s.mname, s.rname,  0,         s.refresh,
                     s.retry, s.expire, s.minimum, s.ttl ? s.ttl : z.ttl};
          break;
        }
      }
    }
    store::DatasetRecord test;
    test.id = nextId++;
    test.name = "rfc5782-test-points";
    test.kinds = store::kIp4 | store::kIp6 | store::kDomain | store::kTestPoints;
    test.ttl = clamp(z.ttl);
    rec.soa.ttl = clamp(rec.soa.ttl);
    rec.nsTtl = clamp(rec.nsTtl);
    rec.datasets.push_back(test);
    for (const auto& l : zones[zi]) {
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
      res.errors.push_back(fmt::format("{}: zone {} has {} datasets; at most {} can answer",
                                       cfg.file.string(), z.name, rec.datasets.size() - 1,
                                       kMaxDatasetsPerZone - 1));
    records.push_back(std::move(rec));
  }

  for (auto& g : guardErrors)
    (options.force ? res.warnings : res.errors)
        .push_back(options.force ? g + " (imported anyway: --force)" : g);
  res.guardRefusals = options.force ? 0 : guardErrors.size();
  if (!res.errors.empty() || options.dryRun) {
    res.ok = res.errors.empty();
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return res;
  }

  store::Env env(cfg.server.store,
                 {.readOnly = false, .mapSize = cfg.server.mapSize, .writeMapIfAlone = true});
  Journal journal(env, cfg.server.journalMaxRecords);
  store::Writer w(env);
  std::map<std::string, uint32_t> oldSerials;
  const auto oldZones = w.zones();
  for (const auto& z : oldZones)
    oldSerials[z.name] = z.soa.serial;

  // The audit trail: what this import lists and unlists, entry by entry, against the last import.
  store::ChangeRecord audit;
  audit.when = now;
  audit.by = options.by.empty() ? currentUser() : options.by;
  std::vector<std::pair<std::string, const feeds::Feed*>> newFeeds; // (zone, dataset), feed
  std::vector<std::pair<std::string, std::string>> newKeys;
  for (size_t zi = 0; zi < zones.size(); ++zi)
    for (const auto& l : zones[zi])
      if (l.format != feeds::Format::Acl) {
        newKeys.emplace_back(zonesCfg[zi].name, l.name);
        newFeeds.emplace_back(l.name, l.feed.get());
      }
  std::map<std::pair<std::string, std::string>, DatasetDiff> diffs;
  for (size_t i = 0; i < newKeys.size(); ++i)
    diffs[newKeys[i]].newHashes = entryHashes(*newFeeds[i].second);
  for (const auto& z : oldZones)
    for (const auto& ds : z.datasets)
      if (!(ds.kinds & (store::kTestPoints | store::kAcl)))
        diffWithLast(w, z.name, ds, diffs[{z.name, ds.name}], audit);
  // The operator's changes, applied again after the feeds (below), in the order they were made.
  const auto manual = w.manualChanges();
  w.clearData();

  auto writeSets = [&](const CompiledDataset& ds, const feeds::Feed& feed) {
    std::vector<uint32_t> ids(ds.sets.size(), store::kNoValue);
    std::string bytes;
    for (size_t i = 1; i < ds.sets.size(); ++i) {
      bytes.clear();
      for (uint32_t vi : ds.sets[i])
        store::appendValue(bytes, feed.values[vi].a, feed.values[vi].txt, feed.values[vi].expires);
      ids[i] = w.internValueSet(bytes);
    }
    return ids;
  };
  auto mapSet = [](const std::vector<uint32_t>& ids, uint32_t s) {
    if (s == kExcludedSet) return store::kExcluded;
    return s == kNoSet ? store::kNoValue : ids[s];
  };

  for (size_t zi = 0; zi < records.size(); ++zi) {
    auto& rec = records[zi];
    auto it = oldSerials.find(rec.name);
    const auto now32 = static_cast<uint32_t>(now);
    rec.soa.serial = it == oldSerials.end() ? now32 : nextSerial(it->second, now32);
    if (zonesCfg[zi].serial == "data") rec.soa.serial = dataSerial(zones[zi]);
    res.serials.emplace_back(rec.name, rec.soa.serial);

    // The RFC 5782 §5 test points: 127.0.0.2 (::ffff:127.0.0.2 maps to it) and `test`; for every
    // other A value the zone answers with, that address answering exactly that value (checklist
    // T-7).
    const uint32_t testId = rec.datasets[0].id;
    auto testSet = [&](uint32_t a) {
      std::pair<uint32_t, std::optional<std::string>> tv{a, kTestTxt};
      return w.internValueSet(store::encodeValueSet({&tv, 1}));
    };
    std::set<uint32_t> codes = {0x7f000002};
    for (const auto& l : zones[zi])
      for (const auto& set : l.compiled.sets)
        for (uint32_t vi : set)
          codes.insert(l.feed->values[vi].a);
    for (uint32_t a : codes)
      if ((a >> 24) == 127 && a != kLoopback1) w.putIp4(testId, {a, a, testSet(a)});
    const uint32_t two = testSet(0x7f000002);
    w.appendDomain(testId, std::string("test\0", 5), {two, store::kNoValue});

    for (size_t di = 0; di < zones[zi].size(); ++di) {
      const auto& l = zones[zi][di];
      uint32_t id = rec.datasets[di + 1].id;
      auto ids = writeSets(l.compiled, *l.feed);
      for (const auto& iv : l.compiled.ip4)
        w.putIp4(id, {iv.lo, iv.hi, ids[iv.set]});
      for (const auto& iv : l.compiled.ip6)
        w.putIp6(id, {toIp6(iv.lo), toIp6(iv.hi), ids[iv.set]});
      for (const auto& [key, sets] : l.compiled.domains)
        w.appendDomain(id, key, {mapSet(ids, sets.exact), mapSet(ids, sets.wild)});
      for (const auto& [key, bytes] :
           genericRecords(*l.feed, rec.datasets[di + 1].ttl, clampOf(zonesCfg[zi])))
        w.putGeneric(id, key, bytes);
      if (l.format != feeds::Format::Acl) {
        audit.zone = rec.name;
        audit.dataset = l.name;
        writeEntries(w, id, *l.feed, diffs[{rec.name, l.name}], audit);
      }
    }
    for (const auto& change : manual) {
      const store::ChangeRecord& c = change.second; // (clang 14 cannot capture a binding)
      if (c.zone != rec.name) continue;
      auto ds = std::find_if(rec.datasets.begin() + 1, rec.datasets.end(),
                             [&](const auto& d) { return d.name == c.dataset; });
      if (ds == rec.datasets.end())
        res.warnings.push_back(fmt::format(
            "{}/{}: no such dataset any more; the {} of {} ({} by {}) is kept, not applied", c.zone,
            c.dataset, store::actionName(c.action), subjectText(c.entry), c.source, c.by));
      else if (applyManual(w, *ds, c); c.action == store::ChangeRecord::Added) {
        store::ValueSetReader r(c.value);
        for (store::ValueView v; r.next(v);)
          if (!codes.contains(v.a)) putTestPoint(w, testId, v.a);
      }
    }
    w.putZone(rec);
  }
  if (cfg.server.auditDays != 0) w.pruneAudit(now - int64_t{cfg.server.auditDays} * 86400);
  journal.write(env, w, records);
  w.commit();
  res.ok = true;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return res;
}

} // namespace dnsxl::zonegen
