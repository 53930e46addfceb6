// Answers a fixed number of queries in-process, for instruction counts per query:
//   valgrind --tool=callgrind --toggle-collect='dnsxl::answer::Responder::answer(*'
//       build-bench/bin/dnsxl_answer_loop listed4 100000
// then Ir / 100000 = instructions per answer. Kinds: listed4 unlisted4 listedDomain
// unlistedDomain. Also prints the import time of the generated data.
#include "bench/data.hh"
#include "server/answer/responder.hh"
#include "store/store.hh"

#include <cstring>
#include <fmt/format.h>

int main(int argc, char** argv) {
  using namespace dnsxl;
  if (argc != 3) {
    fmt::print(stderr, "usage: {} listed4|unlisted4|listedDomain|unlistedDomain COUNT\n", argv[0]);
    return 2;
  }
  auto data = bench::makeData(200000, 200000, 200000, 4096);
  const std::vector<std::vector<uint8_t>>* qs = nullptr;
  if (!std::strcmp(argv[1], "listed4"))
    qs = &data.listed4;
  else if (!std::strcmp(argv[1], "unlisted4"))
    qs = &data.unlisted4;
  else if (!std::strcmp(argv[1], "listedDomain"))
    qs = &data.listedDomain;
  else if (!std::strcmp(argv[1], "unlistedDomain"))
    qs = &data.unlistedDomain;
  else
    return 2;
  size_t count = std::strtoul(argv[2], nullptr, 10);
  store::Env env(data.store, {.readOnly = true});
  answer::Responder responder(env, {});
  std::vector<uint8_t> out(65536);
  size_t bytes = 0;
  responder.begin();
  for (size_t i = 0; i < count; ++i) {
    bytes += responder.answer((*qs)[i % qs->size()], out, answer::Transport::Udp);
    if (i % 64 == 63) {
      responder.end();
      responder.begin();
    }
  }
  responder.end();
  fmt::print("{} entries imported in {:.2f} s; {} answers, {} bytes\n", data.entries,
             data.importSeconds, count, bytes);
}
