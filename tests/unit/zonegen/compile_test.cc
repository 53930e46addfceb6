#include "zonegen/compile.hh"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <random>

using namespace dnsxl;
using namespace dnsxl::zonegen;

namespace {

struct Compiled {
  feeds::Feed feed;
  CompiledDataset ds;

  // The values answering for an address as "A/TXT" strings, in order; empty = not listed.
  std::vector<std::string> at4(const std::string& ip) const {
    return describe(findIp4(ds, *feeds::parseIp4(ip)));
  }
  std::vector<std::string> at6(const std::string& ip) const {
    return describe(findIp6(ds, *feeds::parseIp6(ip)));
  }
  std::vector<std::string> describe(uint32_t set) const {
    std::vector<std::string> out;
    if (set == kNoSet) return out;
    for (auto vi : ds.sets.at(set)) {
      const auto& v = feed.values.at(vi);
      out.push_back(feeds::formatIp4(v.a) + "/" + (v.txt ? *v.txt : "-"));
    }
    return out;
  }
};

Compiled build(const std::string& text, feeds::Format format) {
  Compiled c;
  feeds::ParseOptions o;
  o.format = format;
  feeds::parseText(text, "t.txt", o, c.feed);
  REQUIRE(c.feed.diagnostics.empty());
  c.ds = compile(c.feed, format);
  return c;
}

using V = std::vector<std::string>;

} // namespace

TEST_CASE("ip4set: the most specific octet level decides (rbldnsd §5.1)", "[zonegen]") {
  auto c = build(":127.0.0.2:L\n"
                 "10.0.0.0/24\n"
                 "10.0.0.7 :127.0.0.4:special\n"
                 "!10.0.0.9\n"
                 "10.7.0.0/24 :9:broad\n"
                 "!10.7.0.0/24\n"
                 "!10.8.0.0/16\n"
                 "10.8.1.0/24 :10:inside\n"
                 "10.9.0.0/16 :11:big\n"
                 "!10.9.1.0/24\n"
                 "10.9.1.5 :12:host\n"
                 "10.6.0.8 :7:one\n10.6.0.8 :8:two\n10.6.0.8 :7:one\n"
                 "192.0.2.0/25\n",
                 feeds::Format::Ip4set);
  CHECK(c.at4("10.0.0.1") == V{"127.0.0.2/L"});
  CHECK(c.at4("10.0.0.7") == V{"127.0.0.4/special"}); // /32 level beats the /24
  CHECK(c.at4("10.0.0.9").empty());
  CHECK(c.at4("10.0.0.255") == V{"127.0.0.2/L"});
  CHECK(c.at4("10.0.1.0").empty());
  CHECK(c.at4("10.7.0.1").empty()); // exclusion wins at the same level, whatever the order
  CHECK(c.at4("10.8.1.5") == V{"127.0.0.10/inside"});
  CHECK(c.at4("10.8.2.5").empty());
  CHECK(c.at4("10.9.1.5") == V{"127.0.0.12/host"});
  CHECK(c.at4("10.9.1.6").empty());
  CHECK(c.at4("10.9.5.5") == V{"127.0.0.11/big"});
  CHECK(c.at4("10.6.0.8") == V{"127.0.0.7/one", "127.0.0.8/two"}); // all values, no duplicates
  CHECK(c.at4("192.0.2.127") == V{"127.0.0.2/L"});
  CHECK(c.at4("192.0.2.128").empty());
}

TEST_CASE("ip4set: an unaligned range is cut into octet-level pieces", "[zonegen]") {
  // 10.1.2.3-10.1.2.50 is made of /32 pieces; an exclusion of the /24 decides nothing for them.
  auto c = build("10.1.2.3-10.1.2.50\n!10.1.2.0/24\n10.1.0.0/16 :3:wide\n", feeds::Format::Ip4set);
  CHECK(c.at4("10.1.2.3").size() == 1);
  CHECK(c.at4("10.1.2.50").size() == 1);
  CHECK(c.at4("10.1.2.51").empty()); // the /24 exclusion decides
  CHECK(c.at4("10.1.2.2").empty());
  CHECK(c.at4("10.1.3.1") == V{"127.0.0.3/wide"});
}

TEST_CASE("ip4trie: longest prefix, first duplicate wins (rbldnsd §5.3)", "[zonegen]") {
  auto c = build(":127.0.0.3:trie $\n"
                 "172.16.0.0/12\n"
                 "172.16.5.0/24 :127.0.0.5:more specific $\n"
                 "!172.16.5.128/25\n"
                 "172.16.5.200 :9:again\n"
                 "172.19.0.0/16 :8:first\n"
                 "172.19.0.0/16 :9:dup\n",
                 feeds::Format::Ip4trie);
  CHECK(c.at4("172.16.0.1") == V{"127.0.0.3/trie $"});
  CHECK(c.at4("172.31.255.255") == V{"127.0.0.3/trie $"});
  CHECK(c.at4("172.32.0.0").empty());
  CHECK(c.at4("172.16.5.1") == V{"127.0.0.5/more specific $"});
  CHECK(c.at4("172.16.5.129").empty());
  CHECK(c.at4("172.16.5.200") == V{"127.0.0.9/again"}); // listed again below the exclusion
  CHECK(c.at4("172.19.0.1") == V{"127.0.0.8/first"});
  // adjacent equal intervals are merged: /12 minus the /24 is still few intervals
  CHECK(c.ds.ip4.size() <= 8);
}

TEST_CASE("ip6trie: longest prefix and exclusions", "[zonegen]") {
  auto c = build(":127.0.0.12:v6\n2001:db8::/32\n!2001:db8::1\n2001:db8:abcd::/48 :13:more\n",
                 feeds::Format::Ip6trie);
  CHECK(c.at6("2001:db8::2") == V{"127.0.0.12/v6"});
  CHECK(c.at6("2001:db8::1").empty());
  CHECK(c.at6("2001:db8:abcd::5") == V{"127.0.0.13/more"});
  CHECK(c.at6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") == V{"127.0.0.12/v6"});
  CHECK(c.at6("2001:db9::").empty());
  CHECK(c.at6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").empty());
}

TEST_CASE("list: the smallest range decides, equal ranges merge", "[zonegen]") {
  auto c = build("10.0.0.0/8 wide\n10.1.0.0-10.1.0.9 narrow\n10.1.0.5 host\n10.1.0.5 again\n"
                 "!10.1.0.7\n0.0.0.1-255.255.255.254 all\n",
                 feeds::Format::List);
  CHECK(c.at4("10.2.0.0") == V{"127.0.0.2/wide"});
  CHECK(c.at4("10.1.0.4") == V{"127.0.0.2/narrow"});
  CHECK(c.at4("10.1.0.5") == V{"127.0.0.2/host", "127.0.0.2/again"});
  CHECK(c.at4("10.1.0.7").empty());
  CHECK(c.at4("255.255.255.254") == V{"127.0.0.2/all"});
  CHECK(c.at4("255.255.255.255").empty());
  CHECK(c.at4("0.0.0.0").empty());
}

TEST_CASE("dnset: exact and below entries per name", "[zonegen]") {
  auto c = build("example.com\n*.wild.test :3\n.both.test :4\n!good.wild.test\ntwo.test :7\n"
                 "two.test :8\n",
                 feeds::Format::Dnset);
  auto key = [](const char* k, size_t n) { return std::string(k, n); };
  const auto& d = c.ds.domains;
  REQUIRE(d.size() == 5);
  CHECK(d.at(key("com\0example\0", 12)).exact != kNoSet);
  CHECK(d.at(key("com\0example\0", 12)).wild == kNoSet);
  CHECK(d.at(key("test\0wild\0", 10)).exact == kNoSet);
  CHECK(d.at(key("test\0wild\0", 10)).wild != kNoSet);
  CHECK(d.at(key("test\0both\0", 10)).exact == d.at(key("test\0both\0", 10)).wild);
  CHECK(d.at(key("test\0wild\0good\0", 15)).exact == kExcludedSet);
  CHECK(c.describe(d.at(key("test\0two\0", 9)).exact) == V{"127.0.0.7/-", "127.0.0.8/-"});
}

TEST_CASE("ip4set: random overlapping entries answer as the level rule says", "[zonegen]") {
  // Reference: for an address, the most specific octet level holding a block of an entry that
  // contains it decides; its values in file order, none if an exclusion is among them.
  std::mt19937 engine(static_cast<unsigned>(Catch::rngSeed()));
  auto rng = [&] { return static_cast<uint32_t>(engine()); };
  struct Entry {
    uint32_t lo, hi;
    int value; // 0 = exclusion
  };
  std::vector<Entry> entries;
  std::string text;
  const uint32_t base = 0x0a000000; // 10.0.0.0; entries within 10.0.0.0/13
  for (int i = 0; i < 300; ++i) {
    const int kind = static_cast<int>(rng() % 6);
    uint32_t lo = base + (rng() & 0x7ffff), hi;
    if (kind == 0) {
      lo = base, hi = base | 0xffffff; // the /8
    } else if (kind == 1) {
      lo &= ~0xffffU, hi = lo | 0xffff;
    } else if (kind == 2) {
      lo &= ~0xffU, hi = lo | 0xff;
    } else if (kind == 3) {
      hi = lo + rng() % 700; // an unaligned range
    } else {
      hi = lo;
    }
    const int value = rng() % 5 == 0 ? 0 : static_cast<int>(1 + rng() % 4);
    entries.push_back({lo, hi, value});
    // appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) about
    // `" :" + std::string&&`
    text.append(value ? "" : "!").append(feeds::formatIp4(lo)).append("-");
    text.append(feeds::formatIp4(hi));
    if (value) text.append(fmt::format(" :{}:t{}", value, value));
    text.append("\n");
  }
  auto c = build(text, feeds::Format::Ip4set);
  auto levelOf = [](uint32_t a, const Entry& e) { // the level of e's block holding a, or -1
    if (a < e.lo || a > e.hi) return -1;
    for (int l = 0; l < 3; ++l) {
      const uint64_t size = uint64_t{1} << (24 - 8 * l);
      const uint64_t start = a & ~(size - 1);
      if (start >= e.lo && start + size - 1 <= e.hi) return l;
    }
    return 3;
  };
  std::vector<uint32_t> probes;
  for (const auto& e : entries)
    for (uint32_t a : {e.lo, e.hi, e.lo - 1, e.hi + 1})
      probes.push_back(a);
  for (int i = 0; i < 3000; ++i)
    probes.push_back(base + (rng() & 0x7ffff));
  for (uint32_t a : probes) {
    int best = -1;
    for (const auto& e : entries)
      best = std::max(best, levelOf(a, e));
    V expected;
    bool excluded = false;
    if (best >= 0)
      for (const auto& e : entries) {
        if (levelOf(a, e) != best) continue;
        if (!e.value) excluded = true;
        const auto d = "127.0.0." + std::to_string(e.value) + "/t" + std::to_string(e.value);
        if (e.value && std::find(expected.begin(), expected.end(), d) == expected.end())
          expected.push_back(d);
      }
    if (excluded) expected.clear();
    INFO(feeds::formatIp4(a));
    CHECK(c.at4(feeds::formatIp4(a)) == expected);
  }
}
