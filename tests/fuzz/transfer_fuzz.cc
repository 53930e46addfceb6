// libFuzzer target: any bytes as a zone transfer query (AXFR/IXFR, RFC 5936/1995), from an
// allowed client and with TSIG keys known, answered in small messages (many of them, each
// cut near 512 bytes). Every message streamed must be a reply (QR) of a DNS message's size.
#include "server/answer/transfer.hh"
#include "tests/fuzz/world.hh"

#include <cstdlib>

using namespace dnsxl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto env = fuzz::smallStore();
  static const answer::TransferOptions options = [] {
    answer::TransferOptions o;
    o.allow = {*config::parsePrefix("127.0.0.0/8")};
    std::string error;
    o.keys = {
        *answer::tsig::makeKey("key.test", "hmac-sha256", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", error)};
    o.messageSize = 512;
    return o;
  }();
  std::span<const uint8_t> in(data, size);
  answer::isTransfer(in);
  answer::Client client;
  client.v4 = 0x7f000001;
  answer::transfer(*env, in, client, options, [](std::span<const uint8_t> message) {
    if (message.size() < 12 || message.size() > 65535 || !(message[2] & 0x80)) std::abort();
    return true;
  });
  return 0;
}
