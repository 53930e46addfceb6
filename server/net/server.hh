// The network side of dnsxld: the only code that includes Asio. Each worker thread owns an
// io_context, a Responder (its own LMDB read transaction) and SO_REUSEPORT UDP sockets and TCP
// acceptors on every listen address, so workers share no mutable state.
// TCP follows RFC 7766: 2-byte framing, pipelined queries, idle timeout, connection limit.
#pragma once

#include "server/answer/responder.hh"
#include "server/answer/transfer.hh"

#include <cstdio>
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

// rbldnsd's query log (-l): one line per answered query, shared by the workers. Logging is off
// the hot path unless asked for; reopen() follows log rotation (SIGHUP).
class QueryLog {
public:
  QueryLog(std::string path, bool unbuffered);
  ~QueryLog();
  bool open(); // false (and errno) when the file cannot be opened for appending
  bool reopen() { return open(); }
  void write(const char* line, size_t len);
  const std::string& path() const { return d_path; }

private:
  std::mutex d_mutex;
  std::FILE* d_file = nullptr;
  std::string d_path;
  bool d_unbuffered;
};

struct Options {
  std::vector<ListenAddress> listen;
  unsigned workers = 1;
  uint32_t tcpIdleTimeoutMs = 10000;
  unsigned tcpMaxConnections = 150; // in all; split evenly between workers
  answer::Options answer;
  answer::TransferOptions transfer; // AXFR/IXFR over TCP (RFC 5936)
  // NOTIFY (RFC 1996) to these secondaries whenever a zone's serial changes (and at start),
  // retried after notifyRetryMs, doubling, notifyRetries times.
  std::vector<ListenAddress> notify;
  uint32_t notifyRetryMs = 2000;
  unsigned notifyRetries = 5;
  uint32_t notifyDelayMs = 1000;      // quiet time after a change before NOTIFY goes out
  std::shared_ptr<QueryLog> queryLog; // optional
};

class Server {
public:
  Server(store::Env& env, Options options);
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
  // Query counters of all workers, per zone ("*" = all queries). Safe from any thread.
  std::map<std::string, answer::ZoneStats> stats() const;

private:
  struct Impl;
  std::unique_ptr<Impl> d_impl;
};

} // namespace dnsxl::net
