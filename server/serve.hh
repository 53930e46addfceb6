// Runs a net::Server until SIGTERM/SIGINT, in both of dnsxld's modes. SIGHUP, SIGUSR1 and SIGUSR2
// call onSignal (from the signal thread). Blocks the signals in every thread; one thread takes
// them.
#pragma once

#include "server/net/server.hh"

#include <csignal>
#include <functional>

namespace dnsxl {

// Call first in main(), before any thread starts.
void blockSignals();
// The signals blockSignals() blocks, for a thread that waits for them (sigwait).
sigset_t handledSignals();

// Binds, logs the addresses, calls ready(), serves; returns the exit status.
// stopping is called after the server stopped, before it is destroyed.
int serve(store::Env& env, const net::Options& options,
          const std::function<void(net::Server&)>& ready, const std::function<void(int)>& onSignal,
          const std::function<void(net::Server&)>& stopping = nullptr);

} // namespace dnsxl
