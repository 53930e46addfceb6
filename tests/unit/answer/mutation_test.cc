// Robustness: the responder gets valid queries with random bytes flipped, cut or appended
// (seeded, bounded). It must never crash (the ASan/UBSan build runs this too), never reply to a
// packet with QR set or shorter than a header, and every reply it sends must parse with ldns and
// carry the query's ID.
#include "server/answer/responder.hh"
#include "tests/support/fixture.hh"

#include <catch2/catch.hpp>
#include <random>

using namespace dnsxl;

TEST_CASE("mutated queries never crash the responder and get well-formed replies", "[answer]") {
  test::Fixture f(
      R"(
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]
  [[zone.dataset]]
  name = "set"
  format = "ip4set"
  files = ["a.txt"]
  txt = "Listed $ see $1"
  [[zone.dataset]]
  name = "dom"
  format = "dnset"
  files = ["d.txt"]
)",
      {{"a.txt", "$1 http://x\n10.0.0.0/8\n192.0.2.1 :3:" + std::string(400, 'x') + "\n"},
       {"d.txt", "*.example.com\nexample.net\n"}});
  f.importOk();
  store::Env env(f.store(), {.readOnly = true});
  answer::Responder responder(env, {});

  std::vector<std::vector<uint8_t>> seeds;
  test::QueryOptions edns;
  edns.edns = true;
  for (const auto& name : {"1.0.0.10.bl.test", "1.2.0.192.bl.test", "a.example.com.bl.test",
                           "bl.test", "0.10.bl.test", "x.example.org"})
    for (uint16_t type : {uint16_t{1}, uint16_t{16}, uint16_t{255}, uint16_t{6}}) {
      seeds.push_back(test::makeQuery(name, type));
      seeds.push_back(test::makeQuery(name, type, edns));
    }

  std::mt19937 rng(5782);
  auto r = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
  std::vector<uint8_t> out(65536);
  size_t replies = 0, silent = 0;
  responder.begin(std::time(nullptr));
  for (int i = 0; i < 50000; ++i) {
    auto q = seeds[r(static_cast<uint32_t>(seeds.size()))];
    for (uint32_t k = 0, n = 1 + r(4); k < n; ++k) {
      switch (r(4)) {
      case 0:
        q[r(static_cast<uint32_t>(q.size()))] = static_cast<uint8_t>(rng());
        break;
      case 1:
        q.resize(r(static_cast<uint32_t>(q.size()) + 1));
        break;
      case 2:
        q.push_back(static_cast<uint8_t>(rng()));
        break;
      default:
        if (q.size() > 12) q[12 + r(static_cast<uint32_t>(q.size() - 12))] ^= 0xc0;
      }
      if (q.empty()) break;
    }
    bool mustBeSilent = q.size() < 12 || (q[2] & 0x80);
    size_t n = responder.answer(q, out, answer::Transport::Udp);
    if (n == 0) {
      ++silent;
      continue;
    }
    INFO("mutation " << i);
    REQUIRE_FALSE(mustBeSilent);
    REQUIRE(n <= 1232);
    auto reply = test::parseReply({out.begin(), out.begin() + static_cast<long>(n)});
    REQUIRE(reply.parsed);
    REQUIRE(reply.id == (q[0] << 8 | q[1]));
    REQUIRE(reply.qr);
    ++replies;
    if (i % 64 == 0) {
      responder.end();
      responder.begin(std::time(nullptr));
    }
  }
  responder.end();
  CHECK(replies > 20000);
  CHECK(silent > 1000);
}
