// The standalone driver that replays a fuzz target's corpus without libFuzzer, so that every
// build (gcc included, the ASan build too) runs each target on tests/fuzz/corpus/<target>:
// every input found once stays a regression test. Usage: fuzz_replay TARGET DIR|FILE...
// (each target's LLVMFuzzerTestOneInput is compiled as dnsxl_fuzz_<target>: tests/CMakeLists.txt)
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include <cstring>

extern "C" int dnsxl_fuzz_responder(const uint8_t* data, size_t size);
extern "C" int dnsxl_fuzz_feeds(const uint8_t* data, size_t size);
extern "C" int dnsxl_fuzz_tsig(const uint8_t* data, size_t size);
extern "C" int dnsxl_fuzz_transfer(const uint8_t* data, size_t size);
extern "C" int dnsxl_fuzz_config(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  using Target = int (*)(const uint8_t*, size_t);
  const std::pair<const char*, Target> targets[] = {{"responder", dnsxl_fuzz_responder},
                                                    {"feeds", dnsxl_fuzz_feeds},
                                                    {"tsig", dnsxl_fuzz_tsig},
                                                    {"transfer", dnsxl_fuzz_transfer},
                                                    {"config", dnsxl_fuzz_config}};
  Target run = nullptr;
  for (const auto& [name, f] : targets)
    if (argc > 1 && std::strcmp(argv[1], name) == 0) run = f;
  if (!run) {
    std::fprintf(stderr, "usage: %s responder|feeds|tsig|transfer|config DIR|FILE...\n", argv[0]);
    return 2;
  }
  std::vector<std::filesystem::path> inputs;
  for (int i = 2; i < argc; ++i) {
    const std::filesystem::path p = argv[i];
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) inputs.push_back(e.path());
    } else if (std::filesystem::is_regular_file(p)) {
      inputs.push_back(p);
    } else {
      std::fprintf(stderr, "%s: no such file or directory\n", argv[i]);
      return 2;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "no inputs: a corpus directory with files is needed\n");
    return 2;
  }
  for (const auto& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    std::fprintf(stderr, "%s\n", p.c_str()); // the last one named is the one that crashed
    run(bytes.data(), bytes.size());
  }
  std::printf("replayed %zu inputs without a crash\n", inputs.size());
  return 0;
}
