#include "feeds/feed.hh"
#include "tests/support/support.hh"

#include <catch2/catch.hpp>
#include <zlib.h>

using namespace dnsxl::feeds;

namespace {

Feed parse(const std::string& text, Format format, bool hostBits = false) {
  Feed f;
  ParseOptions o;
  o.format = format;
  o.allowHostBits = hostBits;
  parseText(text, "data.txt", o, f);
  return f;
}

std::pair<std::string, std::string> range4(const Feed& f, size_t i) {
  return {formatIp4(f.ip4.at(i).lo), formatIp4(f.ip4.at(i).hi)};
}

} // namespace

TEST_CASE("ip4set key forms", "[feeds]") {
  auto f = parse("10.0.0.7\n10.2.3\n10.3/16\n10.0.0.0/24\n127/8\n10.1.2.3-10.1.2.50\n"
                 "10.5.0.1-5\n127.16-31\n127.0.0-127.0.1\n10.4.0.0-10.4.255.255\n",
                 Format::Ip4set);
  REQUIRE(f.diagnostics.empty());
  REQUIRE(f.ip4.size() == 10);
  CHECK(range4(f, 0) == std::pair<std::string, std::string>{"10.0.0.7", "10.0.0.7"});
  CHECK(range4(f, 1) == std::pair<std::string, std::string>{"10.2.3.0", "10.2.3.255"});
  CHECK(range4(f, 2) == std::pair<std::string, std::string>{"10.3.0.0", "10.3.255.255"});
  CHECK(range4(f, 3) == std::pair<std::string, std::string>{"10.0.0.0", "10.0.0.255"});
  CHECK(range4(f, 4) == std::pair<std::string, std::string>{"127.0.0.0", "127.255.255.255"});
  CHECK(range4(f, 5) == std::pair<std::string, std::string>{"10.1.2.3", "10.1.2.50"});
  CHECK(range4(f, 6) == std::pair<std::string, std::string>{"10.5.0.1", "10.5.0.5"});
  CHECK(range4(f, 7) == std::pair<std::string, std::string>{"127.16.0.0", "127.31.255.255"});
  CHECK(range4(f, 8) == std::pair<std::string, std::string>{"127.0.0.0", "127.0.1.255"});
  CHECK(range4(f, 9) == std::pair<std::string, std::string>{"10.4.0.0", "10.4.255.255"});
}

TEST_CASE("ip4set rejects bad keys with file:line", "[feeds]") {
  struct Case {
    const char* line;
    const char* message;
  };
  const Case cases[] = {
      {"11", "data.txt:1: bare number '11' is not an address (write 11/8)"},
      {"0/0", "data.txt:1: '0/0' would list every IPv4 address"},
      {"10.10.0.1/24", "data.txt:1: host bits set in '10.10.0.1/24' (did you mean 10.10.0.0/24?)"},
      {"127.3-127.3.0",
       "data.txt:1: range '127.3-127.3.0' has ends with different numbers of octets"},
      {"10.0.0.9-10.0.0.1", "data.txt:1: range '10.0.0.9-10.0.0.1' ends before it starts"},
      {"10.0.0.256", "data.txt:1: invalid IPv4 address '10.0.0.256'"},
      {"10.0.0.1/33", "data.txt:1: invalid CIDR '10.0.0.1/33'"},
      {"10.0.0.1 :0.0.0.0:x",
       "data.txt:1: invalid A value '0.0.0.0' (expected e.g. 127.0.0.2 or 2)"},
      {"10.0.0.1 :10.0.0.1:x",
       "data.txt:1: A value 10.0.0.1 is outside 127.0.0.0/8 (RFC 5782 §2.3)"},
      {"$FOO bar", "data.txt:1: unrecognized special entry $FOO"},
      {"$DATASET ip4set x", "data.txt:1: $DATASET is only allowed in combined data files"},
  };
  for (const auto& c : cases) {
    auto f = parse(c.line, Format::Ip4set);
    INFO(c.line);
    REQUIRE(f.diagnostics.size() == 1);
    CHECK(f.diagnostics[0] == c.message);
    CHECK(f.ip4.empty());
  }
  auto later = parse("10.0.0.1\n\n# comment\nbogus\n", Format::Ip4set);
  REQUIRE(later.diagnostics.size() == 1);
  CHECK(later.diagnostics[0] == "data.txt:4: invalid IPv4 address 'bogus'");
}

TEST_CASE("host bits are masked when allowed (rbldnsd -e)", "[feeds]") {
  auto f = parse("10.10.0.1/24\n", Format::Ip4set, true);
  REQUIRE(f.diagnostics.empty());
  CHECK(range4(f, 0) == std::pair<std::string, std::string>{"10.10.0.0", "10.10.0.255"});
}

TEST_CASE("values: :A vs :A:, defaults, text, per-file reset", "[feeds]") {
  Feed f;
  ParseOptions o;
  o.format = Format::Ip4set;
  parseText("10.0.0.1\n"
            ":127.0.0.3:default $\n"
            "10.0.0.2\n"
            "10.0.0.3 :5\n"
            "10.0.0.4 :6:\n"
            "10.0.0.5 own text\n"
            "10.0.0.6:127.0.0.9:no space\n"
            "10.0.0.7 # a comment, not a text\n"
            ":4\n"
            "10.0.0.8\n"
            "!10.0.0.9 :7:ignored\n",
            "a.txt", o, f);
  parseText("10.1.0.1\n", "b.txt", o, f);
  REQUIRE(f.diagnostics.empty());
  auto value = [&](size_t i) { return f.values.at(f.ip4.at(i).value); };
  CHECK(value(0) == Value{0x7f000002, std::nullopt});
  CHECK(value(1) == Value{0x7f000003, "default $"});
  CHECK(value(2) == Value{0x7f000005, "default $"});
  CHECK(value(3) == Value{0x7f000006, std::nullopt});
  CHECK(value(4) == Value{0x7f000003, "own text"});
  CHECK(value(5) == Value{0x7f000009, "no space"});
  CHECK(value(6) == Value{0x7f000003, "default $"});
  CHECK(value(7) == Value{0x7f000004, std::nullopt}); // `:A` default line: no TXT
  CHECK(f.ip4.at(8).value == kExclusion);
  CHECK(value(9) == Value{0x7f000002, std::nullopt}); // reset at the start of b.txt
  CHECK(f.where(f.ip4.at(9).at) == "b.txt:1");
  CHECK(f.values.size() == 7); // equal values are stored once
}

TEST_CASE("A values are parsed like inet_aton", "[feeds]") {
  CHECK(parseAValue("5") == 0x7f000005U);
  CHECK(parseAValue("127.0.0.10") == 0x7f00000aU);
  CHECK(parseAValue("1.2") == 0x01000002U);
  CHECK(parseAValue("127.1.2") == 0x7f010002U);
  CHECK_FALSE(parseAValue("0.0.0.0"));
  CHECK_FALSE(parseAValue("256"));
  CHECK_FALSE(parseAValue("127.300")); // rbldnsd refuses parts above 255 (inet_aton would not)
  CHECK_FALSE(parseAValue("127.0.300"));
  CHECK(parseAValue("10.1.5") == 0x0a010005U);
  CHECK(parseDotted("5", false) == 5U); // a generic `A 5` is 0.0.0.5 in rbldnsd
  CHECK(parseDotted("127.5", false) == 0x7f000005U);
  CHECK_FALSE(parseDotted("1.2.3.4x", false)); // rbldnsd takes 1.2.3.4 and ignores the rest
  CHECK_FALSE(parseDotted("0x7f.1", false));
  CHECK_FALSE(parseAValue("x"));
}

TEST_CASE("specials: $SOA, $NS, $TTL, variables", "[feeds]") {
  auto f = parse("$TTL 5m\n"
                 "$SOA 1h ns1.bl.test hostmaster.bl.test 0 600 300 1d 300\n"
                 "$SOA 1h other.test x.test 1 1 1 1 1\n"
                 "$NS 3600 ns1.bl.test -ns9.bl.test NS2.Elsewhere.Test.\n"
                 "#$1 first\n"
                 "$1 second\n"
                 ":$2 two\n",
                 Format::Ip4set);
  REQUIRE(f.diagnostics.empty());
  CHECK(f.ttl == 300U);
  REQUIRE(f.soa);
  CHECK(f.soa->mname == "ns1.bl.test");
  CHECK(f.soa->ttl == 3600);
  CHECK(f.soa->expire == 86400);
  CHECK(f.ns == std::vector<std::string>{"ns1.bl.test", "ns2.elsewhere.test"});
  CHECK(f.vars[1] == "first");
  CHECK(f.vars[2] == "two");
}

TEST_CASE("ip4trie takes prefixes, not ranges", "[feeds]") {
  auto f =
      parse("172.16.0.0/12\n172.18.2 :7:x\n172.18.1.1\n172.20.0.0-172.20.0.255\n", Format::Ip4trie);
  REQUIRE(f.ip4.size() == 3);
  CHECK(range4(f, 1) == std::pair<std::string, std::string>{"172.18.2.0", "172.18.2.255"});
  REQUIRE(f.diagnostics.size() == 1);
  CHECK(f.diagnostics[0] ==
        "data.txt:4: ranges are not allowed in this format: '172.20.0.0-172.20.0.255'");
}

TEST_CASE("ip6trie key forms", "[feeds]") {
  auto f = parse("2001:db8::/32\n!2001:db8::1\n2001:db8:1:2\n2001:21ab:c000/36\n"
                 ":127.0.0.12:v6 $\n::ffff:7f00:5 :5:mapped\n",
                 Format::Ip6trie);
  REQUIRE(f.diagnostics.empty());
  REQUIRE(f.ip6.size() == 5);
  CHECK(formatIp6(f.ip6[0].lo) == "2001:db8::");
  CHECK(formatIp6(f.ip6[0].hi) == "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
  CHECK(f.ip6[1].value == kExclusion);
  CHECK(formatIp6(f.ip6[1].hi) == "2001:db8::1");
  CHECK(formatIp6(f.ip6[2].lo) == "2001:db8:1:2::");
  CHECK(formatIp6(f.ip6[2].hi) == "2001:db8:1:2:ffff:ffff:ffff:ffff");
  CHECK(formatIp6(f.ip6[3].lo) == "2001:21ab:c000::");
  CHECK(formatIp6(f.ip6[4].lo) == "::ffff:127.0.0.5");
  auto bad = parse("2001\n2001:db8::1/64\nzz::1\n", Format::Ip6trie);
  REQUIRE(bad.diagnostics.size() == 3);
  CHECK(bad.diagnostics[0] == "data.txt:1: single IPv6 group '2001' needs a /length");
  CHECK(bad.diagnostics[1] ==
        "data.txt:2: host bits set in '2001:db8::1/64' (did you mean 2001:db8::/64?)");
  CHECK(bad.diagnostics[2] == "data.txt:3: invalid IPv6 address 'zz::1'");
}

TEST_CASE("dnset key forms", "[feeds]") {
  auto f = parse("Example.COM.\n*.wild.test :127.0.1.3:wild $\n.both.test\n!good.wild.test\n"
                 "bad..name\nsp ace.test\n",
                 Format::Dnset);
  REQUIRE(f.domains.size() == 5);
  CHECK(f.domains[0].name == "example.com");
  CHECK(f.domains[0].scope == Scope::Exact);
  CHECK(f.domains[1].name == "wild.test");
  CHECK(f.domains[1].scope == Scope::Below);
  CHECK(f.domains[2].scope == Scope::ExactAndBelow);
  CHECK(f.domains[3].value == kExclusion);
  REQUIRE(f.diagnostics.size() == 1);
  CHECK(f.diagnostics[0] == "data.txt:5: empty label in domain name 'bad..name'");
  // "sp ace.test": the key is "sp", the rest its TXT text: a valid (if odd) line.
  CHECK(f.domains[4].name == "sp");
  CHECK(f.values.at(f.domains[4].value).txt == "ace.test");
  // A domain key ends at a blank only, as in rbldnsd: "name:value" is not a name.
  auto glued = parse("evil.test:127.0.0.3:text\n", Format::Dnset);
  REQUIRE(glued.diagnostics.size() == 1);
  CHECK(glued.diagnostics[0] ==
        "data.txt:1: invalid character ':' in domain name 'evil.test:127.0.0.3:text'");
}

TEST_CASE("plain list: addresses, CIDRs, ranges, domains, reasons", "[feeds]") {
  auto f = parse("# abusers\n"
                 "192.0.2.1 spam trap hit\n"
                 "192.0.2.0/28 ; SBL123\n"
                 "198.51.100.1-198.51.100.9\n"
                 "2001:db8::25 compromised\n"
                 "2001:db8:1::/48\n"
                 "evil.example scam\n"
                 "10.0.0.1:127.0.0.3:with value\n"
                 "10.1\n",
                 Format::List);
  REQUIRE(f.ip4.size() == 4);
  REQUIRE(f.ip6.size() == 2);
  REQUIRE(f.domains.size() == 1);
  CHECK(f.values.at(f.ip4[0].value).txt == "spam trap hit");
  CHECK_FALSE(f.values.at(f.ip4[1].value).txt); // "; SBL123" is a comment
  CHECK(f.values.at(f.ip4[3].value) == Value{0x7f000003, "with value"});
  CHECK(f.values.at(f.ip6[0].value).txt == "compromised");
  CHECK(f.domains[0].name == "evil.example");
  REQUIRE(f.diagnostics.size() == 1);
  CHECK(f.diagnostics[0] == "data.txt:9: invalid IPv4 address '10.1'");
}

TEST_CASE("unreadable files and binary lines are diagnostics", "[feeds]") {
  Feed f;
  ParseOptions o;
  parseFile("/nonexistent/dnsxl/feed.txt", o, f);
  REQUIRE(f.fileErrors.size() == 1);
  CHECK(f.fileErrors[0] == "/nonexistent/dnsxl/feed.txt: cannot open file");
  CHECK(f.diagnostics.empty());
  auto b = parse(std::string("10.0.0.1\n10.0.0.2\0x\n", 20), Format::Ip4set);
  REQUIRE(b.diagnostics.size() == 1);
  CHECK(b.diagnostics[0] == "data.txt:2: NUL byte in line (binary file?)");
}

TEST_CASE("time values", "[feeds]") {
  CHECK(parseTime("35m") == 2100U);
  CHECK(parseTime("1w") == 604800U);
  CHECK(parseTime("300") == 300U);
  CHECK_FALSE(parseTime("3x"));
  CHECK_FALSE(parseTime("99999999999"));
  CHECK_FALSE(parseTime("4000000000"));
}

TEST_CASE("every other error message names file:line", "[feeds]") {
  struct Case {
    Format format;
    std::string line;
    std::string message;
  };
  const std::string longName = std::string(250, 'a') + ".test";
  const Case cases[] = {
      {Format::List, "10.1/16", "invalid CIDR '10.1/16' (write all four octets)"},
      {Format::List, "10.0.0.1-10.0.1",
       "invalid range '10.0.0.1-10.0.1' (write two full addresses)"},
      {Format::Ip4set, "10.0.0.1-x", "invalid range '10.0.0.1-x'"},
      {Format::Ip6trie, "2001:db8::/129", "invalid IPv6 prefix length in '2001:db8::/129'"},
      {Format::Ip6trie, "::/0", "'::/0' would list every IPv6 address"},
      {Format::List, "2001:db8::9-2001:db8::1", "invalid IPv6 range '2001:db8::9-2001:db8::1'"},
      {Format::Ip4set, "!", "missing key"},
      {Format::Ip4set, "$TTL x", "invalid $TTL (expected $TTL time, e.g. $TTL 35m)"},
      {Format::Ip4set, "$SOA 1 a b 1", "invalid $SOA (expected 8 fields)"},
      {Format::Ip4set, "$SOA 1 a b x 1 1 1 1", "invalid number or time in $SOA"},
      {Format::Ip4set, "$SOA 1 a..b c 1 1 1 1 1", "$SOA: empty label in domain name 'a..b'"},
      {Format::Ip4set, "$NS 1", "invalid $NS (expected $NS ttl name...)"},
      {Format::Ip4set, "$NS x ns1.test", "invalid TTL in $NS"},
      {Format::Ip4set, "$NS 1 ns1!.test", "$NS: invalid character '!' in domain name 'ns1!.test'"},
      {Format::Dnset, longName, "domain name '" + longName + "' is longer than 253 bytes"},
      {Format::Dnset, std::string(64, 'a') + ".test",
       "label longer than 63 bytes in '" + std::string(64, 'a') + ".test'"},
      {Format::Dnset, "*.", "empty domain name"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto f = parse(c.line, c.format);
    REQUIRE(f.diagnostics.size() == 1);
    CHECK(f.diagnostics[0] == "data.txt:1: " + c.message);
  }
}

TEST_CASE("ip4tset and ip6tset: membership with one shared value", "[feeds]") {
  auto f = parse("10.50.0.1\n:127.0.0.20:tset $\n:127.0.0.21:second ignored\n"
                 "10.50.0.2 :22:ignored per-entry value\n10.50.0\n!10.50.0.3\n",
                 Format::Ip4tset);
  REQUIRE(f.ip4.size() == 2);
  REQUIRE(f.diagnostics.size() == 2);
  CHECK(f.diagnostics[0] ==
        "data.txt:5: invalid address '10.50.0' (ip4tset takes full IPv4 addresses only)");
  CHECK(f.diagnostics[1] ==
        "data.txt:6: invalid address '!10.50.0.3' (ip4tset takes full IPv4 addresses only)");
  f.finish(Value{});
  CHECK(f.values.at(f.ip4[0].value) == Value{0x7f000014, "tset $"}); // also the entry before it
  CHECK(f.ip4[1].value == f.ip4[0].value);

  auto g = parse(":127.0.0.14:v6 tset $\n2001:db8:1:2\n!2001:db8:1:2::5\n2001:db8::/48\n"
                 "!2001:db8:1:2::/126\n",
                 Format::Ip6tset);
  REQUIRE(g.ip6.size() == 2);
  CHECK(g.ip6[1].value == kExclusion);
  REQUIRE(g.diagnostics.size() == 2);
  CHECK(g.diagnostics[0] ==
        "data.txt:4: ip6tset takes /64 prefixes (4 groups) only: '2001:db8::/48'");
  CHECK(g.diagnostics[1] ==
        "data.txt:5: ip6tset takes single-address exclusions only: '!2001:db8:1:2::/126'");
}

TEST_CASE("$= base template (rbldnsd §4.3)", "[feeds]") {
  auto f = parse("$= See http://bl.test/why?$= ($) for details\n"
                 ":127.0.0.2:default-text\n"
                 "10.80.0.1 r123\n10.80.0.2\n10.80.0.3 =Other lists: $\n10.80.0.4 :6:\n"
                 "10.80.0.5 :7\n",
                 Format::Ip4set);
  REQUIRE(f.diagnostics.empty());
  f.finish(Value{});
  auto txt = [&](size_t i) { return f.values.at(f.ip4.at(i).value).txt.value_or("(none)"); };
  CHECK(txt(0) == "See http://bl.test/why?r123 ($) for details");
  CHECK(txt(1) == "See http://bl.test/why?default-text ($) for details");
  CHECK(txt(2) == "Other lists: $");
  CHECK(txt(3) == "See http://bl.test/why?$ ($) for details"); // `:6:` still gets a TXT
  CHECK(txt(4) == "See http://bl.test/why?default-text ($) for details");
}

TEST_CASE("$MAXRANGE4 refuses larger entries on the lines after it", "[feeds]") {
  auto f = parse("10.0.0.0/16\n$MAXRANGE4 /24\n10.1.0.0/16\n10.2.0.0-10.2.1.255\n10.3.0.0/24\n"
                 "$MAXRANGE4 16\n10.4.0.0/24\n$MAXRANGE4 /16\n10.5.0.0/28\n",
                 Format::Ip4set);
  CHECK(f.ip4.size() == 3);
  REQUIRE(f.diagnostics.size() == 4);
  CHECK(f.diagnostics[0] == "data.txt:3: '10.1.0.0/16' covers 65536 addresses, more than "
                            "$MAXRANGE4 256");
  CHECK(f.diagnostics[1] == "data.txt:4: '10.2.0.0-10.2.1.255' covers 512 addresses, more than "
                            "$MAXRANGE4 256");
  CHECK(f.diagnostics[2] == "data.txt:7: '10.4.0.0/24' covers 256 addresses, more than "
                            "$MAXRANGE4 16");
  CHECK(f.diagnostics[3] == "data.txt:8: $MAXRANGE4 may only be lowered (it is 16)");
}

TEST_CASE("$TIMESTAMP stamps and expiry", "[feeds]") {
  CHECK(parseStamp("1970:01:01") == 0);
  CHECK(parseStamp("2026-11-29") == 1795910400);
  CHECK(parseStamp("2026:11:29:07:20:50") == 1795936850);
  CHECK(parseStamp("20261129072050") == 1795936850);
  CHECK(parseStamp("2099:01:01") == 4070908800); // rbldnsd refuses years past 2038
  CHECK(parseStamp("2024:02:29"));
  CHECK_FALSE(parseStamp("2023:02:29"));
  CHECK_FALSE(parseStamp("2026:13:01"));
  CHECK_FALSE(parseStamp("1969:12:31"));
  CHECK_FALSE(parseStamp("2026:1:1"));
  auto f = parse("$TIMESTAMP 2026:01:01 +3650d\n", Format::Ip4set);
  REQUIRE(f.diagnostics.empty());
  CHECK(f.timestamp == 1767225600);
  CHECK(f.expires == 1767225600 + 3650 * 86400LL);
  auto g = parse("$TIMESTAMP 0 2030:01:01\n$TIMESTAMP 2026:99:01\n", Format::Ip4set);
  CHECK_FALSE(g.timestamp);
  CHECK(g.expires == 1893456000);
  REQUIRE(g.diagnostics.size() == 1);
  CHECK(g.diagnostics[0] ==
        "data.txt:2: invalid $TIMESTAMP time '2026:99:01' (yyyy:mm:dd[:hh[:mi[:ss]]])");
}

TEST_CASE("a last line without a newline is read (rbldnsd says it skips it, then loads it)",
          "[feeds]") {
  auto f = parse("10.0.0.1\n10.0.0.2", Format::Ip4set);
  CHECK(f.diagnostics.empty());
  CHECK(f.ip4.size() == 2);
}

TEST_CASE("gzip-compressed files are read, or refused when gzip is off", "[feeds]") {
  dnsxl::test::TempDir dir;
  auto path = (dir / "data.txt.gz").string();
  gzFile gz = gzopen(path.c_str(), "wb");
  REQUIRE(gz);
  std::string text = "10.0.0.1 compressed\n2.0.0.1\n";
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  Feed f;
  ParseOptions o;
  parseFile(path, o, f);
  CHECK(f.fileErrors.empty());
  REQUIRE(f.ip4.size() == 2);
  CHECK(f.values.at(f.ip4[0].value).txt == "compressed");
  Feed g;
  o.gzip = false;
  parseFile(path, o, g);
  REQUIRE(g.fileErrors.size() == 1);
  CHECK(g.fileErrors[0] == path + ": gzip-compressed file refused (gzip = false)");
  // A corrupt archive is a read error, not a half-read feed.
  std::string bytes(20, '\0');
  bytes[0] = '\x1f';
  bytes[1] = '\x8b';
  auto bad = dir.write("bad.gz", bytes);
  Feed h;
  parseFile(bad.string(), ParseOptions{}, h);
  REQUIRE(h.fileErrors.size() == 1);
  CHECK(h.fileErrors[0].find("read error") != std::string::npos);
}

TEST_CASE("generic records: name [ttl] [IN] A|TXT|MX data", "[feeds]") {
  auto f = parse("@ A 127.0.0.1\n@ TXT \"bl.test test zone\"\n@ MX 10 mx.bl.test\n"
                 "ns1 A 192.0.2.53\nwww 600 A 192.0.2.80\nwww IN TXT \"web\"\n"
                 "$TTL 300\nmulti A 1.2\nfoo AAAA ::1\nbad A 300.1.1.1\n@ MX x y\n",
                 Format::Generic);
  REQUIRE(f.records.size() == 7);
  CHECK(f.records[0].name.empty());
  CHECK(f.records[0].a == 0x7f000001);
  CHECK(f.records[1].text == "bl.test test zone");
  CHECK(f.records[2].pref == 10);
  CHECK(f.records[2].target == "mx.bl.test");
  CHECK(f.records[4].ttl == 600U);
  CHECK_FALSE(f.records[5].ttl);
  CHECK(f.records[6].a == 0x01000002); // inet_aton form
  CHECK(f.records[6].ttl == 300U);     // the $TTL in force at the line
  REQUIRE(f.diagnostics.size() == 3);
  CHECK(f.diagnostics[0] ==
        "data.txt:9: unsupported record type 'AAAA' (generic takes A, TXT and MX)");
  CHECK(f.diagnostics[1] == "data.txt:10: invalid A record address '300.1.1.1'");
  CHECK(f.diagnostics[2] == "data.txt:11: invalid MX record (expected: MX preference target)");
}

TEST_CASE("combined files: sections for subzones (rbldnsd §5.8)", "[feeds]") {
  auto f = parse("$SOA 600 ns1.comb.test admin.comb.test 1 2h 1h 1w 5m\n$TTL 120\n$1 var\n"
                 "$DATASET ip4set:dyn dyn @ # comment\n:127.0.0.10:Dynamic $\n10.20.0.0/16\n"
                 "$TTL 60\n$NS 1h ns1.comb.test\n"
                 "$DATASET dnset dom a.b\nspam.example\n"
                 "$DATASET combined x\n$DATASET acl y\n",
                 Format::Combined);
  REQUIRE(f.sections.size() == 2);
  const auto& dyn = f.sections[0];
  CHECK(dyn.format == Format::Ip4set);
  CHECK(dyn.label == "dyn");
  CHECK(dyn.subzones == std::vector<std::string>{"dyn", ""});
  CHECK(dyn.feed->ttl == 60U);       // set inside the section
  CHECK(dyn.feed->vars[1] == "var"); // inherited from the common section
  REQUIRE(dyn.feed->ip4.size() == 1);
  const auto& dom = f.sections[1];
  CHECK(dom.format == Format::Dnset);
  CHECK(dom.subzones == std::vector<std::string>{"dom", "a.b"});
  CHECK(dom.feed->ttl == 120U); // the common section's, not dyn's
  CHECK(dom.feed->domains.size() == 1);
  CHECK(f.soa);            // $SOA and $NS belong to the base zone
  CHECK(f.ns.size() == 1); // even when written inside a section
  REQUIRE(f.diagnostics.size() == 2);
  CHECK(f.diagnostics[0] ==
        "data.txt:11: $DATASET combined: a combined dataset cannot hold another one");
  CHECK(f.diagnostics[1] ==
        "data.txt:12: $DATASET acl: an acl cannot be part of a combined dataset");
  auto before = parse("10.0.0.1\n$DATASET ip4set @\n", Format::Combined);
  REQUIRE(before.diagnostics.size() == 1);
  CHECK(before.diagnostics[0] ==
        "data.txt:1: data line before the first $DATASET in a combined file");
}

TEST_CASE("acl entries: client addresses and actions (rbldnsd §5.9)", "[feeds]") {
  Feed f;
  ParseOptions o;
  o.format = Format::Acl;
  parseText("127.0.0.2\n127.0.0.3 :refuse\n127.0.0.4 =empty\n127.0.0.5 :127.0.0.99:You ($)\n"
            "127.0.0.0/8 :pass\n::1 :blackhole\n=refuse\n10.0.0.1\n10.0.0.2 :5\n10.0.0.5\n"
            "10.0.0.3 listed?\n$SOA 1 a b 1 1 1 1 1\n!10.0.0.4\n",
            "acl.txt", o, f);
  parseText("10.1.0.1\n", "acl2.txt", o, f);
  auto a = [&](size_t i) { return f.values.at(f.ip4.at(i).value).a; };
  REQUIRE(f.ip4.size() == 9);
  CHECK(a(0) == kAclIgnore); // no value: ignore, the default
  CHECK(a(1) == kAclRefuse);
  CHECK(a(2) == kAclEmpty);
  CHECK(f.values.at(f.ip4[3].value) == Value{0x7f000063, "You ($)"});
  CHECK(a(4) == kAclPass);
  CHECK(a(5) == kAclRefuse); // the default set by `=refuse` (or `:refuse`)
  // `:5` after a keyword default: A 127.0.0.5 with no TXT (rbldnsd crashes on this line)
  CHECK(f.values.at(f.ip4[6].value) == Value{0x7f000005, std::nullopt});
  CHECK(a(7) == kAclRefuse); // ... and the keyword stays the default after it
  CHECK(a(8) == kAclIgnore); // the default resets per file
  REQUIRE(f.ip6.size() == 1);
  CHECK(f.values.at(f.ip6[0].value).a == kAclIgnore);
  REQUIRE(f.diagnostics.size() == 3);
  CHECK(f.diagnostics[0] ==
        "acl.txt:11: invalid acl value 'listed?' (:ignore, :refuse, :empty, :pass or :A:TXT)");
  CHECK(f.diagnostics[1] == "acl.txt:12: $SOA is not allowed in an acl");
  CHECK(f.diagnostics[2] == "acl.txt:13: acl entries have no exclusions (use :pass)");
}

namespace {
Feed parseExample(const char* file, ParseOptions o) {
  Feed f;
  parseFile(std::string(DNSXL_SOURCE_DIR) + "/feeds/examples/" + file, o, f);
  return f;
}
std::string txtOf(const Feed& f, uint32_t value) {
  return f.values.at(value).txt.value_or("-");
}
} // namespace

TEST_CASE("drop: Spamhaus DROP text and JSON lines give the same entries, SBL ids as ref",
          "[feeds][records]") {
  ParseOptions o;
  o.format = Format::Drop;
  o.initialDefault = {0x7f000009, "Listed in DROP: {ref}, see https://example.org/sbl/{ref}"};
  auto text = parseExample("drop.txt", o);
  auto json = parseExample("drop_v4.json", o);
  REQUIRE(text.diagnostics.empty());
  REQUIRE(json.diagnostics.empty());
  REQUIRE(text.ip4.size() == 3);
  REQUIRE(json.ip4.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(text.ip4[i].lo == json.ip4[i].lo);
    CHECK(text.ip4[i].hi == json.ip4[i].hi);
    CHECK(txtOf(text, text.ip4[i].value) == txtOf(json, json.ip4[i].value));
  }
  CHECK(formatIp4(text.ip4[0].lo) == "192.0.2.0");
  CHECK(formatIp4(text.ip4[0].hi) == "192.0.2.127");
  CHECK(txtOf(text, text.ip4[1].value) ==
        "Listed in DROP: SBL301020, see https://example.org/sbl/SBL301020");
  CHECK(text.values.at(text.ip4[1].value).a == 0x7f000009);

  Feed bad;
  parseText("10.0.0.0/33 ; SBL1\n{\"asn\":64496,\"rir\":\"arin\"}\n{\"cidr\": 5}\n{broken\n"
            "{\"type\":3}\n",
            "d.txt", o, bad);
  REQUIRE(bad.diagnostics.size() ==
          5); // a non-string "type" is no metadata line (found by fuzzing)
  CHECK(bad.diagnostics[4] == "d.txt:5: no \"cidr\" in the DROP record");
  CHECK(bad.diagnostics[0] == "d.txt:1: invalid CIDR '10.0.0.0/33'");
  CHECK(bad.diagnostics[1] == "d.txt:2: an ASN-DROP line has no address to list");
  CHECK(bad.diagnostics[2] == "d.txt:3: no \"cidr\" in the DROP record");
  CHECK(bad.diagnostics[3] == "d.txt:4: invalid JSON object");
}

TEST_CASE("csv: columns by header name, per-entry code and reason, expired rows skipped",
          "[feeds][records]") {
  ParseOptions o;
  o.format = Format::Csv;
  o.header = true;
  o.columns = {{"subject", "ip"},    {"code", "code"},       {"reason", "reason"}, {"ref", "ref"},
               {"listed", "listed"}, {"expires", "expires"}, {"delist", "delist"}};
  o.initialDefault = {0x7f000002, "{reason} (ref {ref}, since {listed}); removal: {delist}"};
  o.now = 1798761600; // 2027-01-01: nothing has expired yet
  auto f = parseExample("reports.csv", o);
  REQUIRE(f.diagnostics.empty());
  REQUIRE(f.ip4.size() == 3);
  REQUIRE(f.ip6.size() == 1);
  CHECK(f.values.at(f.ip4[0].value).a == 0x7f000002);
  CHECK(f.values.at(f.ip4[1].value).a == 0x7f000004);
  CHECK(txtOf(f, f.ip4[0].value) ==
        "Spam trap hits, 14 in 24h (ref SR-1042, since 2026-11-20); removal: "
        "https://example.org/delist?ip=198.51.100.17");
  CHECK(formatIp4(f.ip4[2].hi) == "203.0.113.15");

  o.now = 1801440000; // 2027-02-01: the snowshoe range expired on 2027-01-31
  auto later = parseExample("reports.csv", o);
  CHECK(later.ip4.size() == 2);
  CHECK(later.expired == 1);

  // by column number, no header; the reason alone is the TXT when the template names no field;
  // its `$` stays a `$`
  ParseOptions n;
  n.format = Format::Csv;
  n.columns = {{"subject", "1"}, {"reason", "2"}};
  n.initialDefault = {0x7f000002, "listed: $"};
  Feed g;
  parseText("192.0.2.1,costs $5 to list\n192.0.2.2\n192.0.2.3,\"a, b\",x\n\"open,x\n", "n.csv", n,
            g);
  REQUIRE(g.ip4.size() == 2);
  CHECK(txtOf(g, g.ip4[0].value) == "costs $$5 to list");
  CHECK(txtOf(g, g.ip4[1].value) == "a, b");
  REQUIRE(g.diagnostics.size() == 2);
  CHECK(g.diagnostics[0] == "n.csv:2: no column 2 for 'reason' (1 columns)");
  CHECK(g.diagnostics[1] == "n.csv:4: unterminated quote");
}

TEST_CASE("jsonl: fields by key, numeric codes, dates checked", "[feeds][records]") {
  ParseOptions o;
  o.format = Format::Jsonl;
  o.columns = {{"subject", "subject"}, {"code", "code"},     {"reason", "reason"},
               {"ref", "ref"},         {"listed", "listed"}, {"expires", "expires"}};
  o.initialDefault = {0x7f000002, "{reason} [{ref}]"};
  o.now = 1795000000;
  auto f = parseExample("reports.jsonl", o);
  REQUIRE(f.diagnostics.empty());
  REQUIRE(f.ip4.size() == 2);
  REQUIRE(f.ip6.size() == 1);
  CHECK(f.values.at(f.ip4[0].value) == Value{0x7f000003, "Brute-force SMTP AUTH [AB-77]",
                                             1803542400}); // expires 2027-02-25T08:00Z
  CHECK(f.values.at(f.ip4[1].value).a == 0x7f000003);
  Feed bad;
  parseText("{\"subject\":\"192.0.2.9\",\"code\":\"10.0.0.1\"}\n"
            "{\"subject\":\"192.0.2.9\",\"listed\":\"yesterday\"}\n{\"reason\":\"no subject\"}\n",
            "r.jsonl", o, bad);
  REQUIRE(bad.diagnostics.size() == 3);
  CHECK(bad.diagnostics[0] ==
        "r.jsonl:1: invalid code '10.0.0.1' (an A value in 127.0.0.0/8, e.g. 127.0.0.3 or 3)");
  CHECK(bad.diagnostics[1] == "r.jsonl:2: invalid listing date 'yesterday'");
  CHECK(bad.diagnostics[2] == "r.jsonl:3: no subject (address, range or domain)");
}

TEST_CASE("urls and hosts: hosts are listed exactly; an address host goes to the IP data",
          "[feeds][records]") {
  ParseOptions o;
  o.format = Format::Urls;
  auto f = parseExample("phish-urls.txt", o);
  REQUIRE(f.diagnostics.empty());
  REQUIRE(f.domains.size() == 2);
  CHECK(f.domains[0].name == "secure-login.bank-verify.example");
  CHECK(f.domains[0].scope == Scope::Exact);
  CHECK(f.domains[1].name == "paypa1-account.example.net");
  REQUIRE(f.ip4.size() == 1);
  CHECK(formatIp4(f.ip4[0].lo) == "203.0.113.99");
  REQUIRE(f.ip6.size() == 1);
  CHECK(formatIp6(f.ip6[0].lo) == "2001:db8::bad");

  // URLhaus CSV: the header is a comment line; the URL column gives the host
  ParseOptions c;
  c.format = Format::Csv;
  c.header = true;
  c.columns = {{"url", "url"}, {"ref", "urlhaus_link"}, {"type", "threat"}};
  c.initialDefault = {0x7f000102, "{type}: see {ref}"};
  auto u = parseExample("urlhaus.csv", c);
  REQUIRE(u.diagnostics.empty());
  REQUIRE(u.domains.size() == 2);
  CHECK(u.domains[0].name == "malware-drop.example.net");
  CHECK(u.domains[1].name == "cdn.bad-payload.example.com");
  CHECK(txtOf(u, u.domains[0].value) == "malware_download: see https://urlhaus.example/url/1/");
  REQUIRE(u.ip4.size() == 1);
  CHECK(formatIp4(u.ip4[0].lo) == "198.51.100.77");

  ParseOptions h;
  h.format = Format::Hosts;
  auto hosts = parseExample("hosts.txt", h);
  REQUIRE(hosts.diagnostics.empty());
  std::vector<std::string> names;
  for (const auto& d : hosts.domains)
    names.push_back(d.name);
  CHECK(names == std::vector<std::string>{"ads.tracker.example", "malware-cdn.example.net",
                                          "evil-mirror.example.net", "phish-login.example.org"});
}

TEST_CASE("dynamic: ISP space with types; static space is an exclusion", "[feeds][records]") {
  ParseOptions o;
  o.format = Format::Dynamic;
  o.initialDefault = {0x7f00000a, "{type} space: {reason}"};
  auto f = parseExample("isp-dynamic.txt", o);
  REQUIRE(f.diagnostics.empty());
  REQUIRE(f.ip4.size() == 5);
  CHECK(txtOf(f, f.ip4[0].value) == "dynamic space: residential DSL pool, Berlin");
  CHECK(txtOf(f, f.ip4[2].value) == "cable space: cable modem customers");
  CHECK(f.ip4[3].value == kExclusion); // 198.51.100.200 static
  CHECK(formatIp4(f.ip4[4].hi) == "203.0.113.127");
  REQUIRE(f.ip6.size() == 1);
}

TEST_CASE("domain normalisation: case, trailing dot, IDN to A-labels, public suffixes refused",
          "[feeds][records]") {
  ParseOptions o;
  o.format = Format::Hosts;
  Feed f;
  parseText("0.0.0.0 Bücher.Example.\n0.0.0.0 co.uk\n0.0.0.0 com\n0.0.0.0 x.co.uk\n"
            "0.0.0.0 bad_\xff.example\n",
            "h.txt", o, f);
  REQUIRE(f.domains.size() == 2);
  CHECK(f.domains[0].name == "xn--bcher-kva.example");
  CHECK(f.domains[1].name == "x.co.uk");
  REQUIRE(f.diagnostics.size() == 3);
  CHECK(f.diagnostics[0] == "h.txt:2: 'co.uk' is a public suffix (Public Suffix List): listing it "
                            "would list every domain registered below it; set allow_public_suffix "
                            "= true to do so");
  CHECK(f.diagnostics[1].starts_with("h.txt:3: 'com' is a public suffix"));
  CHECK(f.diagnostics[2].starts_with("h.txt:5: invalid internationalised domain name"));
  o.allowPublicSuffix = true;
  Feed g;
  parseText("0.0.0.0 co.uk\n", "h.txt", o, g);
  CHECK(g.domains.size() == 1);
  // dnset too (rbldnsd mode allows them, as rbldnsd does)
  ParseOptions d;
  d.format = Format::Dnset;
  Feed dn;
  parseText(".com\nexample.com\n", "d.txt", d, dn);
  CHECK(dn.domains.size() == 1);
  CHECK(dn.diagnostics.size() == 1);
}

TEST_CASE("rdns: generic names by token or embedded address, adjacent ones merged, static "
          "hosts excluded",
          "[feeds][records]") {
  ParseOptions o;
  o.format = Format::Rdns;
  o.initialDefault = {0x7f00000a, "{reason}"};
  REQUIRE(loadTokens(std::string(DNSXL_SOURCE_DIR) + "/feeds/rdns-tokens.txt", o).empty());
  CHECK(classifyPtr("dyn-192-0-2-10.pool.example.net", 0xc000020a, o) == "dynamic");
  CHECK(classifyPtr("ppp123.example.org", 0xcb007107, o) == "dynamic");
  CHECK(classifyPtr("198-51-100-8.rev.example.net", 0xc6336408, o) == "dynamic");
  CHECK(classifyPtr("8.100.51.198.rev.example.net", 0xc6336408, o) == "dynamic");
  CHECK(classifyPtr("c6336407.example.com", 0xc6336407, o) == "dynamic");
  CHECK(classifyPtr("static-192-0-2-13.example.net", 0xc000020d, o) == "static");
  CHECK(classifyPtr("mail.example.net", 0xc0000201, o) == "static");
  CHECK(classifyPtr("www.example-shop.com", 0xc6336409, o) == "");
  CHECK(classifyPtr("1-2-3-4.example.net", 0xc6336409, o) == ""); // not its own address

  auto f = parseExample("rdns.txt", o);
  REQUIRE(f.diagnostics.empty());
  std::vector<std::string> listed, excluded;
  for (const auto& e : f.ip4) {
    // appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) about
    // `"-" + std::string&&`
    std::string range = formatIp4(e.lo);
    if (e.hi != e.lo) range.append("-").append(formatIp4(e.hi));
    (e.value == kExclusion ? excluded : listed).push_back(range);
  }
  CHECK(listed == std::vector<std::string>{"192.0.2.10-192.0.2.12", "192.0.2.14",
                                           "198.51.100.7-198.51.100.8", "203.0.113.7"});
  CHECK(excluded == std::vector<std::string>{"192.0.2.1", "192.0.2.13"});
  CHECK(txtOf(f, f.ip4[1].value) ==
        "3 addresses with generic rDNS names like dyn-192-0-2-10.pool.example-isp.net");
  CHECK(f.where(f.ip4[1].at).ends_with("rdns.txt:3"));

  ParseOptions bad;
  CHECK(loadTokens("/nonexistent/tokens", bad) ==
        "/nonexistent/tokens: cannot open the tokens file");
}

TEST_CASE("csv: another delimiter, quoted delimiters kept", "[feeds][records]") {
  ParseOptions o;
  o.format = Format::Csv;
  o.delimiter = ';';
  o.columns = {{"subject", "1"}, {"reason", "2"}};
  Feed f;
  parseText("192.0.2.1;\"spam; phishing\"\n192.0.2.2;open relay\n", "s.csv", o, f);
  REQUIRE(f.diagnostics.empty());
  REQUIRE(f.ip4.size() == 2);
  CHECK(txtOf(f, f.ip4[0].value) == "spam; phishing");
  CHECK(txtOf(f, f.ip4[1].value) == "open relay");
}

TEST_CASE("dates: RFC 3339 strictly — real days only, offsets applied, nothing after", "[feeds]") {
  CHECK(parseDate("2026-12-01") == 1796083200);
  CHECK(parseDate("2026-12-01T10:00:00Z") == 1796083200 + 36000);
  CHECK(parseDate("2026-12-01 10:00:00") == 1796083200 + 36000);
  CHECK(parseDate("2026-12-01T10:00Z") == 1796083200 + 36000);
  CHECK(parseDate("2026-12-01t10:00:00z") == 1796083200 + 36000);
  CHECK(parseDate("2026-12-01T12:00:00+02:00") == 1796083200 + 36000); // the offset applied
  CHECK(parseDate("2026-12-01T05:30:00-04:30") == 1796083200 + 36000);
  CHECK(parseDate("2026-12-01T10:00:00.250Z") == 1796083200 + 36000);
  CHECK(parseDate("2028-02-29") == 1835395200); // a leap year
  CHECK(parseDate("1796083200") == 1796083200); // Unix seconds
  CHECK(parseDate(" 2026-12-01 ") == 1796083200);
  for (const char* bad : {"2030-02-31",
                          "2030-02-29",
                          "2100-02-29",
                          "2026-04-31",
                          "2026-13-01",
                          "2026-00-10",
                          "2026-12-00",
                          "2026-12-1",
                          "26-12-01",
                          "2026/12/01",
                          "2026-12-01T24:00:00Z",
                          "2026-12-01T10:60Z",
                          "2026-12-01T10:00:61Z",
                          "2026-12-01T10:00:00+05",
                          "2026-12-01T10:00:00+24:00",
                          "2026-12-01T10:00:00Z trailing",
                          "2026-12-01garbage",
                          "2026-12-01T",
                          "2026-12-01T10",
                          "2026-12-01T10:00:00.Z",
                          "1969-12-31",
                          "tomorrow"}) {
    INFO(bad);
    CHECK_FALSE(parseDate(bad));
  }
}

TEST_CASE("csv: a date that does not exist, or with trailing text, is an error with file:line",
          "[feeds][records]") {
  ParseOptions o;
  o.format = Format::Csv;
  o.header = true;
  o.columns = {{"subject", "ip"}, {"listed", "listed"}, {"expires", "expires"}};
  o.initialDefault = {0x7f000002, ""};
  o.now = 1796083200;
  Feed f;
  parseRecords("ip,listed,expires\n192.0.2.1,2026-11-20,2030-02-31\n"
               "192.0.2.2,2026-11-20,2030-01-01T00:00:00Z junk\n192.0.2.3,2026-02-30,\n"
               "192.0.2.4,2026-11-20,2030-01-01T02:00:00+02:00\n",
               "r.csv", o, f);
  REQUIRE(f.diagnostics.size() == 3);
  CHECK(f.diagnostics[0] ==
        "r.csv:2: invalid expiry '2030-02-31' (e.g. 2026-12-31 or 2026-12-31T12:00:00Z)");
  CHECK(f.diagnostics[1].starts_with("r.csv:3: invalid expiry '2030-01-01T00:00:00Z junk'"));
  CHECK(f.diagnostics[2] == "r.csv:4: invalid listing date '2026-02-30'");
  REQUIRE(f.ip4.size() == 1);
  CHECK(f.values.at(f.ip4[0].value).expires == 1893456000); // 2030-01-01T00:00:00Z
}
