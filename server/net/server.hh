// The network side of dnsxld: the only code that includes Asio. Each worker thread owns an
// io_context, a Responder (its own LMDB read transaction) and SO_REUSEPORT UDP sockets and TCP
// acceptors on every listen address, so workers share no mutable state. One dnsxld per listen
// address: a second one on the same address and port is refused (SO_REUSEPORT would otherwise
// split the traffic between them).
// TCP follows RFC 7766: 2-byte framing, pipelined queries, idle timeout (a query trickled in
// byte by byte does not renew it: slowloris), connection limits in all and per client.
#pragma once

#include "server/answer/responder.hh"
#include "server/answer/transfer.hh"
#include "server/net/query_log.hh"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dnsxl::net {

struct ListenAddress {
  std::string address; // numeric
  uint16_t port = 53;  // 0 = any free port (the same one for UDP and TCP)
};

struct Options {
  std::vector<ListenAddress> listen;
  unsigned workers = 1;
  uint32_t tcpIdleTimeoutMs = 10000;
  unsigned tcpMaxConnections = 150; // open at once, in all workers together
  unsigned tcpMaxPerClient = 16;    // open at once from one address (IPv6: one /64); 0 = no cap
  // UDP response rate limiting (rrl.hh): responses a second per client network; 0 = off
  uint32_t rrlPerSecond = 0;
  uint32_t rrlSlip = 2; // every slip-th limited response goes out truncated (TC); 0 = none
  answer::Options answer;
  answer::TransferOptions transfer; // AXFR/IXFR over TCP (RFC 5936)
  // NOTIFY (RFC 1996) to these secondaries whenever a zone's serial changes (and at start),
  // retried after notifyRetryMs, doubling, notifyRetries times.
  std::vector<ListenAddress> notify;
  uint32_t notifyRetryMs = 2000;
  unsigned notifyRetries = 5;
  uint32_t notifyDelayMs = 1000;      // quiet time after a change before NOTIFY goes out
  std::shared_ptr<QueryLog> queryLog; // optional
  uint32_t drainTimeoutMs = 20000;    // SIGTERM: TCP sessions and transfers may finish this long
};

// What the server did besides answering queries (counted off the query path).
struct ServerStats {
  // zone transfers by type ("axfr", "ixfr") and result ("ok", "refused", "notauth", "servfail",
  // "aborted": the client went away or was too slow)
  std::map<std::pair<std::string, std::string>, uint64_t> transfers;
  uint64_t notifySent = 0, notifyAcked = 0, notifyFailed = 0;
  unsigned tcpConnections = 0;             // open now
  uint64_t tcpRefused = 0;                 // connections closed at once: at the limit
  uint64_t tcpRefusedPerClient = 0;        // of those, at the per-client limit
  uint64_t rrlDropped = 0, rrlSlipped = 0; // UDP responses over the rate limit
};

class Server {
public:
  Server(store::Env& env, Options options);
  Server(std::shared_ptr<store::Env> env, Options options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every socket; throws std::runtime_error naming the address on failure.
  // Returns the bound addresses as "ADDRESS:PORT" ("[v6]:PORT").
  std::vector<std::string> bind();
  // Serves until stop() (or a fatal error). Blocks.
  void run();
  // Safe to call from any thread or a signal handler's io_context.
  void stop();
  // A config reload, from another thread while run() serves: new listen addresses are bound
  // first (an error throws and changes nothing), then each worker takes the new options between
  // two batches (no query is dropped); addresses no longer listed are closed. The number of
  // workers stays. Returns the addresses now listened on.
  std::vector<std::string> reload(Options options);
  // Graceful stop, from another thread: stops listening (UDP sockets and TCP acceptors closed),
  // lets each TCP session finish the query or zone transfer in hand, up to timeout; what is
  // left then is cut. Then stop(). True when everything finished in time.
  bool drain(std::chrono::milliseconds timeout);
  // Serves another store from now on (a mirror's data file replaced whole): each worker moves
  // between two batches; transfers in progress finish on the old one, which closes after them.
  void replaceStore(std::shared_ptr<store::Env> env);
  std::shared_ptr<store::Env> store() const;
  // Query counters of all workers, per zone ("*" = all queries). Safe from any thread.
  std::map<std::string, answer::ZoneStats> stats() const;
  ServerStats serverStats() const;

private:
  struct Impl;
  std::unique_ptr<Impl> d_impl;
};

} // namespace dnsxl::net
