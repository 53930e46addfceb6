// libFuzzer target: any bytes as a query to the responder, over UDP and TCP limits, against a
// small store built once. Build: see tests/fuzz/CMakeLists.txt (clang 14, -DDNSXL_FUZZ=ON).
#include "config/config.hh"
#include "server/answer/responder.hh"
#include "store/store.hh"
#include "zonegen/import.hh"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace {

struct World {
  std::unique_ptr<dnsxl::store::Env> env;
  std::unique_ptr<dnsxl::answer::Responder> responder;
  std::vector<uint8_t> out = std::vector<uint8_t>(65536);

  World() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dnsxl-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    std::filesystem::path dir = tmpl;
    std::ofstream(dir / "a.txt") << "$1 var\n10.0.0.0/8\n!10.0.0.1\n192.0.2.1 :3:"
                                 << std::string(300, 'y') << " $ $1 $$\n";
    std::ofstream(dir / "d.txt") << "*.example.com\nexample.net :4:$\n";
    std::ofstream(dir / "v6.txt") << "2001:db8::/32\n";
    std::ofstream(dir / "f.toml") << R"(
[server]
store = "store"
[[zone]]
name = "bl.test"
ns = ["ns1.bl.test"]
  [[zone.dataset]]
  name = "a"
  format = "ip4set"
  files = ["a.txt"]
  [[zone.dataset]]
  name = "d"
  format = "dnset"
  files = ["d.txt"]
  [[zone.dataset]]
  name = "v6"
  format = "ip6trie"
  files = ["v6.txt"]
)";
    auto res = dnsxl::zonegen::runImport(dnsxl::config::load(dir / "f.toml"), {});
    if (!res.ok) std::abort();
    env = std::make_unique<dnsxl::store::Env>(dir / "store",
                                              dnsxl::store::Env::Options{.readOnly = true});
    responder = std::make_unique<dnsxl::answer::Responder>(*env, dnsxl::answer::Options{});
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  std::span<const uint8_t> in(data, size);
  world.responder->answerOne(in, world.out, dnsxl::answer::Transport::Udp, 0);
  world.responder->answerOne(in, world.out, dnsxl::answer::Transport::Tcp, 0);
  return 0;
}
