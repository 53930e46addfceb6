// Debian's rbldnsd and dnsxld on the same data files, asked the same questions: rcode, A set and
// TXT set must agree, except where dnsxl does better by design (docs/rbldnsd.md "Differences from
// rbldnsd"): NODATA instead of NXDOMAIN for empty non-terminals.
#include "tests/integration/rbldnsd_compare.hh"

using namespace dnsxl;
using namespace dnsxl::test::compare;

namespace {

// A value suffix in rbldnsd syntax, chosen at random.
struct Rng {
  explicit Rng(unsigned seed) : e(seed) {}
  std::mt19937 e;
  uint32_t operator()() { return static_cast<uint32_t>(e()); }
};

std::string randomValue(Rng& rng, int i) {
  switch (rng() % 8) {
  case 0:
    return "";
  case 1:
    return fmt::format(" :{}", 2 + rng() % 20);
  case 2:
    return fmt::format(" :{}:", 2 + rng() % 20);
  case 3:
    return fmt::format(" :{}:entry {} for $", 2 + rng() % 20, i);
  case 4:
    return fmt::format(" text {} about $ and $$", i);
  case 5:
    return fmt::format(" =own text {} for $, no base template", i); // `=`: opt out of `$=`
  case 6:
    return fmt::format(" :{}:ref{} ${}", 2 + rng() % 20, i, rng() % 10); // a $n variable
  default:
    return fmt::format(":127.0.0.{}:tight {}", 2 + rng() % 20, i);
  }
}

// A generated data file and the names (relative to the zone or subzone) to ask about it.
struct Probe {
  std::string rel;
  uint16_t type;
  bool mayBeEnt = false;
  bool wholeAnswer = false; // compare every answer record (owner, TTL, type, data)
};
struct Data {
  std::string text;
  std::vector<Probe> probes;
};

uint16_t aTxtOrAny(Rng& rng) {
  switch (rng() % 3) {
  case 0:
    return 16;
  case 1:
    return 1;
  default:
    return 255;
  }
}

// Lines that change the file's defaults mid-way: a default value line, a `$=` base template,
// a `$n` variable.
std::string randomSpecial(Rng& rng, int i) {
  switch (rng() % 3) {
  case 0:
    return fmt::format(":{}:default {} $\n", 2 + rng() % 20, i);
  case 1:
    return fmt::format("$= Listed {}: $= (see http://bl.test/{}/$)\n", i, i);
  default:
    return fmt::format("${} var{}-{}\n", rng() % 10, rng() % 10, i);
  }
}

// ip4set: addresses, prefixes, CIDRs, both range forms, exclusions and default lines in the /16
// `base`; probes at every range edge ±1, random addresses and 3-label names.
Data genIp4set(Rng& rng, uint32_t base, int n, int randomProbes) {
  Data d;
  auto ask = [&](uint32_t a) { d.probes.push_back({rev4(a), aTxtOrAny(rng)}); };
  for (int i = 0; i < n; ++i) {
    if (rng() % 25 == 0) d.text += randomSpecial(rng, i);
    uint32_t a = base | (rng() & 0xffff);
    uint32_t lo = a, hi = a;
    std::string key;
    switch (rng() % 6) {
    case 0:
      key = ip4(a);
      break;
    case 1:
      lo = a & 0xffffff00, hi = lo | 0xff;
      key = fmt::format("{}.{}.{}", lo >> 24, (lo >> 16) & 255, (lo >> 8) & 255);
      break;
    case 2: {
      int bits = 22 + static_cast<int>(rng() % 11);
      uint32_t m = ~uint32_t{0} << (32 - bits);
      lo = a & m, hi = lo | ~m;
      key = fmt::format("{}/{}", ip4(lo), bits);
      break;
    }
    case 3: {
      uint32_t end = std::min<uint32_t>(255, (a & 255) + rng() % 40);
      hi = (a & 0xffffff00) | end;
      key = fmt::format("{}-{}", ip4(a), end);
      break;
    }
    case 4:
      hi = std::min<uint32_t>(base | 0xffff, a + rng() % 700);
      key = fmt::format("{}-{}", ip4(a), ip4(hi));
      break;
    default:
      key = "!" + ip4(a & (rng() % 2 ? 0xffffff00 : 0xffffffff));
    }
    d.text += key + (key[0] == '!' ? "" : randomValue(rng, i)) + "\n";
    for (uint32_t q : {lo - 1, lo, hi, hi + 1})
      ask(q);
  }
  for (int i = 0; i < randomProbes; ++i)
    ask(base | (rng() & 0xffff));
  for (int i = 0; i < randomProbes / 10; ++i) {
    uint32_t a = base | (rng() & 0xffff);
    d.probes.push_back(
        {fmt::format("{}.{}.{}", (a >> 8) & 255, (a >> 16) & 255, a >> 24), 1, true});
  }
  return d;
}

// ip4trie: prefixes /12../32 in the /12 `base`, exclusions, duplicates.
Data genIp4trie(Rng& rng, uint32_t base, int n, int randomProbes) {
  Data d;
  auto ask = [&](uint32_t a) { d.probes.push_back({rev4(a), aTxtOrAny(rng)}); };
  for (int i = 0; i < n; ++i) {
    if (rng() % 40 == 0) d.text += randomSpecial(rng, i);
    int bits = 12 + static_cast<int>(rng() % 21);
    uint32_t m = ~uint32_t{0} << (32 - bits);
    uint32_t lo = (base | (rng() & 0xfffff)) & m;
    std::string key = fmt::format("{}/{}", ip4(lo), bits);
    bool excl = rng() % 5 == 0;
    d.text += (excl ? "!" : "") + key + (excl ? "" : randomValue(rng, i)) + "\n";
    for (uint32_t q : {lo - 1, lo, lo | ~m, (lo | ~m) + 1})
      ask(q);
  }
  for (int i = 0; i < randomProbes; ++i)
    ask(base | (rng() & 0xfffff));
  return d;
}

// dnset: exact, *.name, .name, exclusions, several values per name; probes at, above and below.
Data genDnset(Rng& rng, int n) {
  Data d;
  const char* words[] = {"spam", "evil", "shop", "mail", "cdn", "login", "pay", "x"};
  auto word = [&] { return std::string(words[rng() % 8]); };
  std::vector<std::string> names;
  std::set<std::string> keys, belowKeys; // every key; keys with a "*." or "." entry
  for (int i = 0; i < n; ++i) {
    if (rng() % 40 == 0) d.text += randomSpecial(rng, i);
    std::string name = word() + "." + (rng() % 2 ? word() + "." : "") + (rng() % 2 ? "com" : "net");
    names.push_back(name);
    std::string prefix[] = {"", "*.", ".", "!", "!*."};
    auto p = prefix[rng() % 5];
    std::string value = p[0] == '!' ? "" : randomValue(rng, i);
    if (!value.empty() && value[0] == ':') value = " " + value; // a domain key ends at a blank
    d.text += p + name + value + "\n";
    keys.insert(name);
    if (p.find('.') != std::string::npos) belowKeys.insert(name);
  }
  // An empty non-terminal: something is listed (or excluded) below the name.
  auto hasBelow = [&](const std::string& q) {
    if (belowKeys.count(q)) return true;
    for (const auto& k : keys)
      if (k.size() > q.size() && k.ends_with("." + q)) return true;
    return false;
  };
  auto ask = [&](const std::string& q, uint16_t type) {
    d.probes.push_back({q, type, hasBelow(q)});
  };
  for (const auto& name : names) {
    ask(name, 255);
    ask(word() + "." + name, 16);
    ask(word() + "." + word() + "." + name, 1);
    ask(name.substr(name.find('.') + 1), 1);
  }
  return d;
}

std::string nibbles(const std::array<uint8_t, 16>& a) {
  std::string s;
  for (int i = 31; i >= 0; --i)
    s += fmt::format("{:x}.", (a[static_cast<size_t>(i / 2)] >> (i % 2 ? 0 : 4)) & 15);
  s.pop_back();
  return s;
}

// ip6trie: prefixes /32../128 in 2001:db8::/32.
Data genIp6trie(Rng& rng, int n) {
  Data d;
  for (int i = 0; i < n; ++i) {
    if (rng() % 40 == 0) d.text += randomSpecial(rng, i);
    int bits = 32 + static_cast<int>(rng() % 25) * 4;
    std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
    for (size_t k = 4; k < 16; ++k)
      a[k] = static_cast<uint8_t>(rng());
    for (int b = bits; b < 128; ++b)
      a[static_cast<size_t>(b / 8)] &= static_cast<uint8_t>(~(0x80 >> (b % 8)));
    char text[64];
    inet_ntop(AF_INET6, a.data(), text, sizeof text);
    bool excl = rng() % 5 == 0;
    std::string value = excl ? "" : randomValue(rng, i);
    if (!value.empty() && value[0] == ':') value = " " + value; // an IPv6 key ends at a blank
    d.text += fmt::format("{}{}/{}{}\n", excl ? "!" : "", text, bits, value);
    d.probes.push_back({nibbles(a), 255});
    auto b = a;
    b[15] ^= 1;
    d.probes.push_back({nibbles(b), 16});
  }
  return d;
}

// ip4tset: addresses in 10.50/16 sharing the first default line; values after them ignored.
Data genIp4tset(Rng& rng, int n) {
  Data d;
  d.text = ":127.0.0.20:tset $\n:127.0.0.21:ignored\n";
  for (int i = 0; i < n; ++i) {
    uint32_t a = 0x0a320000 | (rng() & 0x3ff);
    d.text += ip4(a) + (i % 7 == 0 ? " :22:per-entry value, ignored" : "") + "\n";
    d.probes.push_back({rev4(a), aTxtOrAny(rng)});
    d.probes.push_back({rev4(a + 1), aTxtOrAny(rng)});
  }
  return d;
}

// ip6tset: /64s in 2001:db8:5::/48 with single-address exclusions.
Data genIp6tset(Rng& rng, int n) {
  Data d;
  d.text = ":127.0.0.14:v6 tset $\n";
  for (int i = 0; i < n; ++i) {
    std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8,
                              0x00, 0x05, 0,    static_cast<uint8_t>(rng() % 64)};
    char text[64];
    d.text += fmt::format("2001:db8:5:{:x}\n", a[7]);
    a[15] = static_cast<uint8_t>(rng() % 8);
    if (i % 3 == 0) {
      inet_ntop(AF_INET6, a.data(), text, sizeof text);
      d.text += std::string("!") + text + "\n";
    }
    d.probes.push_back({nibbles(a), 255});
    a[15] = static_cast<uint8_t>(rng() % 8);
    d.probes.push_back({nibbles(a), 1});
  }
  return d;
}

// generic: A (inet_aton forms), TXT (quoted or not), MX records with and without TTL and IN, on
// `@` and on names of one or two labels; probes for every type rbldnsd serves and some it does
// not, on each name, below it and beside it.
Data genGeneric(Rng& rng, int n) {
  Data d;
  const char* words[] = {"@", "www", "mail", "ns1", "a.b", "info", "x.www", "multi"};
  std::set<std::string> owners;
  for (int i = 0; i < n; ++i) {
    std::string owner = words[rng() % 8];
    owners.insert(owner);
    std::string ttl = rng() % 3 == 0 ? fmt::format(" {}", 60 + rng() % 4000) : "";
    std::string in = rng() % 4 == 0 ? " IN" : "";
    std::string rr;
    switch (rng() % 5) {
    case 0:
      rr = fmt::format("A 192.0.2.{}", rng() % 256);
      break;
    case 1:
      rr = fmt::format("A 127.{}", rng() % 65536); // inet_aton: 127.0.x.y
      break;
    case 2:
      rr = fmt::format("TXT \"generic text {} for {}\"", i, owner);
      break;
    case 3:
      rr = fmt::format("TXT unquoted text {}", i);
      break;
    default:
      rr = fmt::format("MX {} mx{}.example.net", rng() % 50, rng() % 3);
    }
    d.text += owner + ttl + in + " " + rr + "\n";
  }
  for (const auto& o : owners)
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{15}, uint16_t{255}, uint16_t{28}}) {
      if (o == "@") continue; // the apex is asked by the caller
      d.probes.push_back({o, t, false, true});
      d.probes.push_back({"sub." + o, t, false, true});
    }
  for (auto o : {"nothing", "ww", "wwww", "b", "mail.x"})
    d.probes.push_back({o, 1, std::string(o) == "b", true});
  return d;
}

struct Generated {
  std::vector<std::pair<std::string, std::string>> files; // name, content
  std::vector<std::string> zones;                         // zone specs for the command line
  std::vector<Question> questions;
};

void ask(Generated& g, const Data& d, const std::string& zone, size_t limit = SIZE_MAX) {
  for (size_t i = 0; i < d.probes.size() && i < limit; ++i) {
    const auto& p = d.probes[i];
    g.questions.push_back({p.rel + "." + zone, p.type, p.mayBeEnt, p.wholeAnswer});
  }
}

Generated generate(unsigned seed) {
  Rng rng(seed);
  Generated g;
  auto dataset = [&](const std::string& zone, const std::string& type, const std::string& file,
                     const Data& d) {
    g.files.emplace_back(file, d.text);
    g.zones.push_back(zone + ":" + type + ":" + file);
    ask(g, d, zone);
  };
  // Each type in a zone of its own; the first file of each starts with a base template or
  // variables now and then.
  dataset("gen.test", "ip4set", "gen4set.txt", genIp4set(rng, 0x0a640000, 400, 600));
  dataset("gtrie.test", "ip4trie", "gen4trie.txt", genIp4trie(rng, 0xac100000, 300, 400));
  dataset("gdom.test", "dnset", "gendom.txt", genDnset(rng, 200));
  dataset("g6.test", "ip6trie", "gen6.txt", genIp6trie(rng, 150));
  dataset("gtset.test", "ip4tset", "gen4tset.txt", genIp4tset(rng, 300));
  dataset("g6tset.test", "ip6tset", "gen6tset.txt", genIp6tset(rng, 100));

  // generic beside an ip4set and a dnset in one zone, with $SOA and $NS from the generic file.
  {
    auto gen = genGeneric(rng, 60);
    gen.text = "$SOA 1h ns1.gmix.test hostmaster.gmix.test 7 1h 15m 1w 5m\n$NS 2h ns1.gmix.test\n" +
               gen.text;
    dataset("gmix.test", "generic", "genmix.txt", gen);
    dataset("gmix.test", "ip4set", "genmix4.txt", genIp4set(rng, 0x0a460000, 80, 60));
    dataset("gmix.test", "dnset", "genmixd.txt", genDnset(rng, 40));
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{15}, uint16_t{6}, uint16_t{2},
                       uint16_t{255}, uint16_t{28}})
      g.questions.push_back({"gmix.test", t, false, true});
  }

  // combined: a common section ($TTL, variables), then sections of every nestable type with
  // their own $TTL and variables, for the base zone (@), one- and two-label subzones, and
  // subzones shared by several sections; each section's probes asked in its subzones and in one
  // it does not serve.
  {
    Generated unused;
    std::string text = "$SOA 600 ns1.gcomb.test admin.gcomb.test 0 2h 1h 1w 5m\n"
                       "$NS 1h ns1.gcomb.test\n$TTL 300\n$1 common-one\n$2 common-two\n";
    struct Section {
      std::string header;
      std::vector<std::string> subzones; // "" = @
      Data data;
    };
    std::vector<Section> sections;
    sections.push_back(
        {"ip4set:v4 @ v4 both", {"", "v4", "both"}, genIp4set(rng, 0x0a3c0000, 120, 80)});
    sections.push_back({"ip4trie t4 both", {"t4", "both"}, genIp4trie(rng, 0xac200000, 80, 60)});
    sections.push_back({"dnset:dom dom a.dom", {"dom", "a.dom"}, genDnset(rng, 60)});
    sections.push_back({"ip6trie v6 @", {"v6", ""}, genIp6trie(rng, 50)});
    sections.push_back({"ip4tset ts", {"ts"}, genIp4tset(rng, 60)});
    sections.push_back({"ip6tset v6t", {"v6t"}, genIp6tset(rng, 40)});
    sections.push_back({"generic:meta @ dom www", {"", "dom", "www"}, genGeneric(rng, 30)});
    for (size_t si = 0; si < sections.size(); ++si) {
      auto& s = sections[si];
      text += "$DATASET " + s.header + (si % 2 ? " # a comment\n" : "\n");
      if (rng() % 2) text += fmt::format("$TTL {}\n", 60 + rng() % 1000);
      if (rng() % 2) text += fmt::format("$2 section-{}\n", si);
      text += s.data.text;
      for (const auto& sub : s.subzones) {
        std::string zone = sub.empty() ? "gcomb.test" : sub + ".gcomb.test";
        ask(g, s.data, zone);
        for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}, uint16_t{6}})
          g.questions.push_back({zone, t, false, true});
      }
      ask(g, s.data, "nosuch.gcomb.test", 20);
      ask(g, s.data, (si == 0 ? "dom" : "v4") + std::string(".gcomb.test"), 20);
    }
    g.files.emplace_back("gencomb.txt", text);
    g.zones.push_back("gcomb.test:combined:gencomb.txt");
  }
  return g;
}

std::vector<Question> probeQuestions() {
  std::vector<Question> q;
  for (auto n : {"1.0.0.10",  "7.0.0.10",  "9.0.0.10",   "3.2.1.10",    "51.2.1.10",   "99.3.2.10",
                 "5.4.3.10",  "5.0.5.10",  "6.0.5.10",   "127.2.0.192", "128.2.0.192", "5.0.6.10",
                 "6.0.6.10",  "7.0.6.10",  "8.0.6.10",   "1.0.7.10",    "5.1.8.10",    "5.2.8.10",
                 "5.5.9.10",  "6.1.9.10",  "5.1.9.10",   "1.0.12.10",   "1.0.13.10",   "2.0.13.10",
                 "1.0.10.10", "01.0.0.10", "1.1.0.0.10", "foo",         "256.0.0.10",  "1.0.11.10"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}, uint16_t{28}})
      q.push_back({std::string(n) + ".bl.test", t});
  q.push_back({"0.0.10.bl.test", 1, true});
  for (auto n : {"1.0.80.10", "2.0.80.10", "3.0.80.10", "4.0.80.10", "5.0.80.10", "6.0.80.10",
                 "1.0.81.10", "1.0.82.10", "1.0.83.10", "1.0.84.10"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}})
      q.push_back({std::string(n) + ".tmpl.test", t});
  for (auto n : {"example.com", "foo.wild.test", "evil.net", "www.evil.net", "two.test", "x.y"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}})
      q.push_back({std::string(n) + ".gz.test", t});
  // combined (rbldnsd §10.1 rows 99-121)
  for (auto n : {"1.2.20.10.comb.test",
                 "1.2.20.10.dyn.comb.test",
                 "dyn.comb.test",
                 "www.dyn.comb.test",
                 "v6.comb.test",
                 "v6t.comb.test",
                 "nosuch.comb.test",
                 "spam.example.dom.comb.test",
                 "spam.example.comb.test",
                 "dom.comb.test",
                 "comb.test",
                 "1.2.20.10.v6.comb.test",
                 "9.9.20.10.dom.comb.test",
                 "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.comb.test",
                 "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.comb.test",
                 "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.b.d.0.1.0.0.2.comb.test",
                 "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.b.d.0.1.0.0.2.comb.test",
                 "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.v6t.comb.test",
                 "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.v6t.comb.test",
                 "2.0.1.0.4.1.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.comb.test"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}, uint16_t{28}})
      q.push_back({n, t});
  q.push_back({"8.b.d.0.1.0.0.2.comb.test", 1, true});
  for (auto n :
       {"bl.test", "www.bl.test", "multi.bl.test", "ns1.bl.test", "foo.bl.test", "x.www.bl.test"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{15}, uint16_t{28}, uint16_t{255}})
      q.push_back({n, t});
  q.push_back({"1.0.0.10.BL.Test", 1});
  for (auto n : {"1.0.16.172", "1.5.16.172", "129.5.16.172", "1.0.17.172", "1.1.18.172",
                 "9.2.18.172", "1.0.19.172", "1.0.32.172", "1.0.20.172"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}})
      q.push_back({std::string(n) + ".trie.bl.test", t});
  for (auto n : {"example.com", "sub.example.com", "foo.wild.test", "a.b.wild.test", "wild.test",
                 "both.test", "x.both.test", "good.wild.test", "a.good.wild.test", "evil.net",
                 "www.evil.net", "MiXeD.case.TEST", "two.test", "nothing.test"})
    for (uint16_t t : {uint16_t{1}, uint16_t{16}, uint16_t{255}})
      q.push_back({std::string(n) + ".dbl.test", t, std::string(n) == "wild.test"});
  q.push_back({"com.dbl.test", 1, true});
  return q;
}

} // namespace

TEST_CASE("dnsxld answers like rbldnsd given the same command line and files", "[rbldnsd]") {
  if (::access(kRbldnsd, X_OK) != 0) FAIL("rbldnsd is not installed (apt-get install rbldnsd)");
  // DNSXL_SEED=n explores other data; CI runs the fixed seed.
  const char* seedEnv = std::getenv("DNSXL_SEED");
  const unsigned seed = seedEnv ? static_cast<unsigned>(std::stoul(seedEnv)) : 20261129U;
  INFO("seed " << seed);
  auto g = generate(seed);
  const std::filesystem::path probe =
      std::filesystem::path(DNSXL_SOURCE_DIR) / "tests/data/rbldnsd-probe";
  test::TempDir dir;
  for (auto name :
       {"ip4set.txt", "ip4set2.txt", "ip4trie.txt", "dnset.txt", "generic.txt", "combined.txt"})
    std::filesystem::copy_file(probe / name, dir / name);
  for (const auto& [name, text] : g.files)
    dir.write(name, text);
  // $= base templates (rbldnsd §4.3's verified table), $MAXRANGE4, $TIMESTAMP
  dir.write("tmpl.txt", "$= See http://bl.test/why?$= ($) for details\n"
                        ":127.0.0.2:default-text\n10.80.0.1 r123\n10.80.0.2\n"
                        "10.80.0.3 =Other lists: $\n10.80.0.4 :6:\n10.80.0.5 :7\n"
                        "$MAXRANGE4 /24\n10.81.0.0/16\n10.82.0.0/24\n$MAXRANGE4 /28\n"
                        "10.83.0.0/24\n10.84.0.0/28\n$TIMESTAMP 2026:01:01 +3650d\n");
  {
    // the dnset probe file, gzip-compressed
    std::ifstream in(probe / "dnset.txt", std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    gzFile gz = gzopen((dir / "dnset.txt.gz").c_str(), "wb");
    gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
    gzclose(gz);
  }
  // rbldnsd drops privileges to nobody: let it read the files.
  std::filesystem::permissions(
      dir.path(), std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                      std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                      std::filesystem::perms::others_exec);
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    if (e.is_regular_file())
      std::filesystem::permissions(e.path(), std::filesystem::perms::others_read,
                                   std::filesystem::perm_options::add);

  std::vector<std::string> zones = {"bl.test:ip4set:ip4set.txt,ip4set2.txt",
                                    "bl.test:generic:generic.txt",
                                    "comb.test:combined:combined.txt",
                                    "tmpl.test:ip4set:tmpl.txt",
                                    "gz.test:dnset:dnset.txt.gz",
                                    "trie.bl.test:ip4trie:ip4trie.txt",
                                    "dbl.test:dnset:dnset.txt"};
  zones.insert(zones.end(), g.zones.begin(), g.zones.end());
  Rbldnsd ref(dir.path(), zones);
  REQUIRE(test::udpQuery(ref.port(), "1.0.0.10.bl.test", 1).parsed);
  std::vector<std::string> args = {"-n", "-b", "127.0.0.1/0", "-w", dir.path().string()};
  args.insert(args.end(), zones.begin(), zones.end());
  test::Daemon ours(args, 1);

  auto questions = probeQuestions();
  questions.insert(questions.end(), g.questions.begin(), g.questions.end());
  size_t compared = 0, entImprovements = 0, listed = 0;
  for (const auto& q : questions) {
    auto theirs = test::udpQuery(ref.port(), q.name, q.type);
    auto mine = test::udpQuery(ours.port(), q.name, q.type);
    INFO(q.name << " type " << q.type);
    REQUIRE(theirs.parsed);
    REQUIRE(mine.parsed);
    if (q.mayBeEnt && theirs.rcode == 3 && mine.rcode == 0 && mine.answer.empty()) {
      ++entImprovements;
      continue;
    }
    CHECK(mine.rcode == theirs.rcode);
    CHECK(sorted(mine.a) == sorted(theirs.a));
    CHECK(sorted(mine.txt) == sorted(theirs.txt));
    if (q.wholeAnswer) CHECK(sorted(mine.answer) == sorted(theirs.answer));
    listed += mine.a.empty() ? size_t{0} : size_t{1};
    ++compared;
  }
  WARN(fmt::format("{} questions compared with rbldnsd ({} listed), {} empty non-terminals "
                   "answered NODATA instead of NXDOMAIN",
                   compared, listed, entImprovements));
  CHECK(compared > 3000);
  CHECK(listed > 500);
}

TEST_CASE("acl: the same actions per client as rbldnsd (rbldnsd §5.9)", "[rbldnsd]") {
  if (::access(kRbldnsd, X_OK) != 0) FAIL("rbldnsd is not installed (apt-get install rbldnsd)");
  const std::filesystem::path probe =
      std::filesystem::path(DNSXL_SOURCE_DIR) / "tests/data/rbldnsd-probe";
  test::TempDir dir;
  for (auto name : {"ip4set.txt", "ip4set2.txt", "generic.txt", "acl.txt", "dnset.txt"})
    std::filesystem::copy_file(probe / name, dir / name);
  dir.write("global.txt", "127.0.0.6 :refuse\n127.0.0.7\n");
  readableByRbldnsd(dir.path());
  const std::vector<std::string> zones = {"bl.test:ip4set:ip4set.txt,ip4set2.txt",
                                          "bl.test:generic:generic.txt", "bl.test:acl:acl.txt",
                                          "dbl.test:dnset:dnset.txt", ":acl:global.txt"};
  Rbldnsd ref(dir.path(), zones);
  std::vector<std::string> args = {"-n", "-b", "127.0.0.1/0", "-w", dir.path().string()};
  args.insert(args.end(), zones.begin(), zones.end());
  test::Daemon ours(args, 1);

  size_t compared = 0;
  for (auto client : {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6",
                      "127.0.0.7", "127.0.0.8"}) {
    test::QueryOptions o;
    o.source = client;
    bool ignored = false;
    for (auto name :
         {"1.0.0.10.bl.test", "9.9.9.9.bl.test", "foo.bl.test", "bl.test", "www.bl.test",
          "example.com.dbl.test", "nothing.dbl.test", "1.0.0.10.dbl.test"})
      for (uint16_t type : {uint16_t{1}, uint16_t{16}, uint16_t{255}, uint16_t{6}}) {
        if (ignored) break;
        INFO(client << " asks " << name << " type " << type);
        auto theirs = test::udpExchange(ref.port(), test::makeQuery(name, type, o),
                                        std::chrono::milliseconds(300), client);
        auto mine = test::udpExchange(ours.port(), test::makeQuery(name, type, o),
                                      std::chrono::milliseconds(300), client);
        REQUIRE(theirs.has_value() == mine.has_value()); // :ignore drops the query
        if (!theirs) {
          ignored = true; // every query of this client is dropped: one check is enough
          break;
        }
        auto t = test::parseReply(*theirs), m = test::parseReply(*mine);
        bool generic = std::string(name) == "bl.test" || std::string(name) == "www.bl.test";
        bool hidden = std::string(client) == "127.0.0.4" || std::string(client) == "127.0.0.5";
        if (generic && hidden && type != 6) {
          // rbldnsd's bug 1: its :empty and always-listed clients lose the generic records.
          CHECK(m.answer.size() > t.answer.size());
          continue;
        }
        CHECK(m.rcode == t.rcode);
        CHECK(sorted(m.a) == sorted(t.a));
        CHECK(sorted(m.txt) == sorted(t.txt));
        ++compared;
      }
  }
  CHECK(compared > 150);
}

namespace {

// Client prefixes inside 127.0.0.0/14 (every address there reaches us over loopback), nested and
// overlapping, with every action, keyword default lines, and IPv6 entries that never match: the
// zone acl and the global acl, and the clients worth asking from (each prefix's edges and more).
std::vector<uint32_t> randomAcl(Rng& rng, std::string& acl, std::string& global) {
  auto client = [&] { return 0x7f000000U | (rng() & 0x3ffff); };
  std::vector<uint32_t> clients;
  const char* keywords[] = {":ignore", ":blackhole", ":refuse", ":empty", ":pass", "=refuse"};
  for (int i = 0; i < 70; ++i) {
    if (rng() % 10 == 0) acl += std::string(keywords[rng() % 6]) + "\n"; // a new default action
    int bits = 14 + static_cast<int>(rng() % 19);
    uint32_t m = ~uint32_t{0} << (32 - bits);
    uint32_t lo = client() & m;
    std::string action;
    switch (rng() % 8) {
    case 0:
      break; // the default action
    case 1:
    case 2:
      action = std::string(" ") + keywords[rng() % 6];
      break;
    case 3:
      action = fmt::format(" :127.0.0.{}:Client $ is always listed ({})", 2 + rng() % 50, i);
      break;
    default:
      action = " :pass";
    }
    acl += fmt::format("{}/{}{}\n", ip4(lo), bits, action);
    clients.push_back(lo);
    clients.push_back(lo | ~m);
    clients.push_back((lo | ~m) + 1);
  }
  acl += "2001:db8::/32 :refuse\n";
  for (int i = 0; i < 6; ++i) {
    int bits = 16 + static_cast<int>(rng() % 17);
    uint32_t lo = client() & (~uint32_t{0} << (32 - bits));
    global += fmt::format("{}/{} {}\n", ip4(lo), bits, keywords[rng() % 6]);
    clients.push_back(lo);
  }
  for (int i = 0; i < 40; ++i)
    clients.push_back(client());
  std::erase_if(clients,
                [](uint32_t c) { return c == 0x7f000001 || (c >> 18) != (0x7f000000 >> 18); });

  return clients;
}

} // namespace

TEST_CASE("acl: random client prefixes and actions decide as in rbldnsd", "[rbldnsd]") {
  if (::access(kRbldnsd, X_OK) != 0) FAIL("rbldnsd is not installed (apt-get install rbldnsd)");
  const char* seedEnv = std::getenv("DNSXL_SEED");
  const unsigned seed = seedEnv ? static_cast<unsigned>(std::stoul(seedEnv)) : 20261130U;
  INFO("seed " << seed);
  Rng rng(seed);
  std::string acl, global;
  const auto clients = randomAcl(rng, acl, global);
  test::TempDir dir;
  dir.write("data.txt", "$SOA 1h ns1.acl.test hostmaster.acl.test 1 1h 15m 1w 5m\n"
                        "$NS 1h ns1.acl.test\n:127.0.0.2:Listed $\n10.0.0.0/16\n");
  dir.write("dom.txt", ":127.0.0.3:Domain $\nexample.com\n*.evil.net\n");
  dir.write("acl.txt", acl);
  dir.write("global.txt", global);
  readableByRbldnsd(dir.path());
  const std::vector<std::string> zones = {"acl.test:ip4set:data.txt", "acl.test:dnset:dom.txt",
                                          "acl.test:acl:acl.txt", "open.test:ip4set:data.txt",
                                          ":acl:global.txt"};
  Rbldnsd ref(dir.path(), zones);
  std::vector<std::string> args = {"-n", "-b", "127.0.0.1/0", "-w", dir.path().string()};
  args.insert(args.end(), zones.begin(), zones.end());
  test::Daemon ours(args, 1);

  size_t compared = 0, dropped = 0;
  std::map<int, size_t> rcodes;
  for (uint32_t c : clients) {
    const std::string source = ip4(c);
    test::QueryOptions o;
    o.source = source;
    bool ignoredHere = false; // the zone acl drops every query of this client to acl.test
    for (auto [name, type] :
         std::initializer_list<std::pair<const char*, uint16_t>>{{"1.0.0.10.acl.test", 16},
                                                                 {"9.9.9.9.acl.test", 1},
                                                                 {"www.evil.net.acl.test", 255},
                                                                 {"acl.test", 6},
                                                                 {"1.0.0.10.open.test", 1}}) {
      INFO("client " << source << " asks " << name << " type " << type);
      const bool aclZone = std::string_view(name).ends_with("acl.test");
      if (ignoredHere && aclZone) continue;
      // Both at once, a short wait (a dropped query costs the whole wait); once more with a long
      // one when they seem to disagree, so a slow moment of a busy machine is not a difference.
      auto exchange = [&](std::chrono::milliseconds wait) {
        auto t = std::async(std::launch::async, [&] {
          return test::udpExchange(ref.port(), test::makeQuery(name, type, o), wait, source);
        });
        auto m = test::udpExchange(ours.port(), test::makeQuery(name, type, o), wait, source);
        return std::pair{t.get(), m};
      };
      auto [theirs, mine] = exchange(100ms);
      if (theirs.has_value() != mine.has_value()) std::tie(theirs, mine) = exchange(2000ms);
      REQUIRE(theirs.has_value() == mine.has_value());
      if (!theirs) {
        ++dropped;
        if (!aclZone) break; // the global acl: nothing more to ask
        ignoredHere = true;
        continue;
      }
      auto t = test::parseReply(*theirs), m = test::parseReply(*mine);
      CHECK(m.rcode == t.rcode);
      CHECK(sorted(m.a) == sorted(t.a));
      CHECK(sorted(m.txt) == sorted(t.txt));
      ++rcodes[t.rcode];
      ++compared;
    }
  }
  WARN(fmt::format("{} clients: {} answers compared ({} NOERROR, {} NXDOMAIN, {} REFUSED), {} "
                   "dropped by both",
                   clients.size(), compared, rcodes[0], rcodes[3], rcodes[5], dropped));
  CHECK(rcodes[0] > 50);
  CHECK(rcodes[3] > 10);
  CHECK(rcodes[5] > 10);
  CHECK(dropped > 5);
}
