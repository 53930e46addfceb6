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
#include "config/config.hh"
#include "server/answer/responder.hh"
#include "store/store.hh"

#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>

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
  // DNSXL_BENCH_CLIENT=1: every query from 127.0.0.1, as dnsxld gives one; DNSXL_BENCH_ACCESS=
  // the zone: also [[zone.access]] rules for it (refuse 0/0, answer DNSXL_BENCH_RESOLVERS'
  // prefixes, allow 127.0.0.0/8): what looking the client's rule up costs.
  answer::Options options;
  answer::Client local;
  local.v4 = 0x7f000001;
  const answer::Client* client = std::getenv("DNSXL_BENCH_CLIENT") ? &local : nullptr;
  if (const char* zone = std::getenv("DNSXL_BENCH_ACCESS")) {
    client = &local;
    answer::ZoneAccess za;
    za.zone = zone;
    auto add = [&](const char* prefix, uint16_t rule) {
      if (auto p = config::parsePrefix(prefix)) za.table.add(p->v6, p->addr.data(), p->len, rule);
    };
    za.table.rules = {{answer::AccessAction::Refuse, 0, {}, 300},
                      {answer::AccessAction::Answer, 0x7ffffffe, {}, 300},
                      {answer::AccessAction::Allow, 0, {}, 300}};
    add("0.0.0.0/0", 0);
    add("::/0", 0);
    if (const char* file = std::getenv("DNSXL_BENCH_RESOLVERS")) {
      std::ifstream in(file);
      for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') add(line.c_str(), 1);
    }
    add("127.0.0.0/8", 2);
    za.table.build();
    options.access.push_back(std::move(za));
  }
  answer::Responder responder(env, options);
  std::vector<uint8_t> out(65536);
  size_t bytes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  responder.begin(std::time(nullptr));
  for (size_t i = 0; i < count; ++i) {
    bytes += responder.answer(qs[i % qs.size()], out, answer::Transport::Udp, client);
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
