// Answers the queries of a query file (dnsxl_benchgen's, dnsperf format) in-process against a
// store, for instruction counts per query:
//   valgrind --tool=callgrind --toggle-collect='dnsxl::answer::Responder::answer(*'
//       build/bin/dnsxl_answer_loop STORE QUERIES 100000
// then Ir / 100000 = instructions per answer (bench/perf.sh prints it per data set). A new read
// transaction every 64 queries, as a UDP worker takes one per batch. Also prints the wall time
// per answer (the user-space cost, cache misses included, without the kernel's), which moves
// with the machine's load: compare builds side by side. An optional fourth argument sets the
// queries per read transaction: a server at half load wakes up for a few queries at a time.
#include "bench/queries.hh"
#include "server/answer/responder.hh"
#include "store/store.hh"

#include <chrono>
#include <cstdlib>
#include <fmt/format.h>

int main(int argc, char** argv) {
  using namespace dnsxl;
  if (argc != 4 && argc != 5) {
    fmt::print(stderr, "usage: {} STORE QUERIES COUNT [BATCH]\n", argv[0]);
    return 2;
  }
  const size_t batch = argc == 5 ? std::strtoul(argv[4], nullptr, 10) : 64;
  if (batch == 0) {
    fmt::print(stderr, "BATCH must be a positive number\n");
    return 2;
  }
  std::string err;
  const auto qs = bench::loadQueries(argv[2], false, err);
  if (qs.empty()) {
    fmt::print(stderr, "{}\n", err);
    return 2;
  }
  const size_t count = std::strtoul(argv[3], nullptr, 10);
  store::Env env(argv[1], {.readOnly = true});
  answer::Responder responder(env, {});
  std::vector<uint8_t> out(65536);
  size_t bytes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  responder.begin(std::time(nullptr));
  for (size_t i = 0; i < count; ++i) {
    bytes += responder.answer(qs[i % qs.size()], out, answer::Transport::Udp);
    if (i % batch == batch - 1) {
      responder.end();
      responder.begin(std::time(nullptr));
    }
  }
  responder.end();
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - t0;
  fmt::print("{} answers, {} bytes, {:.0f} ns per answer\n", count, bytes,
             took.count() / static_cast<double>(std::max<size_t>(count, 1)));
}
