// Malformed and unusual packets sent to Debian's rbldnsd and to dnsxld: the same outcome, or the
// one docs/rbldnsd.md "Differences from rbldnsd" documents.
#include "tests/integration/rbldnsd_compare.hh"

using namespace dnsxl;
using namespace dnsxl::test::compare;

namespace {

// Packet surgery on a query made by ldns.
using Bytes = std::vector<uint8_t>;
Bytes withHeader(Bytes q, size_t byte, uint8_t set, uint8_t clear = 0) {
  q[byte] = static_cast<uint8_t>((q[byte] & ~clear) | set);
  return q;
}
Bytes withCount(Bytes q, size_t at, uint16_t n) { // at: 4 QD, 6 AN, 8 NS, 10 AR
  q[at] = static_cast<uint8_t>(n >> 8);
  q[at + 1] = static_cast<uint8_t>(n);
  return q;
}
Bytes withOpt(Bytes q, uint16_t size, uint8_t version, bool dnssecOk, const Bytes& options = {}) {
  Bytes opt = {0,
               0,
               41,
               static_cast<uint8_t>(size >> 8),
               static_cast<uint8_t>(size),
               0,
               version,
               static_cast<uint8_t>(dnssecOk ? 0x80 : 0),
               0,
               static_cast<uint8_t>(options.size() >> 8),
               static_cast<uint8_t>(options.size())};
  opt.insert(opt.end(), options.begin(), options.end());
  q.insert(q.end(), opt.begin(), opt.end());
  uint16_t ar = static_cast<uint16_t>(q[10] << 8 | q[11]);
  return withCount(q, 10, static_cast<uint16_t>(ar + 1));
}
// A header for one question followed by the given question bytes.
Bytes rawQuestion(const Bytes& question) {
  // Sized first, then filled: GCC 12 at -O3 warns (-Warray-bounds, a false positive) when
  // inserting into the 12-byte vector.
  static constexpr uint8_t kHeader[12] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  Bytes q(sizeof kHeader + question.size());
  std::copy(std::begin(kHeader), std::end(kHeader), q.begin());
  std::copy(question.begin(), question.end(), q.begin() + sizeof kHeader);
  return q;
}
Bytes wireName(const std::string& dotted) {
  Bytes out;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    out.push_back(static_cast<uint8_t>(dot - start));
    out.insert(out.end(), dotted.begin() + static_cast<long>(start),
               dotted.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

constexpr int kDrop = -1;   // no reply
constexpr int kNormal = -2; // what a well-formed query of the same name and type gets
constexpr int kNoData = -3; // the rcode of kNormal, no answer records (a type the name lacks)

struct PacketCase {
  std::string what;
  std::function<Bytes(const std::string& name)> make;
  int rbldnsd; // rcode, kDrop or kNormal: verified against Debian's rbldnsd in the test
  int dnsxl;   // the same for dnsxld; differs only where docs/rbldnsd.md "Differences" says so
};

} // namespace

namespace {

constexpr int FORMERR = 1, NOTIMP = 4, REFUSED = 5, BADVERS = 16;

Bytes q(const std::string& n, uint16_t type = 16) {
  return test::makeQuery(n, type);
}

// Packets rbldnsd and dnsxld treat alike.
std::vector<PacketCase> sameOutcome() {
  return {
      {"a response (QR set)", [](auto& n) { return withHeader(q(n), 2, 0x80); }, kDrop, kDrop},
      {"5 bytes",
       [](auto& n) {
         auto p = q(n);
         p.resize(5);
         return p;
       },
       kDrop, kDrop},
      {"opcode IQUERY", [](auto& n) { return withHeader(q(n), 2, 1 << 3); }, NOTIMP, NOTIMP},
      {"opcode STATUS", [](auto& n) { return withHeader(q(n), 2, 2 << 3); }, NOTIMP, NOTIMP},
      {"opcode NOTIFY", [](auto& n) { return withHeader(q(n), 2, 4 << 3); }, NOTIMP, NOTIMP},
      {"opcode UPDATE", [](auto& n) { return withHeader(q(n), 2, 5 << 3); }, NOTIMP, NOTIMP},
      {"RD, AD and CD set", [](auto& n) { return withHeader(withHeader(q(n), 2, 1), 3, 0x30); },
       kNormal, kNormal},
      {"qtype OPT", [](auto& n) { return q(n, 41); }, kNoData, kNoData},
      {"Z bit set", [](auto& n) { return withHeader(q(n), 3, 0x40); }, kNormal, kNormal},
      {"qtype AXFR", [](auto& n) { return q(n, 252); }, NOTIMP, NOTIMP},
      {"qtype IXFR", [](auto& n) { return q(n, 251); }, NOTIMP, NOTIMP},
      {"qtype MAILB", [](auto& n) { return q(n, 253); }, NOTIMP, NOTIMP},
      {"qtype MAILA", [](auto& n) { return q(n, 254); }, NOTIMP, NOTIMP},
      {"class NONE",
       [](auto& n) {
         test::QueryOptions o;
         o.qclass = 254;
         return test::makeQuery(n, 16, o);
       },
       REFUSED, REFUSED},
      {"class CH, type A",
       [](auto& n) {
         test::QueryOptions o;
         o.qclass = 3;
         return test::makeQuery(n, 1, o);
       },
       REFUSED, REFUSED},
      {"EDNS 4096", [](auto& n) { return withOpt(q(n), 4096, 0, false); }, kNormal, kNormal},
      {"EDNS 512", [](auto& n) { return withOpt(q(n), 512, 0, false); }, kNormal, kNormal},
      {"EDNS with DO", [](auto& n) { return withOpt(q(n), 1232, 0, true); }, kNormal, kNormal},
      {"EDNS with a cookie",
       [](auto& n) {
         return withOpt(q(n), 1232, 0, false, {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8});
       },
       kNormal, kNormal},
  };
}

// The documented differences (docs/rbldnsd.md "Differences from rbldnsd", 4, 5 and 10).
std::vector<PacketCase> documentedDifferences() {
  return {
      {"QDCOUNT 0", [](auto& n) { return withCount(q(n), 4, 0); }, kDrop, FORMERR},
      {"QDCOUNT 2", [](auto& n) { return withCount(q(n), 4, 2); }, kDrop, FORMERR},
      {"header only",
       [](auto& n) {
         auto p = q(n);
         p.resize(12);
         return p;
       },
       kDrop, FORMERR},
      {"no qtype and qclass",
       [](auto& n) {
         auto p = q(n);
         p.resize(p.size() - 4);
         return p;
       },
       kDrop, FORMERR},
      {"name running past the end",
       [](auto& n) {
         auto p = q(n);
         p.resize(p.size() - 7);
         return p;
       },
       kDrop, FORMERR},
      {"label of 64 bytes",
       [](auto&) {
         auto b = wireName(std::string(64, 'a') + ".bl.test");
         b.insert(b.end(), {0, 1, 0, 1});
         return rawQuestion(b);
       },
       kDrop, FORMERR},
      {"compression pointer in the question",
       [](auto&) {
         return rawQuestion({1, 'a', 0xc0, 12, 0, 1, 0, 1});
       },
       kDrop, FORMERR},
      {"name of 256 bytes",
       [](auto&) {
         std::string name;
         while (name.size() < 250)
           name += "abcdefghi.";
         name += "bl.test";
         auto b = wireName(name);
         b.insert(b.end(), {0, 1, 0, 1});
         return rawQuestion(b);
       },
       kDrop, FORMERR},
      {"garbage after the question",
       [](auto& n) {
         auto p = q(n);
         p.insert(p.end(), {0xde, 0xad, 0xbe, 0xef});
         return p;
       },
       kNormal, FORMERR},
      {"EDNS version 1", [](auto& n) { return withOpt(q(n), 1232, 1, false); }, kNormal, BADVERS},
      {"two OPT records",
       [](auto& n) { return withOpt(withOpt(q(n), 1232, 0, false), 1232, 0, false); }, kNormal,
       FORMERR},
      {"qtype CAA (257)", [](auto& n) { return q(n, 257); }, NOTIMP, kNoData},
      {"AA set in the query", [](auto& n) { return withHeader(q(n), 2, 0x04); }, NOTIMP, kNormal},
      {"TC set in the query", [](auto& n) { return withHeader(q(n), 2, 0x02); }, NOTIMP, kNormal},
  };
}

} // namespace

TEST_CASE("malformed and unusual packets: the same outcome as rbldnsd, or the documented one",
          "[rbldnsd]") {
  if (::access(kRbldnsd, X_OK) != 0) FAIL("rbldnsd is not installed (apt-get install rbldnsd)");
  const std::filesystem::path probe =
      std::filesystem::path(DNSXL_SOURCE_DIR) / "tests/data/rbldnsd-probe";
  test::TempDir dir;
  for (auto name : {"ip4set.txt", "ip4set2.txt", "generic.txt", "dnset.txt"})
    std::filesystem::copy_file(probe / name, dir / name);
  readableByRbldnsd(dir.path());
  const std::vector<std::string> zones = {"bl.test:ip4set:ip4set.txt,ip4set2.txt",
                                          "bl.test:generic:generic.txt",
                                          "dbl.test:dnset:dnset.txt"};
  Rbldnsd ref(dir.path(), zones);
  std::vector<std::string> args = {"-n", "-b", "127.0.0.1/0", "-w", dir.path().string()};
  args.insert(args.end(), zones.begin(), zones.end());
  test::Daemon ours(args, 1);

  auto cases = sameOutcome();
  for (auto& c : documentedDifferences())
    cases.push_back(std::move(c));

  size_t checked = 0;
  for (auto name : {"2.0.0.10.bl.test", "9.9.9.9.bl.test", "bl.test", "www.bl.test",
                    "example.com.dbl.test", "nothing.dbl.test"}) {
    auto normal = test::udpQuery(ours.port(), name, 16);
    for (const auto& c : cases) {
      INFO(c.what << ", " << name);
      auto packet = c.make(name);
      auto theirs = test::udpExchange(ref.port(), packet, 300ms);
      auto mine = test::udpExchange(ours.port(), packet, 300ms);
      auto check = [&](const std::optional<Bytes>& reply, int expected, const char* who) {
        INFO(who);
        if (expected == kDrop) {
          CHECK_FALSE(reply.has_value());
          return;
        }
        REQUIRE(reply.has_value());
        auto r = test::parseReply(*reply);
        if (expected == kNoData) {
          CHECK(r.rcode == normal.rcode);
          CHECK(r.answer.empty());
        } else if (expected == kNormal) {
          CHECK(r.rcode == normal.rcode);
          CHECK(sorted(r.txt) == sorted(normal.txt));
        } else {
          CHECK(r.rcode == expected);
        }
        CHECK(r.id == 0x1234);
      };
      check(theirs, c.rbldnsd, "rbldnsd");
      check(mine, c.dnsxl, "dnsxld");
      ++checked;
    }
  }
  // Neither is hurt: both still answer.
  CHECK(test::udpQuery(ref.port(), "2.0.0.10.bl.test", 1).a.size() == 1);
  CHECK(test::udpQuery(ours.port(), "2.0.0.10.bl.test", 1).a.size() == 1);
  CHECK(checked == 6 * cases.size());
}
