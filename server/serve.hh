// Runs a net::Server until SIGTERM/SIGINT, in both of dnsxld's modes. SIGHUP calls onHangup
// (from the signal thread). Blocks the signals in every thread; one thread takes them.
#pragma once

#include "server/net/server.hh"

#include <functional>

namespace dnsxl {

// Call first in main(), before any thread starts.
void blockSignals();

// Binds, logs the addresses, calls ready(), serves; returns the exit status.
int serve(store::Env& env, const net::Options& options, const std::function<void()>& ready,
          const std::function<void()>& onHangup);

} // namespace dnsxl
