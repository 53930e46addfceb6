#include "zonegen/why.hh"

#include "feeds/feed.hh"
#include "store/store.hh"
#include "zonegen/apply.hh"
#include "zonegen/live.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <ctime>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace dnsxl::zonegen {

namespace {

// The TXT as served (the responder's expansion; a TXT is at most 4000 bytes there too).
std::string expand(std::string_view tmpl, std::string_view subject,
                   const std::array<std::string, 10>& vars) {
  char buf[4000];
  return std::string(buf, store::expandTemplate(tmpl, subject, vars, buf, sizeof buf));
}

struct Subject {
  enum Kind { V4, V6, Name } kind = V4;
  uint32_t v4 = 0;
  store::Ip6 v6{};
  std::string name, key; // Name: the name and its store key
};

std::optional<Subject> parse(const std::string& text, std::string& error) {
  Subject s;
  if (auto a = feeds::parseIp4(text)) {
    s.v4 = *a;
    return s;
  }
  if (inet_pton(AF_INET6, text.c_str(), s.v6.data()) == 1) {
    s.kind = Subject::V6;
    return s;
  }
  s.kind = Subject::Name;
  s.name = text;
  if (auto e = feeds::checkDomain(s.name); !e.empty()) {
    error = fmt::format("'{}' is neither an IP address nor a domain name: {}", text, e);
    return std::nullopt;
  }
  store::domainKey(s.name, s.key);
  return s;
}

bool matches(const store::EntryRecord& e, const Subject& s) {
  switch (e.kind) {
  case store::EntryRecord::V4:
    return s.kind == Subject::V4 && e.lo4 <= s.v4 && s.v4 <= e.hi4;
  case store::EntryRecord::V6:
    return s.kind == Subject::V6 && e.lo6 <= s.v6 && s.v6 <= e.hi6;
  case store::EntryRecord::Name:
    if (s.kind != Subject::Name) return false;
    if (s.name == e.name) return e.scope != 1;
    return e.scope != 0 && s.name.size() > e.name.size() && s.name.ends_with("." + e.name);
  }
  return false;
}

constexpr const char* kFieldNames[] = {"code",    "reason",   "ref",    "listed",
                                       "expires", "evidence", "delist", "type"};

std::string utc(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::gmtime(&tt));
  return buf;
}

// "reason spam trap hits; ref T-12" and the same as JSON members.
std::string fieldText(const store::EntryRecord& e, nlohmann::json* j) {
  std::string details;
  for (size_t i = 0; i < e.fields.size(); ++i)
    if (!e.fields[i].empty()) {
      if (j) (*j)[kFieldNames[i]] = e.fields[i];
      details += fmt::format("{}{} {}", details.empty() ? "" : "; ", kFieldNames[i], e.fields[i]);
    }
  return details;
}

// "A 127.0.0.3, TXT template "..."" of a one-value set, and the same as JSON members.
std::string valueText(std::string_view bytes, nlohmann::json* j) {
  store::ValueSetReader r(bytes);
  store::ValueView v;
  if (!r.next(v)) return {};
  if (j) {
    (*j)["a"] = feeds::formatIp4(v.a);
    if (v.hasTxt) (*j)["txt_template"] = std::string(v.txt);
    if (v.expires) (*j)["until"] = v.expires;
  }
  return fmt::format("A {}{}{}", feeds::formatIp4(v.a),
                     v.hasTxt ? fmt::format(" TXT \"{}\"", v.txt) : std::string(),
                     v.expires ? fmt::format(" until {} UTC", utc(v.expires)) : std::string());
}

// What a dataset answers now for the subject: its A values and expanded TXT records.
void answersOf(store::Snapshot& snap, const store::DatasetRecord& ds, const Subject* subject,
               const std::string& subjectText_, std::vector<std::string>& as,
               std::vector<std::string>& txts) {
  // What the dataset answers now.
  uint32_t set = store::kNoValue;
  std::string dollar = subjectText_;
  if (subject->kind == Subject::V4 && (ds.kinds & store::kIp4)) {
    if (auto iv = snap.ip4(ds.id, subject->v4)) set = iv->valueSet;
  } else if (subject->kind == Subject::V6 && (ds.kinds & store::kIp6)) {
    if (auto iv = snap.ip6(ds.id, subject->v6)) set = iv->valueSet;
  } else if (subject->kind == Subject::Name && (ds.kinds & store::kDomain)) {
    // rbldnsd dnset: an exact entry decides; otherwise the closest "below" entry
    auto exact = snap.domain(ds.id, subject->key);
    if (exact && exact->exact != store::kNoValue) {
      set = exact->exact;
    } else {
      std::string name = subject->name, key;
      for (auto dot = name.find('.'); dot != std::string::npos; dot = name.find('.')) {
        name = name.substr(dot + 1);
        store::domainKey(name, key);
        if (auto p = snap.domain(ds.id, key); p && p->wild != store::kNoValue) {
          set = p->wild;
          dollar = name;
          break;
        }
      }
    }
  }
  if (set != store::kNoValue && set != store::kExcluded) {
    store::ValueSetReader r(snap.valueSet(set));
    store::ValueView v;
    const auto now = static_cast<int64_t>(std::time(nullptr));
    while (r.next(v)) {
      if (v.expires != 0 && v.expires <= now) continue; // expired: no longer served
      as.push_back(feeds::formatIp4(v.a));
      if (v.hasTxt) txts.push_back(expand(v.txt, dollar, ds.vars));
    }
  }
}

// The imported entries of a dataset that cover the subject, in import order.
std::vector<store::EntryRecord> entriesOf(store::Snapshot& snap, const store::DatasetRecord& ds,
                                          const Subject& subject, bool indexed) {
  std::vector<std::pair<std::string, store::EntryRecord>> found;
  auto take = [&](std::string_view key, std::string_view bytes) {
    auto e = store::decodeEntry(bytes);
    if (matches(e, subject)) found.emplace_back(std::string(key), std::move(e));
  };
  if (!indexed)
    snap.forEachEntry(ds.id, take);
  else if (subject.kind == Subject::V4)
    snap.entriesCovering4(ds.id, subject.v4, take);
  else if (subject.kind == Subject::V6)
    snap.entriesCovering6(ds.id, subject.v6, take);
  else
    snap.entriesCoveringName(ds.id, subject.name, take);
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<store::EntryRecord> out;
  for (size_t i = 0; i < found.size(); ++i)
    if (i == 0 || found[i].first != found[i - 1].first) out.push_back(std::move(found[i].second));
  return out;
}

// The imported entries behind a dataset's answer, as text and into dj["entries"].
void describeEntries(store::Snapshot& snap, const store::DatasetRecord& ds,
                     const std::vector<store::EntryRecord>& entries, std::string& text,
                     nlohmann::json& dj) {
  nlohmann::json ej = nlohmann::json::array();
  for (const auto& e : entries) {
    const std::string source = e.file < ds.files.size() ? ds.files[e.file] : "?";
    nlohmann::json one = {
        {"entry", subjectText(e)}, {"excluded", e.excluded}, {"source", source}, {"line", e.line}};
    text += fmt::format("  {} {}{} at {}:{}\n", e.excluded ? "excluded by" : "entry",
                        e.excluded ? "!" : "", subjectText(e), source, e.line);
    if (!e.excluded && e.value != store::kNoValue) valueText(snap.valueSet(e.value), &one);
    if (const auto details = fieldText(e, &one); !details.empty()) text += "    " + details + "\n";
    ej.push_back(one);
  }
  dj["entries"] = ej;
}

// The operator's changes in force, as text and into dj["manual"].
void describeManual(const std::vector<store::ChangeRecord>& manual, std::string& text,
                    nlohmann::json& dj) {
  nlohmann::json mj = nlohmann::json::array();
  for (const auto& c : manual) {
    nlohmann::json one = {{"action", store::actionName(c.action)},
                          {"entry", subjectText(c.entry)},
                          {"when", c.when},
                          {"by", c.by},
                          {"source", c.source}};
    text += fmt::format("  {} {} by {} at {} UTC ({})\n", store::actionName(c.action),
                        subjectText(c.entry), c.by, utc(c.when), c.source);
    const auto value = valueText(c.value, &one);
    const auto details = fieldText(c.entry, &one);
    if (!value.empty() || !details.empty())
      text +=
          fmt::format("    {}{}{}\n", value, value.empty() || details.empty() ? "" : "; ", details);
    mj.push_back(one);
  }
  dj["manual"] = mj;
}

} // namespace

int whyCommand(const config::Config& cfg, const std::string& subjectText_,
               const std::string& zoneFilter, bool json) {
  std::string error;
  auto subject = parse(subjectText_, error);
  if (!subject) {
    fmt::print(stderr, "dnsxl: {}\n", error);
    return 2;
  }
  store::Env env(cfg.server.store, {.readOnly = true, .mapSize = cfg.server.mapSize});
  store::Snapshot snap(env);
  const bool indexed = snap.hasEntryIndex();
  nlohmann::json out = {
      {"subject", subjectText_}, {"listed", false}, {"datasets", nlohmann::json::array()}};
  bool listed = false, anyZone = false;
  std::string text;
  for (const auto& z : snap.zones()) {
    if (z.name.empty() || (!zoneFilter.empty() && z.name != zoneFilter)) continue;
    anyZone = true;
    for (const auto& ds : z.datasets) {
      if (ds.kinds & store::kAcl) continue;
      std::vector<std::string> as, txts;
      answersOf(snap, ds, &*subject, subjectText_, as, txts);
      // Where it comes from: through the entries' index (a store imported by an older dnsxl:
      // every entry of the dataset looked at).
      std::vector<store::EntryRecord> entries = entriesOf(snap, ds, *subject, indexed);
      std::vector<store::ChangeRecord> manual; // the operator's changes in force
      snap.forEachManual([&](uint64_t, const store::ChangeRecord& c) {
        if (c.zone == z.name && c.dataset == ds.name && matches(c.entry, *subject))
          manual.push_back(c);
      });
      if (as.empty() && entries.empty() && manual.empty()) continue;
      const bool here = !as.empty();
      listed = listed || here;
      const bool testPoint = (ds.kinds & store::kTestPoints) != 0;
      nlohmann::json dj = {
          {"zone", z.name}, {"dataset", ds.name}, {"listed", here},         {"a", as},
          {"txt", txts},    {"ttl", ds.ttl},      {"test_point", testPoint}};
      if (!ds.subzones.empty()) dj["subzones"] = ds.subzones;
      text += fmt::format("{} / {}{}: {}\n", z.name, ds.name,
                          testPoint ? " (RFC 5782 test points)" : "",
                          here ? "listed" : "not listed (excluded)");
      for (size_t i = 0; i < as.size(); ++i)
        text += fmt::format("  answers A {}{}\n", as[i],
                            i < txts.size() ? fmt::format("  TXT \"{}\"", txts[i]) : "");
      if (!ds.subzones.empty()) {
        std::string subs;
        for (const auto& s : ds.subzones)
          subs += (subs.empty() ? "" : ", ") + (s.empty() ? "@" : s);
        text += fmt::format("  below {} only\n", subs);
      }
      describeEntries(snap, ds, entries, text, dj);
      describeManual(manual, text, dj);
      out["datasets"].push_back(dj);
    }
  }
  if (!anyZone && !zoneFilter.empty()) {
    fmt::print(stderr, "dnsxl: no zone {} in the store\n", zoneFilter);
    return 2;
  }
  out["listed"] = listed;
  if (json)
    fmt::print("{}\n", out.dump(2));
  else
    fmt::print("{}{}",
               text.empty() ? fmt::format("{}: not listed in any zone\n", subjectText_) : text, "");
  return listed ? 0 : 1;
}

std::optional<PublicLookup> publicLookup(store::Snapshot& snap, const std::string& text,
                                         const std::vector<std::string>& fields,
                                         std::string& error) {
  // digits and dots that are not an address: a typo, not a domain name
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos &&
      !feeds::parseIp4(text)) {
    error = fmt::format("'{}' is not an IPv4 address", text);
    return std::nullopt;
  }
  auto subject = parse(text, error);
  if (!subject) return std::nullopt;
  const bool indexed = snap.hasEntryIndex();
  PublicLookup out;
  out.subject = text;
  for (const auto& z : snap.zones()) {
    if (z.name.empty()) continue;
    PublicZone pz;
    pz.zone = z.name;
    for (const auto& ds : z.datasets) {
      if (ds.kinds & (store::kAcl | store::kTestPoints)) continue;
      std::vector<std::string> as, txts;
      answersOf(snap, ds, &*subject, text, as, txts);
      if (as.empty()) continue; // not listed by this dataset (or excluded)
      pz.listed = true;
      pz.datasets.push_back(ds.name);
      for (auto& a : as)
        if (std::find(pz.a.begin(), pz.a.end(), a) == pz.a.end()) pz.a.push_back(std::move(a));
      for (auto& t : txts)
        pz.txt.push_back(std::move(t));
      auto addEntry = [&](const store::EntryRecord& e) {
        if (e.excluded) return;
        PublicEntry pe{ds.name, subjectText(e), {}};
        for (size_t i = 0; i < e.fields.size(); ++i)
          if (!e.fields[i].empty() &&
              std::find(fields.begin(), fields.end(), kFieldNames[i]) != fields.end())
            pe.fields.emplace_back(kFieldNames[i], e.fields[i]);
        pz.entries.push_back(std::move(pe));
      };
      for (const auto& e : entriesOf(snap, ds, *subject, indexed))
        addEntry(e);
      snap.forEachManual([&](uint64_t, const store::ChangeRecord& c) {
        if (c.zone == z.name && c.dataset == ds.name && c.action == store::ChangeRecord::Added &&
            matches(c.entry, *subject))
          addEntry(c.entry);
      });
    }
    out.listed = out.listed || pz.listed;
    out.zones.push_back(std::move(pz));
  }
  return out;
}

int historyCommand(const config::Config& cfg, const std::string& subjectText_,
                   const std::string& zoneFilter, bool json) {
  std::string error;
  auto subject = parse(subjectText_, error);
  if (!subject) {
    fmt::print(stderr, "dnsxl: {}\n", error);
    return 2;
  }
  store::Env env(cfg.server.store, {.readOnly = true, .mapSize = cfg.server.mapSize});
  store::Snapshot snap(env);
  nlohmann::json out = nlohmann::json::array();
  std::string text;
  snap.forEachAudit([&](uint64_t seq, const store::ChangeRecord& c) {
    if ((!zoneFilter.empty() && c.zone != zoneFilter) || !matches(c.entry, *subject)) return;
    nlohmann::json one = {{"seq", seq},
                          {"when", c.when},
                          {"action", store::actionName(c.action)},
                          {"zone", c.zone},
                          {"dataset", c.dataset},
                          {"entry", subjectText(c.entry)},
                          {"excluded", c.entry.excluded},
                          {"by", c.by},
                          {"source", c.source}};
    text += fmt::format(
        "{} UTC  {}/{}  {} {}{}  by {} ({})\n", utc(c.when), c.zone, c.dataset,
        store::actionName(c.action),
        c.entry.excluded && c.action != store::ChangeRecord::Delisted ? "exclusion !" : "",
        subjectText(c.entry), c.by, c.source);
    const auto value = valueText(c.value, &one);
    const auto details = fieldText(c.entry, &one);
    if (!value.empty() || !details.empty())
      text +=
          fmt::format("    {}{}{}\n", value, value.empty() || details.empty() ? "" : "; ", details);
    out.push_back(one);
  });
  if (json)
    fmt::print("{}\n", out.dump(2));
  else if (text.empty())
    fmt::print("{}: no recorded changes\n", subjectText_);
  else
    fmt::print("{}", text);
  return out.empty() ? 1 : 0;
}

} // namespace dnsxl::zonegen
