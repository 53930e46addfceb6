// The entries' index against a model: random address ranges (aligned or not, overlapping, the
// edges of the address space), IPv6 ranges and names with their scopes; every probe's entries
// through the index equal those a scan of all entries finds, before and after deletions.
#include "store/store.hh"
#include "tests/unit/store/store_support.hh"

#include <catch2/catch.hpp>
#include <random>
#include <set>

using namespace dnsxl;
using store::EntryRecord;

namespace {

bool covers(const EntryRecord& e, int kind, uint32_t v4, const store::Ip6& v6,
            const std::string& name) {
  switch (e.kind) {
  case EntryRecord::V4:
    return kind == 4 && e.lo4 <= v4 && v4 <= e.hi4;
  case EntryRecord::V6:
    return kind == 6 && e.lo6 <= v6 && v6 <= e.hi6;
  case EntryRecord::Name:
    if (kind != 'n') return false;
    if (name == e.name) return e.scope != 1;
    return e.scope != 0 && name.size() > e.name.size() && name.ends_with("." + e.name);
  }
  return false;
}

const std::vector<std::string> kNames = {"example.com", "a.example.com", "b.a.example.com",
                                         "com",         "example.net",   "x.example.net"};

// An address at an edge of the space or in a small area (where the ranges overlap).
uint32_t randomAddress(std::mt19937& rng) {
  switch (rng() % 4) {
  case 0:
    return 0;
  case 1:
    return ~uint32_t{0};
  default:
    return static_cast<uint32_t>(0xC0000000U + rng() % 0x20000);
  }
}

std::vector<EntryRecord> randomEntries(std::mt19937& rng) {
  std::vector<EntryRecord> entries;
  for (int i = 0; i < 400; ++i) {
    EntryRecord e;
    switch (rng() % 3) {
    case 0: {
      e.kind = EntryRecord::V4;
      uint32_t a = randomAddress(rng), b = randomAddress(rng);
      if (rng() % 2) b = a + static_cast<uint32_t>(rng() % 300); // small ranges, unaligned
      e.lo4 = std::min(a, b), e.hi4 = std::max(a, b);
      break;
    }
    case 1: {
      e.kind = EntryRecord::V6;
      e.lo6 = test::ip6(static_cast<uint8_t>(rng() % 200));
      e.hi6 = e.lo6;
      e.hi6[15] = static_cast<uint8_t>(e.lo6[15] + rng() % 50);
      if (rng() % 10 == 0) e.hi6.fill(0xff); // to the end of the space
      if (rng() % 20 == 0) e.lo6.fill(0);    // ... or the whole of it
      break;
    }
    default:
      e.kind = EntryRecord::Name;
      e.name = kNames[rng() % kNames.size()];
      e.scope = static_cast<uint8_t>(rng() % 3);
    }
    e.line = static_cast<uint32_t>(i + 1);
    entries.push_back(e);
  }
  return entries;
}

} // namespace

TEST_CASE("entries' index: the entries covering an address or name, as a scan finds them",
          "[store][index]") {
  const uint32_t seed = test::seed();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  test::TempDir dir;
  store::Env env(dir.path(), {});
  const auto& names = kNames;
  auto rand32 = [&] { return randomAddress(rng); };
  const std::vector<EntryRecord> entries = randomEntries(rng);
  {
    store::Writer w(env);
    w.clearData();
    for (size_t i = 0; i < entries.size(); ++i)
      w.putEntry(store::entryKey(7, static_cast<uint32_t>(i)), store::encodeEntry(entries[i]));
    w.commit();
  }
  std::set<uint32_t> deleted;
  auto check = [&] {
    store::Snapshot snap(env);
    REQUIRE(snap.hasEntryIndex());
    for (int p = 0; p < 300; ++p) {
      const int kind = p % 3 == 0 ? 4 : p % 3 == 1 ? 6 : 'n';
      const uint32_t v4 = rand32();
      store::Ip6 v6 = test::ip6(static_cast<uint8_t>(rng() % 256));
      if (rng() % 10 == 0) v6.fill(0xff);
      const std::string name = (rng() % 2 ? "z." : "") + names[rng() % names.size()];
      std::set<uint32_t> want, got;
      for (size_t i = 0; i < entries.size(); ++i)
        if (!deleted.count(static_cast<uint32_t>(i)) && covers(entries[i], kind, v4, v6, name))
          want.insert(static_cast<uint32_t>(i));
      auto take = [&](std::string_view key, std::string_view bytes) {
        REQUIRE(key.size() == 8);
        const uint32_t seq = static_cast<uint32_t>(static_cast<uint8_t>(key[4])) << 24 |
                             static_cast<uint32_t>(static_cast<uint8_t>(key[5])) << 16 |
                             static_cast<uint32_t>(static_cast<uint8_t>(key[6])) << 8 |
                             static_cast<uint8_t>(key[7]);
        CHECK(store::decodeEntry(bytes).line == seq + 1);
        CHECK(got.insert(seq).second); // each once
      };
      if (kind == 4)
        snap.entriesCovering4(7, v4, take);
      else if (kind == 6)
        snap.entriesCovering6(7, v6, take);
      else
        snap.entriesCoveringName(7, name, take);
      INFO("probe " << p << " kind " << kind << " v4 " << v4 << " name " << name);
      CHECK(got == want);
      std::set<uint32_t> other; // another dataset sees none of them
      snap.entriesCovering4(8, v4, [&](std::string_view, std::string_view) { other.insert(0); });
      CHECK(other.empty());
    }
  };
  check();
  {
    store::Writer w(env);
    for (uint32_t i = 0; i < entries.size(); i += 3) {
      w.deleteEntry(store::entryKey(7, i));
      deleted.insert(i);
    }
    w.commit();
  }
  check();
}

TEST_CASE("entries' index: none until an import writes every entry with it", "[store][index]") {
  test::TempDir dir;
  store::Env env(dir.path(), {});
  {
    store::Writer w(env); // entries written without clearData: an older store's, in effect
    EntryRecord e;
    e.lo4 = e.hi4 = 0x0a000001;
    w.putEntry(store::entryKey(1, 0), store::encodeEntry(e));
    w.commit();
  }
  store::Snapshot snap(env);
  CHECK_FALSE(snap.hasEntryIndex());
}
