// libFuzzer target: any bytes as a query to the responder, over UDP and TCP limits, against a
// small store built once. Build: see tests/fuzz/CMakeLists.txt (clang 14, -DDNSXL_FUZZ=ON).
#include "server/answer/responder.hh"
#include "tests/fuzz/world.hh"

#include <vector>

namespace {

struct World {
  std::unique_ptr<dnsxl::store::Env> env = dnsxl::fuzz::smallStore();
  dnsxl::answer::Responder responder{*env, dnsxl::answer::Options{}};
  std::vector<uint8_t> out = std::vector<uint8_t>(65536);
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  std::span<const uint8_t> in(data, size);
  world.responder.answerOne(in, world.out, dnsxl::answer::Transport::Udp, 0);
  world.responder.answerOne(in, world.out, dnsxl::answer::Transport::Tcp, 0);
  return 0;
}
