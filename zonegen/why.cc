#include "zonegen/why.hh"

#include "feeds/feed.hh"
#include "store/store.hh"

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

std::string subjectText(const store::EntryRecord& e) {
  if (e.kind == store::EntryRecord::V4)
    return e.lo4 == e.hi4 ? feeds::formatIp4(e.lo4)
                          : feeds::formatIp4(e.lo4) + "-" + feeds::formatIp4(e.hi4);
  if (e.kind == store::EntryRecord::V6) {
    char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, e.lo6.data(), lo, sizeof lo);
    inet_ntop(AF_INET6, e.hi6.data(), hi, sizeof hi);
    return e.lo6 == e.hi6 ? std::string(lo) : std::string(lo) + "-" + hi;
  }
  return (e.scope == 1 ? "*." : e.scope == 2 ? "." : "") + e.name;
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
  nlohmann::json out = {
      {"subject", subjectText_}, {"listed", false}, {"datasets", nlohmann::json::array()}};
  bool listed = false, anyZone = false;
  std::string text;
  for (const auto& z : snap.zones()) {
    if (z.name.empty() || (!zoneFilter.empty() && z.name != zoneFilter)) continue;
    anyZone = true;
    for (const auto& ds : z.datasets) {
      if (ds.kinds & store::kAcl) continue;
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
      std::vector<std::string> as, txts;
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
      // Where it comes from.
      std::vector<store::EntryRecord> entries;
      snap.forEachEntry(ds.id, [&](std::string_view, std::string_view bytes) {
        auto e = store::decodeEntry(bytes);
        if (matches(e, *subject)) entries.push_back(std::move(e));
      });
      if (as.empty() && entries.empty()) continue;
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
      nlohmann::json ej = nlohmann::json::array();
      for (const auto& e : entries) {
        const std::string source = e.file < ds.files.size() ? ds.files[e.file] : "?";
        nlohmann::json one = {{"entry", subjectText(e)},
                              {"excluded", e.excluded},
                              {"source", source},
                              {"line", e.line}};
        text += fmt::format("  {} {}{} at {}:{}\n", e.excluded ? "excluded by" : "entry",
                            e.excluded ? "!" : "", subjectText(e), source, e.line);
        if (!e.excluded && e.value != store::kNoValue) {
          store::ValueSetReader r(snap.valueSet(e.value));
          store::ValueView v;
          if (r.next(v)) {
            one["a"] = feeds::formatIp4(v.a);
            if (v.hasTxt) one["txt_template"] = std::string(v.txt);
          }
        }
        std::string details;
        for (size_t i = 0; i < e.fields.size(); ++i)
          if (!e.fields[i].empty()) {
            one[kFieldNames[i]] = e.fields[i];
            details +=
                fmt::format("{}{} {}", details.empty() ? "" : "; ", kFieldNames[i], e.fields[i]);
          }
        if (!details.empty()) text += "    " + details + "\n";
        ej.push_back(one);
      }
      dj["entries"] = ej;
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

} // namespace dnsxl::zonegen
