// TSIG (RFC 8945) by known answers: the MACs below were computed apart from this code (Python's
// hmac over the digest input of §4.3.3 and §5.3.1, written out field by field), so a mistake
// in what we digest fails here even where our signer and verifier would agree with each other.
#include "server/answer/tsig.hh"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace dnsxl::answer;

namespace {

constexpr uint64_t kTime = 1700000000;

std::vector<uint8_t> hex(const std::string& h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
  return out;
}

// example.test A, id 0x1234; flags 0x8400 (QR, AA) for the reply.
std::vector<uint8_t> message(bool reply) {
  auto m = hex(reply ? "123484000001000000000000" : "123400000001000000000000");
  const std::string q("\7example\4test\0\0\1\0\1", 18);
  m.insert(m.end(), q.begin(), q.end());
  return m;
}

tsig::Key key() {
  std::string error;
  auto k = tsig::makeKey("test.key", "hmac-sha256", "MDEyMzQ1Njc4OWFiY2RlZg==", error);
  REQUIRE(k);
  REQUIRE(k->secret == "0123456789abcdef");
  return *k;
}

} // namespace

TEST_CASE("a request, its reply and the next message of a transfer: the MACs RFC 8945 gives",
          "[tsig]") {
  const auto k = key();
  auto request = message(false);
  const auto reqMac = tsig::sign(request, k, 0x1234, {}, false, kTime);
  CHECK(reqMac == hex("308a0882fcb23359b51544d2041a64e09073da265f4b488d148d52c336ef900e"));
  CHECK(request[11] == 1); // ARCOUNT: the TSIG record

  auto reply = message(true);
  const auto replyMac = tsig::sign(reply, k, 0x1234, reqMac, false, kTime + 1);
  CHECK(replyMac == hex("68a515f8c8093762c3d834f83c2dcfb0135b212408db5960b2b3762d1b05416c"));

  auto next = message(true); // §5.3.1: the previous MAC, the message, the timers only
  const auto nextMac = tsig::sign(next, k, 0x1234, replyMac, true, kTime + 2);
  CHECK(nextMac == hex("67358206da5d686e7e47c85f7ca31dc310de8079668c66b77428607a4740e51c"));
}

TEST_CASE("verify: good, a flipped bit, an unknown key, a time outside the fudge", "[tsig]") {
  const auto k = key();
  auto request = message(false);
  tsig::sign(request, k, 0x1234, {}, false, kTime);
  tsig::Record r;
  REQUIRE(tsig::parse(request, r) == tsig::Parse::Ok);
  CHECK(r.keyName == "test.key");
  CHECK(r.algorithm == "hmac-sha256");
  CHECK(r.timeSigned == kTime);
  CHECK(r.fudge == tsig::kFudge);
  const tsig::Key* matched = nullptr;
  CHECK(tsig::verify(request, r, {k}, kTime + 10, &matched) == 0);
  CHECK(matched != nullptr);

  auto flipped = request;
  flipped[13] ^= 1; // a letter of the question name
  tsig::Record fr;
  REQUIRE(tsig::parse(flipped, fr) == tsig::Parse::Ok);
  CHECK(tsig::verify(flipped, fr, {k}, kTime, &matched) == tsig::kBadSig);

  auto other = k;
  other.name = "other.key";
  CHECK(tsig::verify(request, r, {other}, kTime, &matched) == tsig::kBadKey);
  CHECK(tsig::verify(request, r, {k}, kTime + tsig::kFudge + 1, &matched) == tsig::kBadTime);
  CHECK(tsig::verify(request, r, {k}, kTime - tsig::kFudge - 1, &matched) == tsig::kBadTime);
}

TEST_CASE("parse: an unsigned message; HMAC-MD5 keys are refused (RFC 8945 §6)", "[tsig]") {
  auto plain = message(false);
  tsig::Record r;
  CHECK(tsig::parse(plain, r) == tsig::Parse::None);
  std::string error;
  CHECK_FALSE(tsig::makeKey("k", "hmac-md5", "MDEyMzQ1Njc4OWFiY2RlZg==", error));
  CHECK_FALSE(error.empty());
}
