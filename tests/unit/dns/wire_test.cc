#include "dns/wire.hh"
#include "tests/support/support.hh"

#include <catch2/catch.hpp>

using namespace dnsxl;
using dns::ParseStatus;

namespace {

std::vector<uint8_t> query(const std::string& name = "2.0.0.127.bl.test", uint16_t type = 1,
                           bool edns = false) {
  test::QueryOptions o;
  o.edns = edns;
  return test::makeQuery(name, type, o);
}

ParseStatus parse(const std::vector<uint8_t>& p, dns::Query& q) {
  return dns::parseQuery(p, q);
}

} // namespace

TEST_CASE("a well-formed query parses in place", "[dns]") {
  auto p = query("2.0.0.127.bL.TeSt", 16, true);
  dns::Query q;
  REQUIRE(parse(p, q) == ParseStatus::Ok);
  CHECK(q.id == 0x1234);
  CHECK(q.qtype == 16);
  CHECK(q.qclass == 1);
  CHECK(q.edns);
  CHECK(q.ednsUdpSize == 1232);
  CHECK(q.qnameLen == 19);
  CHECK(std::string(reinterpret_cast<const char*>(q.qname) + 11, 2) == "bL");
  uint8_t lower[255];
  dns::lowerName(q.qname, q.qnameLen, lower);
  CHECK(std::string(reinterpret_cast<const char*>(lower) + 11, 2) == "bl");
}

TEST_CASE("lower-casing a name changes A-Z and nothing else, at every length and offset", "[dns]") {
  // every byte value at every position of names of 1..40 bytes (the eight-byte steps and the
  // tail), against the rule byte by byte
  for (size_t len = 1; len <= 40; ++len)
    for (unsigned v = 0; v < 256; ++v) {
      std::vector<uint8_t> name(len), out(len, 0xee);
      for (size_t i = 0; i < len; ++i)
        name[i] = static_cast<uint8_t>((v + 37 * i) & 0xff);
      dns::lowerName(name.data(), len, out.data());
      for (size_t i = 0; i < len; ++i) {
        const uint8_t c = name[i];
        const uint8_t want = c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c;
        INFO("length " << len << " position " << i << " byte " << int(c));
        REQUIRE(out[i] == want);
      }
    }
}

TEST_CASE("what is dropped, what is FORMERR, what is NOTIMP", "[dns]") {
  dns::Query q;
  auto p = query();
  CHECK(parse({p.begin(), p.begin() + 5}, q) == ParseStatus::Drop);     // shorter than a header
  CHECK(parse({p.begin(), p.begin() + 12}, q) == ParseStatus::FormErr); // question missing
  auto resp = p;
  resp[2] |= 0x80; // QR: a response
  CHECK(parse(resp, q) == ParseStatus::Drop);
  auto notify = p;
  notify[2] = static_cast<uint8_t>(notify[2] | (4 << 3));
  CHECK(parse(notify, q) == ParseStatus::NotImp);
  CHECK(q.opcode == 4);
  auto two = p;
  two[5] = 2;
  CHECK(parse(two, q) == ParseStatus::FormErr); // QDCOUNT 2 (RFC 9619)
  auto zero = p;
  zero[5] = 0;
  CHECK(parse(zero, q) == ParseStatus::FormErr);
  auto garbage = p;
  garbage.push_back(0);
  CHECK(parse(garbage, q) == ParseStatus::FormErr);
  CHECK(q.questionEnd == p.size()); // the question can still be echoed
  auto cut = p;
  cut.resize(p.size() - 2); // QCLASS missing
  CHECK(parse(cut, q) == ParseStatus::FormErr);
  CHECK(q.questionEnd == 0);
  auto pointer = p;
  pointer[12] = 0xc0; // compression pointer in the question
  CHECK(parse(pointer, q) == ParseStatus::FormErr);
  auto longLabel = p;
  longLabel[12] = 64;
  CHECK(parse(longLabel, q) == ParseStatus::FormErr);
}

TEST_CASE("names longer than 255 bytes are FORMERR", "[dns]") {
  std::vector<uint8_t> p = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 5; ++i) {
    p.push_back(60);
    p.insert(p.end(), 60, 'a');
  }
  p.insert(p.end(), {0, 0, 1, 0, 1});
  dns::Query q;
  CHECK(dns::parseQuery(p, q) == ParseStatus::FormErr);
}

TEST_CASE("OPT records: two, non-root owner, bad option length", "[dns]") {
  auto p = query("x.test", 1, true);
  dns::Query q;
  std::vector<uint8_t> opt(p.end() - 11, p.end());
  auto two = p;
  two.insert(two.end(), opt.begin(), opt.end());
  two[11] = 2;
  CHECK(parse(two, q) == ParseStatus::FormErr);
  CHECK(q.edns);
  // The query without the OPT's RDLENGTH low byte, then a new one and the option (built so, not
  // by indexing: GCC 12 at -O3 warns of a write into a region of size 0).
  std::vector<uint8_t> badLen(p.begin(), p.end() - 1);
  badLen.insert(badLen.end(), {4, 0, 10, 0, 9}); // RDLEN 4 with an option header claiming more
  CHECK(parse(badLen, q) == ParseStatus::FormErr);
  std::vector<uint8_t> good(p.begin(), p.end() - 1);
  good.insert(good.end(), {8, 0, 10, 0, 4, 1, 2, 3, 4}); // a cookie-like option
  CHECK(parse(good, q) == ParseStatus::Ok);
}

TEST_CASE("the writer refuses to pass its limit", "[dns]") {
  uint8_t buf[16];
  dns::Writer w(buf, sizeof buf);
  w.setLimit(6);
  CHECK(w.u32(1));
  CHECK_FALSE(w.u32(2));
  CHECK(w.size() == 4);
  CHECK(w.u16(3));
  CHECK_FALSE(w.u8(4));
  std::string wire;
  CHECK(dns::encodeName("ns1.Example.org.", wire));
  CHECK(wire == std::string("\3ns1\7Example\3org\0", 17));
  CHECK_FALSE(dns::encodeName("a..b", wire));
}
