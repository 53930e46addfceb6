#include "server/serve.hh"

#include <csignal>
#include <fmt/format.h>
#include <pthread.h>
#include <thread>

namespace dnsxl {

sigset_t handledSignals() {
  sigset_t s;
  sigemptyset(&s);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2})
    sigaddset(&s, sig);
  return s;
}

void blockSignals() {
  sigset_t s = handledSignals();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int serve(store::Env& env, const net::Options& options,
          const std::function<void(net::Server&)>& ready, const std::function<void(int)>& onSignal,
          const std::function<void(net::Server&)>& stopping) {
  net::Server server(env, options);
  for (const auto& b : server.bind())
    fmt::print(stderr, "dnsxld: listening on {} (udp, tcp)\n", b);
  if (ready) ready(server);
  std::thread signals([&] {
    sigset_t s = handledSignals();
    for (;;) {
      int sig = 0;
      sigwait(&s, &sig);
      if (sig == SIGHUP || sig == SIGUSR1 || sig == SIGUSR2) {
        if (onSignal) onSignal(sig);
        continue;
      }
      fmt::print(stderr, "dnsxld: signal {}, stopping\n", sig);
      server.drain(std::chrono::milliseconds(options.drainTimeoutMs));
      return;
    }
  });
  server.run();
  signals.join();
  if (stopping) stopping(server);
  return 0;
}

} // namespace dnsxl
