// The workers' internals, shared by server.cc and notify.cc (not a public header): what a
// worker owns, what the workers share, the Asio names they use.
#pragma once

#include "server/net/server.hh"

#include "server/log.hh"
#include "server/net/rrl.hh"
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace dnsxl::net {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using asio::ip::udp;
constexpr auto kTuple = asio::as_tuple(use_awaitable);

// A store failure (LMDB error) while answering: the query goes unanswered and the first few
// failures are logged; serving goes on with the next query.
inline void reportStoreError(const std::exception& e) {
  static std::atomic<unsigned> reported{0};
  if (reported.fetch_add(1) < 10) log::error("store error: {}", e.what());
}

// What the workers share: the transfer thread, the server's own counters, the draining flag.
struct Shared {
  asio::thread_pool transfers{1}; // renders zone transfers off the query path
  std::mutex mutex;               // guards transfers' map
  std::map<std::pair<std::string, std::string>, uint64_t> transferCounts;
  std::atomic<uint64_t> notifySent{0}, notifyAcked{0}, notifyFailed{0}, tcpRefused{0};
  std::atomic<uint64_t> tcpRefusedPerClient{0};
  std::atomic<unsigned> tcpOpen{0}; // TCP connections open in all workers
  std::atomic<bool> draining{false};
  RateLimiter rrl; // UDP response rate limiting, when Options::rrlPerSecond is set
  // open TCP connections per client (an address; IPv6: its /64), for tcpMaxPerClient
  std::mutex tcpClientsMutex;
  std::unordered_map<std::string, unsigned> tcpClients;
};

struct TcpSession;

// One listen address on one worker. Closed listeners stay allocated until the server goes: a
// coroutine may still hold them when they close.
struct Listener {
  std::string key; // the configured address and port ("127.0.0.1:0" stays port 0)
  std::unique_ptr<udp::socket> dgram;
  std::unique_ptr<tcp::acceptor> stream;
};

struct Worker {
  Worker(std::shared_ptr<store::Env> e, Shared& s, std::shared_ptr<const Options> o)
      : env(std::move(e)), shared(s), responder(*env, o->answer), options(std::move(o)) {}
  std::shared_ptr<store::Env> env; // swapped by replaceStore, on this worker's thread
  Shared& shared;
  asio::io_context io{1};
  answer::Responder responder;
  std::shared_ptr<const Options> options; // swapped by a reload, on this worker's thread
  std::vector<Listener> listeners, closed;
  std::set<TcpSession*> sessions;
  std::atomic<unsigned> tcpConnections{0};
};

// Watches the store: when a zone's serial changes (or at start, or after a reload), NOTIFY every
// secondary (notify.cc). Runs on the first worker.
awaitable<void> notifyLoop(Worker& w);

} // namespace dnsxl::net
