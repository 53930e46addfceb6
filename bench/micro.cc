// Google Benchmark micro benchmarks: query parsing, and whole answers (parse, LMDB lookup, reply
// writing) for listed and unlisted IPv4 names and domains. Run: build-bench/bin/dnsxl_micro
#include "bench/data.hh"
#include "server/answer/responder.hh"
#include "store/store.hh"

#include <benchmark/benchmark.h>
#include <memory>

namespace {

using namespace dnsxl;

struct Shared {
  bench::Data data = bench::makeData(200000, 200000, 200000, 4096);
  store::Env env{data.store, {.readOnly = true}};
  answer::Responder responder{env, {}};
};

Shared& shared() {
  static Shared s;
  return s;
}

void BM_ParseQuery(benchmark::State& state) {
  auto q = bench::query("4.3.2.1.bl.bench", 1);
  dns::Query parsed;
  for (auto _ : state)
    benchmark::DoNotOptimize(dns::parseQuery(q, parsed));
}
BENCHMARK(BM_ParseQuery);

template <std::vector<std::vector<uint8_t>> bench::Data::*Queries>
void BM_Answer(benchmark::State& state) {
  auto& s = shared();
  const auto& qs = s.data.*Queries;
  std::vector<uint8_t> out(65536);
  size_t i = 0;
  s.responder.begin(std::time(nullptr));
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.responder.answer(qs[i++ % qs.size()], out, answer::Transport::Udp));
    if (i % 64 == 0) { // a new read transaction per batch, as the UDP workers do
      s.responder.end();
      s.responder.begin(std::time(nullptr));
    }
  }
  s.responder.end();
}
BENCHMARK_TEMPLATE(BM_Answer, &bench::Data::listed4)->Name("BM_AnswerListedIp4");
BENCHMARK_TEMPLATE(BM_Answer, &bench::Data::unlisted4)->Name("BM_AnswerUnlistedIp4");
BENCHMARK_TEMPLATE(BM_Answer, &bench::Data::listedDomain)->Name("BM_AnswerListedDomain");
BENCHMARK_TEMPLATE(BM_Answer, &bench::Data::unlistedDomain)->Name("BM_AnswerUnlistedDomain");

} // namespace

BENCHMARK_MAIN();
