// libFuzzer target: any bytes as a TSIG-signed message (RFC 8945): parsing the TSIG RR, verifying
// it against two keys, and the reply paths (signing, the unsigned error RR). Must never crash
// or read outside the message; a parse that says Ok must give a record inside it.
#include "server/answer/transfer.hh"
#include "server/answer/tsig.hh"

#include <cstdlib>
#include <vector>

using namespace dnsxl::answer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<tsig::Key> keys = [] {
    std::vector<tsig::Key> k;
    std::string error;
    for (auto [name, alg] : {std::pair{"key.test", "hmac-sha256"}, {"sha1.test", "hmac-sha1"}})
      if (auto key = tsig::makeKey(name, alg, "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", error))
        k.push_back(*key);
    if (k.size() != 2) std::abort();
    return k;
  }();
  constexpr uint64_t kNow = 1795930304; // a fixed time: inputs replay the same way
  std::span<const uint8_t> in(data, size);
  tsig::Record r;
  if (tsig::parse(in, r) == tsig::Parse::Ok) {
    if (r.offset >= size) std::abort();
    const tsig::Key* matched = nullptr;
    tsig::verify(in, r, keys, kNow, &matched);
    std::vector<uint8_t> reply(data, data + r.offset);
    if (reply.size() >= 12) {
      tsig::appendUnsigned(reply, r, tsig::kBadSig);
      reply.assign(data, data + r.offset);
      tsig::sign(reply, keys[0], r.originalId, r.mac, false, kNow);
    }
  }
  // the responder's path: a signed ordinary query, its reply signed in place or replaced
  std::vector<uint8_t> reply(data, data + size);
  reply.resize(size + 512);
  if (size >= 12) tsigReply(in, reply, size, keys, kNow);
  return 0;
}
