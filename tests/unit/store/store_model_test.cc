// The store against models: many names and intervals in blocks, under long shared suffixes,
// with live changes; the name filter; how full the pages are. Seeded anew each run (the seed is
// reported).
#include "store/store.hh"
#include "tests/support/support.hh"
#include "tests/unit/store/store_support.hh"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <lmdb.h>
#include <map>
#include <random>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

using namespace dnsxl;
using namespace dnsxl::store;

using test::ip6;
using test::ModelTest;
using test::withRawStore;

namespace {

using NameModel = std::map<std::string, std::pair<uint32_t, uint32_t>>;

// One random change of dataset 7's names — a put, a delete, or the names below one deleted —
// made through w and in the model; the writer must read its own change.
template <typename Name, typename R>
void changeNames(Writer& w, NameModel& model, int change, Name& name, R& r) {
  const std::string k = change % 2 == 0 && !model.empty()
                            ? std::next(model.begin(), r(uint32_t(model.size())))->first
                            : name();
  switch (r(4)) {
  case 0:
  case 1: {
    const uint32_t exact = 1 + r(5);
    w.putDomain(7, k, {exact, kNoValue});
    model[k] = {exact, kNoValue};
    break;
  }
  case 2:
    w.deleteDomain(7, k);
    model.erase(k);
    break;
  default: {
    size_t gone = 0;
    for (auto m = model.upper_bound(k);
         m != model.end() && m->first.size() > k.size() && m->first.starts_with(k);)
      m = model.erase(m), ++gone;
    REQUIRE(w.deleteDomainsBelow(7, k) == gone);
  }
  }
  const auto wd = w.domain(7, k);
  REQUIRE(wd.has_value() == model.contains(k));
}

} // namespace

TEST_CASE("many names in blocks: lookups, names below and changes match a model", "[store][dom]") {
  ModelTest t;
  INFO("seed " << t.seed);
  Env& env = t.env;
  auto r = [&](uint32_t n) { return t.r(n); };
  // Names of up to four labels from a small alphabet, so that many lie below others; one
  // label in twenty is long (names of 100+ bytes fill blocks sooner).
  auto name = [&] {
    std::string k;
    const uint32_t labels = 1 + r(4);
    for (uint32_t i = 0; i < labels; ++i) {
      k +=
          r(20) == 0 ? std::string(40 + r(20), char('a' + r(3))) : std::string(1, char('a' + r(5)));
      k.push_back('\0');
    }
    return k;
  };
  std::map<std::string, std::pair<uint32_t, uint32_t>> model;
  // names from d on: a value set each (blocks with every set written out); before: a few (blocks
  // with a palette)
  for (uint32_t i = 0; i < 4000; ++i) {
    const auto k = name();
    model[k] = {k[0] >= 'd' ? 1000 + i : 1 + r(3), r(2) ? kNoValue : 1 + r(3)};
  }
  {
    Writer w(env);
    w.appendDomain(6, std::string("a\0", 2), {9, kNoValue}); // neighbouring datasets
    for (const auto& [k, e] : model)
      w.appendDomain(7, k, {e.first, e.second});
    CHECK_THROWS_AS(w.appendDomain(7, std::string("a\0", 2), {1, kNoValue}), StoreError);
    w.appendDomain(8, std::string(), {9, kNoValue});
    w.commit();
  }
  auto belowInModel = [&](const std::string& k) {
    auto it = model.upper_bound(k);
    return it != model.end() && it->first.size() > k.size() && it->first.starts_with(k);
  };
  Snapshot live(env);
  auto compare = [&](Snapshot& s, int round) {
    INFO("round " << round);
    std::vector<std::string> probes;
    for (const auto& [k, e] : model)
      if (r(4) == 0) probes.push_back(k);
    for (int i = 0; i < 500; ++i)
      probes.push_back(name());
    probes.push_back(std::string());
    probes.push_back(std::string("\xff\0", 2));
    for (const auto& k : probes) {
      INFO("name " << k);
      bool below = false;
      const auto d = s.domainAndBelow(7, k, below);
      const auto it = model.find(k);
      REQUIRE(d.has_value() == (it != model.end()));
      if (d) REQUIRE((d->exact == it->second.first && d->wild == it->second.second));
      REQUIRE(below == belowInModel(k));
      REQUIRE(s.domainBelow(7, k) == below);
      REQUIRE(s.domain(7, k).has_value() == d.has_value());
    }
    CHECK(s.domain(6, std::string("a\0", 2))->exact == 9);
    CHECK(s.domain(8, std::string())->exact == 9);
    auto it = model.begin();
    size_t n = 0;
    s.forEachDomain(7, [&](std::string_view k, DomainEntry e) {
      REQUIRE(it != model.end());
      REQUIRE(k == it->first);
      REQUIRE((e.exact == it->second.first && e.wild == it->second.second));
      ++it, ++n;
    });
    CHECK(n == model.size());
  };
  for (int round = 0; round < 30; ++round) {
    live.renew();
    compare(live, round);
    live.reset();
    {
      Snapshot fresh(env);
      compare(fresh, round);
    }
    Writer w(env);
    for (int change = 0; change < 20; ++change)
      changeNames(w, model, change, name, r);
    w.commit();
  }
}

// Real blocklists hold many names under a few long suffixes ("online", "co.uk"): every block's
// names then share more than the 8 bytes a prefix holds, and names asked about fall between
// the blocks, past their last names, or differ from them within the shared bytes.
TEST_CASE("names under long shared suffixes: lookups and names below match a model",
          "[store][dom]") {
  ModelTest t;
  INFO("seed " << t.seed);
  Env& env = t.env;
  auto r = [&](uint32_t n) { return t.r(n); };
  // keys: the labels from the top down, each ended by \0
  const std::vector<std::string> suffixes = {std::string("online\0", 7),
                                             std::string("uk\0co\0", 6),
                                             std::string("website\0", 8),
                                             std::string("com\0longcompanyname\0", 20),
                                             std::string("com\0longcompanynamf\0", 20),
                                             std::string("xn--p1ai\0", 9),
                                             std::string("technology\0", 11),
                                             std::string("photography\0", 12)};
  // few letters: many names share their first letters too, so blocks share more than 8 bytes
  auto label = [&](uint32_t len) {
    std::string l;
    for (uint32_t i = 0; i < len; ++i)
      l.push_back("ab01-z"[r(i ? 6 : 5)]);
    return l + std::string(1, '\0');
  };
  auto name = [&] {
    std::string k = suffixes[r(uint32_t(suffixes.size()))];
    switch (r(8)) {
    case 0:
      return k.substr(0, 1 + r(uint32_t(k.size()))); // the suffix, cut anywhere
    case 1:
      return k + label(1 + r(3)) + label(1 + r(6)); // two levels below
    default:
      return k + label(1 + r(12));
    }
  };
  std::set<std::string> names;
  for (uint32_t i = 0; i < 20000; ++i)
    names.insert(name());
  // Twelve datasets, each of a random 70% of the names: the blocks end at other names in each,
  // and a search goes wrong only at a few of their ends (see the probes)
  constexpr uint32_t kSets = 12;
  std::vector<std::map<std::string, uint32_t>> models(kSets);
  {
    Writer w(env);
    for (uint32_t d = 0; d < kSets; ++d)
      for (const auto& k : names)
        if (r(10) < 7) {
          models[d][k] = 1 + r(3);
          w.appendDomain(d, k, {models[d][k], kNoValue});
        }
    w.commit();
  }
  // every cut of every name: those just below a block's first name lie past the last name of
  // the block before, and may differ from its names within the bytes they share
  std::vector<std::string> probes;
  for (const auto& k : names) {
    for (size_t cut = 0; cut <= k.size(); ++cut)
      probes.push_back(k.substr(0, cut));
    probes.push_back(k + "\x01"); // just above a name
  }
  for (int i = 0; i < 2000; ++i)
    probes.push_back(name());
  // ~9M lookups: checked without Catch's per-assertion cost, the first few wrong ones reported
  Snapshot s(env);
  size_t wrong = 0;
  for (uint32_t d = 0; d < kSets; ++d)
    for (const auto& k : probes) { // the first lookups in a block sample it, the others use that
      const auto& model = models[d];
      bool below = false;
      const auto e = s.domainAndBelow(d, k, below);
      const auto it = model.find(k);
      const auto next = model.upper_bound(k);
      const bool belowInModel =
          next != model.end() && next->first.starts_with(k) && next->first.size() > k.size();
      if (e.has_value() == (it != model.end()) && (!e || e->exact == it->second) &&
          below == belowInModel)
        continue;
      std::string shown = k;
      std::replace(shown.begin(), shown.end(), '\0', '.');
      if (wrong++ < 5)
        FAIL_CHECK("dataset " << d << " name " << shown << ": found " << e.has_value() << " below "
                              << below << ", the model: " << (it != model.end()) << " below "
                              << belowInModel);
    }
  REQUIRE(wrong == 0);
}

// A server's memory is mostly the store's pages it maps: an import packs names two blocks to a
// 4 KiB leaf page with little room left, and no block, whatever its first name, moves to LMDB's
// overflow pages (one more page and a lookup through it).
TEST_CASE("an import fills the leaf pages of the names table", "[store][dom]") {
  ModelTest t;
  INFO("seed " << t.seed);
  auto r = [&](uint32_t n) { return t.r(n); };
  auto label = [&](uint32_t len) { return t.label(len); };
  std::set<std::string> names;
  // registered domains, one in fifty a name as long as a key may be (255 bytes: four labels)
  const std::string com("com\0", 4), online("online\0", 7);
  for (uint32_t i = 0; i < 30000; ++i)
    names.insert(r(50) == 0 ? label(63) + label(63) + label(63) + label(61)
                            : (r(2) ? com : online) + label(6 + r(10)));
  {
    Writer w(t.env);
    for (const auto& k : names)
      w.appendDomain(3, k, {1 + r(3), kNoValue});
    w.commit();
  }
  const auto st = t.env.tableStats("dom");
  CHECK(st.entries > 0);
  CHECK(st.overflowPages == 0);
  const double fill = double(st.nodeBytes) / double(st.leafPages * (st.pageSize - 16));
  INFO(st.entries << " blocks in " << st.leafPages << " leaf pages, filled " << fill);
  CHECK(fill > 0.95); // blocks of at most 1,700 bytes filled 85%
  CHECK(fill <= 1.0);
}

// 70% of the names a DNSBL is asked about are not listed: the filter of each dataset's names
// answers for most of them without a search. It must pass every name and every name above one
// (a query for those must find them, or the names below them: RFC 8020), after an import and
// after live changes, and few others.
TEST_CASE("the name filter passes every name and every name above one, and few others",
          "[store][dom]") {
  ModelTest t;
  INFO("seed " << t.seed);
  auto r = [&](uint32_t n) { return t.r(n); };
  auto label = [&](uint32_t len) { return t.label(len); };
  const std::string tlds[] = {std::string("com\0", 4), std::string("online\0", 7),
                              std::string("uk\0co\0", 6)};
  auto name = [&] {
    std::string k = tlds[r(3)] + label(4 + r(10));
    return r(10) == 0 ? k + label(1 + r(5)) : k; // one in ten a level deeper
  };
  std::set<std::string> names;
  for (uint32_t i = 0; i < 50000; ++i)
    names.insert(name());
  std::set<std::string> above; // the names above them, "" included
  for (const auto& k : names)
    for (size_t i = 0; i < k.size(); ++i)
      if (i == 0 || k[i - 1] == '\0') above.insert(k.substr(0, i));
  {
    Writer w(t.env);
    for (const auto& k : names)
      w.appendDomain(4, k, {1, kNoValue});
    w.commit();
  }
  Snapshot s(t.env);
  auto passes = [&](const std::string& k) { return s.nameFilterPasses(4, k); };
  size_t missed = 0;
  for (const auto& k : names)
    missed += passes(k) ? 0U : 1U;
  for (const auto& k : above)
    missed += passes(k) ? 0U : 1U;
  CHECK(missed == 0);
  size_t others = 0, passed = 0;
  while (others < 100000) {
    const std::string k = name();
    if (names.contains(k) || above.contains(k)) continue;
    ++others;
    passed += passes(k) ? 1U : 0U;
  }
  INFO(passed << " of " << others << " other names passed");
  CHECK(passed < others / 50);       // ~1% at 10 bits a key
  CHECK(passes(std::string("onl"))); // a key cut within a label: names may lie below it
  CHECK(passes(std::string("xyz\0", 4)) == s.domainBelow(4, std::string("xyz\0", 4)));

  // live changes: added names pass at once; a dataset's last name gone, its filter goes
  std::vector<std::string> added;
  for (int i = 0; i < 200; ++i)
    if (auto k = name() + label(3); !names.contains(k)) added.push_back(k);
  {
    Writer w(t.env);
    for (const auto& k : added)
      w.putDomain(4, k, {2, kNoValue});
    w.putDomain(5, std::string("net\0only\0", 9), {1, kNoValue});
    w.commit();
  }
  s.renew();
  for (const auto& k : added) {
    INFO(k);
    CHECK(passes(k));
    CHECK(passes(k.substr(0, k.size() - 4))); // the name above it
  }
  CHECK_FALSE(s.nameFilterPasses(5, std::string("net\0other\0", 10)));
  {
    Writer w(t.env);
    w.deleteDomain(5, std::string("net\0only\0", 9));
    w.commit();
  }
  s.renew();
  CHECK(s.nameFilterPasses(5, std::string("net\0other\0", 10))); // no filter, no names
  CHECK_FALSE(s.domainBelow(5, std::string("net\0", 4)));
}

TEST_CASE("many intervals in blocks: lookups, ranges and painting match a model",
          "[store][paint]") {
  // Thousands of intervals: many blocks of the table, painted across their boundaries.
  ModelTest t;
  INFO("seed " << t.seed);
  Env& env = t.env;
  std::mt19937& rng = t.rng;
  auto r = [&] { return static_cast<uint32_t>(rng()); };
  constexpr uint32_t kSpace = 20000; // addresses 1000 .. 1000 + kSpace - 1 of dataset 5
  std::vector<uint32_t> model(kSpace, kNoValue);
  {
    Writer w(env);
    w.putIp4(4, {0, 0xffffffffU, 1}); // the neighbouring datasets cover everything
    uint32_t a = 0;
    while (a < kSpace) {
      // thirds: single addresses (blocks without ends), ranges with a few value sets (blocks
      // with a palette), ranges with a set each (blocks with every set written out)
      const uint32_t len = a < kSpace / 3 ? 1 : 1 + r() % 4, gap = r() % 3;
      const uint32_t set = a < 2 * kSpace / 3 ? 1 + r() % 3 : 100 + a;
      const uint32_t end = std::min(a + len - 1, kSpace - 1);
      w.putIp4(5, {1000 + a, 1000 + end, set});
      for (uint32_t i = a; i <= end; ++i)
        model[i] = set;
      a = end + 1 + gap;
    }
    w.putIp4(6, {0, 0xffffffffU, 2});
    CHECK_THROWS_AS(w.putIp4(6, {5, 6, 2}), StoreError); // out of order
    w.commit();
  }
  // A snapshot renewed after each change (as a server's worker is) must not keep its index of
  // the blocks of an older state; a fresh one per round builds its own.
  Snapshot live(env);
  auto compare = [&](Snapshot& s, int round) {
    INFO("round " << round);
    for (uint32_t i = 0; i < kSpace; ++i) {
      auto iv = s.ip4(5, 1000 + i);
      INFO("address " << 1000 + i);
      REQUIRE((iv ? iv->valueSet : kNoValue) == model[i]);
      if (iv) REQUIRE((iv->start <= 1000 + i && 1000 + i <= iv->end));
    }
    CHECK_FALSE(s.ip4(5, 999));
    CHECK_FALSE(s.ip4(5, 1000 + kSpace));
    CHECK(s.ip4(4, 0xffffffffU)->valueSet == 1);
    CHECK(s.ip4(6, 0)->valueSet == 2);
    for (int q = 0; q < 200; ++q) {
      uint32_t lo = r() % kSpace, hi = std::min(kSpace - 1, lo + r() % 8);
      bool any = false;
      for (uint32_t i = lo; i <= hi; ++i)
        any = any || model[i] != kNoValue;
      REQUIRE(s.ip4Any(5, 1000 + lo, 1000 + hi) == any);
    }
    // forEachIp4 gives every listed address once, in order
    std::vector<uint32_t> seen(kSpace, kNoValue);
    uint32_t last = 0;
    s.forEachIp4(5, [&](const IpInterval4& iv) {
      REQUIRE(iv.start >= last);
      for (uint32_t a = iv.start; a <= iv.end; ++a)
        seen[a - 1000] = iv.valueSet;
      last = iv.end + 1;
    });
    REQUIRE(seen == model);
  };
  auto compareBoth = [&](int round) {
    live.renew();
    compare(live, round);
    live.reset();
    live.renew(); // the same state again: the index stays
    compare(live, round);
    Snapshot fresh(env);
    compare(fresh, round);
  };
  compareBoth(-1);
  for (int round = 0; round < 40; ++round) {
    // mostly small paints, sometimes one across hundreds of intervals (several blocks)
    uint32_t a = r() % kSpace;
    uint32_t b = std::min(kSpace - 1, a + (round % 8 == 0 ? r() % 3000 : r() % 12));
    const int kind = static_cast<int>(r() % 3);
    const uint32_t c = 1 + r() % 4;
    auto f = [&](uint32_t old) {
      return kind == 0 ? c : kind == 1 ? kNoValue : old == kNoValue ? kNoValue : old + 10;
    };
    {
      Writer w(env);
      w.paintIp4(5, 1000 + a, 1000 + b, f);
      // a second paint in the same transaction, right after the first
      w.paintIp4(5, 1000 + b, 1000 + std::min(kSpace - 1, b + 5), f);
      w.commit();
    }
    for (uint32_t i = a; i <= b; ++i)
      model[i] = f(model[i]);
    for (uint32_t i = b; i <= std::min(kSpace - 1, b + 5); ++i)
      model[i] = f(model[i]);
    compareBoth(round);
  }
}
