#include "zonegen/apply.hh"

#include <cstdlib>
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>
#include <unordered_map>

namespace dnsxl::zonegen {

namespace {

using store::ChangeRecord;
using store::EntryRecord;

constexpr U128 kMapped = U128{0xffff} << 32;

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

// Whether the encoded set holds the one value `one` (same A, TXT and expiry).
bool containsValue(std::string_view set, std::string_view one) {
  store::ValueSetReader a(one);
  store::ValueView want, v;
  if (!a.next(want)) return false;
  store::ValueSetReader r(set);
  while (r.next(v))
    if (v.a == want.a && v.hasTxt == want.hasTxt && v.txt == want.txt && v.expires == want.expires)
      return true;
  return false;
}

// Whether the name is listed, as the responder decides (rbldnsd dnset): an exact entry, else the
// closest "below" entry of a parent.
bool nameListed(store::Writer& w, uint32_t dataset, const std::string& name) {
  auto listed = [](uint32_t s) { return s != store::kNoValue && s != store::kExcluded; };
  std::string key;
  store::domainKey(name, key);
  if (auto d = w.domain(dataset, key); d && d->exact != store::kNoValue) return listed(d->exact);
  for (auto dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
    store::domainKey(name.substr(dot + 1), key);
    if (auto d = w.domain(dataset, key); d && d->wild != store::kNoValue) return listed(d->wild);
  }
  return false;
}

bool serialGreater(uint32_t a, uint32_t b) {
  return a != b && static_cast<uint32_t>(a - b) < 0x80000000U;
}

} // namespace

void checkLoaded(const Loaded& l, const std::string& zone, std::vector<std::string>& errors,
                 std::vector<std::string>& guardErrors) {
  guard(l, zone, errors);
  guardSpace(l, *l.cfg, guardErrors);
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

uint32_t testPointSet(store::Writer& w, uint32_t a) {
  std::pair<uint32_t, std::optional<std::string>> tv{a, kTestTxt};
  return w.internValueSet(store::encodeValueSet({&tv, 1}));
}

void putTestPoint(store::Writer& w, uint32_t testDataset, uint32_t a) {
  if ((a >> 24) != 127 || a == kLoopback1) return;
  std::pair<uint32_t, std::optional<std::string>> tv{a, kTestTxt};
  const uint32_t set = w.internValueSet(store::encodeValueSet({&tv, 1}));
  w.paintIp4(testDataset, a, a, [set](uint32_t) { return set; });
}

uint32_t nextSerial(uint32_t old, uint32_t now) {
  return serialGreater(now, old) ? now : old + 1;
}

bool paintEntry(store::Writer& w, store::DatasetRecord& ds, const EntryRecord& e,
                const std::function<uint32_t(uint32_t)>& f) {
  switch (e.kind) {
  case EntryRecord::V4:
    return w.paintIp4(ds.id, e.lo4, e.hi4, f);
  case EntryRecord::V6:
    return w.paintIp6(ds.id, e.lo6, e.hi6, f);
  case EntryRecord::Name: {
    std::string key;
    store::domainKey(e.name, key);
    auto cur = w.domain(ds.id, key);
    store::DomainEntry d = cur.value_or(store::DomainEntry{});
    auto listed = [](uint32_t s) { return s != store::kNoValue && s != store::kExcluded; };
    const bool was = listed(d.exact) || listed(d.wild);
    if (e.scope != 1) d.exact = f(d.exact);
    if (e.scope != 0) d.wild = f(d.wild);
    if (d.exact == store::kNoValue && d.wild == store::kNoValue)
      w.deleteDomain(ds.id, key);
    else
      w.putDomain(ds.id, key, d);
    return was;
  }
  }
  return false;
}

bool applyManual(store::Writer& w, store::DatasetRecord& ds, const ChangeRecord& c) {
  const bool add = c.action == ChangeRecord::Added;
  std::unordered_map<uint32_t, uint32_t> memo; // old set -> new set
  auto f = [&](uint32_t old) -> uint32_t {
    if (!add) return c.entry.kind == EntryRecord::Name ? store::kExcluded : store::kNoValue;
    if (auto it = memo.find(old); it != memo.end()) return it->second;
    uint32_t id = 0;
    if (old == store::kNoValue || old == store::kExcluded) {
      id = w.internValueSet(c.value);
    } else {
      auto bytes = w.valueSet(old);
      id = containsValue(bytes, c.value) ? old : w.internValueSet(bytes + c.value);
    }
    memo.emplace(old, id);
    return id;
  };
  bool was = c.entry.kind == EntryRecord::Name && nameListed(w, ds.id, c.entry.name);
  was = paintEntry(w, ds, c.entry, f) || was;
  if (!add && c.entry.kind == EntryRecord::Name && c.entry.scope != 0) {
    std::string key;
    store::domainKey(c.entry.name, key);
    was = w.deleteDomainsBelow(ds.id, key) > 0 || was;
  }
  if (add)
    ds.kinds |= c.entry.kind == EntryRecord::V4   ? store::kIp4
                : c.entry.kind == EntryRecord::V6 ? store::kIp6
                                                  : store::kDomain;
  return was;
}

std::string subjectText(const EntryRecord& e) {
  if (e.kind == EntryRecord::V4)
    return e.lo4 == e.hi4 ? feeds::formatIp4(e.lo4)
                          : feeds::formatIp4(e.lo4) + "-" + feeds::formatIp4(e.hi4);
  auto u = [](const store::Ip6& a) {
    feeds::U128 v = 0;
    for (uint8_t b : a)
      v = v << 8 | b;
    return v;
  };
  if (e.kind == EntryRecord::V6)
    return e.lo6 == e.hi6 ? feeds::formatIp6(u(e.lo6))
                          : feeds::formatIp6(u(e.lo6)) + "-" + feeds::formatIp6(u(e.hi6));
  return (e.scope == 1 ? "*." : e.scope == 2 ? "." : "") + e.name;
}

std::string currentUser() {
  if (const char* s = std::getenv("SUDO_USER"); s && *s) return s;
  if (const auto* pw = ::getpwuid(::geteuid())) return pw->pw_name;
  return fmt::format("uid {}", ::geteuid());
}

} // namespace dnsxl::zonegen
