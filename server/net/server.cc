#include "server/net/server.hh"

#include <arpa/inet.h>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <map>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <random>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>

namespace dnsxl::net {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using asio::ip::udp;
constexpr auto kTuple = asio::as_tuple(use_awaitable);

namespace {

constexpr size_t kUdpBatch = 64; // queries answered under one read transaction

// A store failure (LMDB error) while answering: the query goes unanswered and the first few
// failures are logged; serving goes on with the next query.
void reportStoreError(const std::exception& e) {
  static std::atomic<unsigned> reported{0};
  if (reported.fetch_add(1) < 10) fmt::print(stderr, "dnsxld: store error: {}\n", e.what());
}

// A UDP socket's receive buffer holds the queries that arrive while its worker is busy (or
// descheduled): the kernel default (~200 KB, a few hundred queries) overflows within a
// millisecond at 200k qps. 4 MB past net.core.rmem_max when permitted (CAP_NET_ADMIN, before
// privileges are dropped), else as much as rmem_max allows.
void udpBuffers(int fd) {
  int size = 4 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

void reusePort(int fd) {
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    throw std::runtime_error("setsockopt SO_REUSEPORT failed");
}

answer::Client clientOf(const sockaddr_storage& sa) {
  answer::Client c;
  if (sa.ss_family == AF_INET) {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(&sa);
    c.v4 = ntohl(s4->sin_addr.s_addr);
  } else if (sa.ss_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&sa);
    c.v6 = true;
    std::memcpy(c.addr6.data(), &s6->sin6_addr, 16);
  }
  return c;
}

answer::Client clientOf(const asio::ip::address& a) {
  answer::Client c;
  if (a.is_v4()) {
    c.v4 = a.to_v4().to_uint();
  } else {
    c.v6 = true;
    auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), c.addr6.begin());
  }
  return c;
}

void logQuery(QueryLog& log, const answer::Client& client, std::span<const uint8_t> query,
              std::span<const uint8_t> reply) {
  char ip[INET6_ADDRSTRLEN];
  if (client.v6) {
    inet_ntop(AF_INET6, client.addr6.data(), ip, sizeof ip);
  } else {
    const uint32_t n = htonl(client.v4);
    inet_ntop(AF_INET, &n, ip, sizeof ip);
  }
  char line[1400];
  size_t n = dns::formatQueryLogLine(line, sizeof line, static_cast<int64_t>(std::time(nullptr)),
                                     ip, query, reply);
  if (n) log.write(line, n);
}

struct Worker {
  Worker(store::Env& e, const Options& opt) : env(e), responder(e, opt.answer), options(opt) {}
  store::Env& env;
  asio::thread_pool* transfers = nullptr; // renders zone transfers off the query path
  asio::io_context io{1};
  answer::Responder responder;
  const Options& options;
  std::vector<std::unique_ptr<udp::socket>> udpSockets;
  std::vector<std::unique_ptr<tcp::acceptor>> tcpAcceptors;
  unsigned tcpConnections = 0;
  unsigned tcpLimit = 1;
};

// A worker's UDP buffers: up to kUdpBatch datagrams in per recvmmsg, their replies out per
// sendmmsg. Allocated once; pages are touched only as far as replies reach.
struct UdpBatch {
  static constexpr size_t kIn = 4096; // queries are small; a longer one arrives truncated
  explicit UdpBatch(size_t size)
      : outSize(size), in(new uint8_t[kUdpBatch * kIn]), out(new uint8_t[kUdpBatch * size]) {}
  size_t outSize;
  std::unique_ptr<uint8_t[]> in, out;
  std::array<mmsghdr, kUdpBatch> recv{}, send{};
  std::array<iovec, kUdpBatch> inIov{}, outIov{};
  std::array<sockaddr_storage, kUdpBatch> from{};
};

// Answers the datagrams waiting on the socket, kUdpBatch at a time under one read transaction:
// one recvmmsg, the answers written in place, one sendmmsg (DESIGN.md: the hot path).
awaitable<void> udpLoop(Worker& w, udp::socket& sock) {
  sock.non_blocking(true);
  const int fd = sock.native_handle();
  UdpBatch b(std::max<size_t>(512, w.options.answer.ednsUdpMax));
  for (;;) {
    auto [ec] = co_await sock.async_wait(udp::socket::wait_read, kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !sock.is_open()) co_return;
      continue;
    }
    // Until the socket is drained, or eight full batches: then through the io_context again, so
    // that TCP sessions on this worker get their turn under a UDP flood.
    for (int round = 0; round < 8; ++round) {
      for (size_t i = 0; i < kUdpBatch; ++i) {
        b.inIov[i] = {b.in.get() + i * UdpBatch::kIn, UdpBatch::kIn};
        auto& h = b.recv[i].msg_hdr;
        h = {};
        h.msg_name = &b.from[i];
        h.msg_namelen = sizeof b.from[i];
        h.msg_iov = &b.inIov[i];
        h.msg_iovlen = 1;
      }
      const int got = ::recvmmsg(fd, b.recv.data(), kUdpBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) break; // EAGAIN: wait for more
      unsigned replies = 0;
      w.responder.begin(std::time(nullptr)); // the batch's wall-clock time, read once
      try {
        for (size_t i = 0; i < static_cast<size_t>(got); ++i) {
          const std::span<const uint8_t> query(b.in.get() + i * UdpBatch::kIn, b.recv[i].msg_len);
          uint8_t* out = b.out.get() + i * b.outSize;
          const auto client = clientOf(b.from[i]);
          const size_t len =
              w.responder.answer(query, {out, b.outSize}, answer::Transport::Udp, &client);
          if (!len) continue;
          // Logged before the reply leaves, so that the log follows the order clients see.
          if (w.options.queryLog) logQuery(*w.options.queryLog, client, query, {out, len});
          b.outIov[replies] = {out, len};
          auto& h = b.send[replies].msg_hdr;
          h = {};
          h.msg_name = &b.from[i];
          h.msg_namelen = b.recv[i].msg_hdr.msg_namelen;
          h.msg_iov = &b.outIov[replies];
          h.msg_iovlen = 1;
          ++replies;
        }
      } catch (const std::exception& e) {
        reportStoreError(e);
      }
      w.responder.end();
      // A full send buffer drops the rest of the batch, as a lost datagram would be.
      for (unsigned sent = 0; sent < replies;) {
        const int n = ::sendmmsg(fd, b.send.data() + sent, replies - sent, MSG_DONTWAIT);
        if (n <= 0) break;
        sent += static_cast<unsigned>(n);
      }
      if (static_cast<size_t>(got) < kUdpBatch) break;
    }
  }
}

// Writes a 2-byte framed message on a (non-blocking) TCP socket from the transfer thread, waiting
// for room up to 60 s at a time; false if the peer is gone or too slow.
bool writeFramed(int fd, std::span<const uint8_t> m) {
  const uint8_t frame[2] = {static_cast<uint8_t>(m.size() >> 8), static_cast<uint8_t>(m.size())};
  for (std::span<const uint8_t> part : {std::span<const uint8_t>(frame, 2), m}) {
    while (!part.empty()) {
      const ssize_t n = ::send(fd, part.data(), part.size(), MSG_NOSIGNAL);
      if (n > 0) {
        part = part.subspan(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 60000) <= 0) return false;
    }
  }
  return true;
}

struct TcpSession {
  explicit TcpSession(tcp::socket s) : sock(std::move(s)), timer(sock.get_executor()) {
    boost::system::error_code ec;
    auto peer = sock.remote_endpoint(ec);
    if (!ec) client = clientOf(peer.address());
  }
  tcp::socket sock;
  answer::Client client;
  asio::steady_timer timer;
  std::chrono::steady_clock::time_point deadline;
};

// Closes the connection once it has been idle (no complete query) for the timeout (RFC 7766
// §6.2.3).
awaitable<void> idleWatch(std::shared_ptr<TcpSession> s) {
  while (s->sock.is_open()) {
    s->timer.expires_at(s->deadline);
    co_await s->timer.async_wait(kTuple);
    if (std::chrono::steady_clock::now() >= s->deadline) {
      boost::system::error_code ignored;
      s->sock.close(ignored);
    }
  }
}

awaitable<void> tcpSession(Worker& w, std::shared_ptr<TcpSession> s) {
  auto idle = std::chrono::milliseconds(w.options.tcpIdleTimeoutMs);
  s->deadline = std::chrono::steady_clock::now() + idle;
  asio::co_spawn(w.io, idleWatch(s), asio::detached);
  std::vector<uint8_t> in(65535), out(65537);
  for (;;) {
    std::array<uint8_t, 2> lenBuf{};
    auto [ec1, n1] = co_await asio::async_read(s->sock, asio::buffer(lenBuf), kTuple);
    if (ec1) break;
    size_t len = size_t{lenBuf[0]} << 8 | lenBuf[1];
    auto [ec2, n2] = co_await asio::async_read(s->sock, asio::buffer(in.data(), len), kTuple);
    if (ec2) break;
    s->deadline = std::chrono::steady_clock::now() + idle;
    if (answer::isTransfer({in.data(), len})) {
      // A zone transfer: messages from one snapshot (RFC 5936 §2.2), rendered and written by the
      // transfer thread as they fill, while this worker goes on answering queries. This session
      // leaves the socket alone meanwhile.
      std::vector<uint8_t> query(in.begin(), in.begin() + static_cast<long>(len));
      s->deadline = std::chrono::steady_clock::now() + std::chrono::hours(24);
      const int fd = s->sock.native_handle();
      auto [tex, sent] = co_await asio::co_spawn(
          w.transfers->get_executor(),
          [&w, &query, fd, client = s->client]() -> awaitable<bool> {
            try {
              co_return answer::transfer(
                  w.env, query, client, w.options.transfer,
                  [fd](std::span<const uint8_t> m) { return writeFramed(fd, m); });
            } catch (const std::exception& e) {
              reportStoreError(e);
            }
            co_return false;
          },
          kTuple);
      s->deadline = std::chrono::steady_clock::now() + idle;
      if (tex || !sent) break;
      continue;
    }
    size_t rlen = 0;
    try {
      rlen = w.responder.answerOne({in.data(), len}, {out.data() + 2, out.size() - 2},
                                   answer::Transport::Tcp, std::time(nullptr), &s->client);

    } catch (const std::exception& e) {
      w.responder.end();
      reportStoreError(e);
    }
    if (rlen == 0) continue;
    if (w.options.queryLog)
      logQuery(*w.options.queryLog, s->client, {in.data(), len}, {out.data() + 2, rlen});
    out[0] = static_cast<uint8_t>(rlen >> 8);
    out[1] = static_cast<uint8_t>(rlen);
    auto [ec3, n3] =
        co_await asio::async_write(s->sock, asio::buffer(out.data(), rlen + 2), kTuple);
    if (ec3) break;
  }
  boost::system::error_code ignored;
  s->sock.close(ignored);
  s->timer.cancel();
  --w.tcpConnections;
}

// NOTIFY one secondary of one serial (RFC 1996 §3.6, §4): resend until a matching reply comes,
// waiting retryMs, doubling, up to `retries` resends. A timer cancels the pending receive (a plain
// handler holding the socket, so that it outlives the coroutine).
// GCC 12 reports a false -Wmismatched-new-delete for this coroutine's frame (Asio's frames use
// their own operator new and delete).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
awaitable<void> notifyOne(asio::io_context& io, std::string zone, uint32_t serial,
                          udp::endpoint target, uint32_t retryMs, unsigned retries,
                          std::optional<answer::tsig::Key> key) {
  auto sock = std::make_shared<udp::socket>(io);
  boost::system::error_code ec;
  sock->open(target.protocol(), ec);
  if (ec) co_return;
  const auto id = static_cast<uint16_t>(std::random_device{}());
  const auto msg = answer::notifyMessage(zone, id, key ? &*key : nullptr);
  std::array<uint8_t, 4096> buf{};
  auto wait = std::chrono::milliseconds(retryMs);
  for (unsigned attempt = 0; attempt <= retries; ++attempt) {
    co_await sock->async_send_to(asio::buffer(msg), target, kTuple);
    auto timer = std::make_shared<asio::steady_timer>(io, wait);
    timer->async_wait([sock, timer](const boost::system::error_code& e) {
      if (!e) sock->cancel(); // timed out: the receive below ends, and we send again
    });
    for (;;) {
      udp::endpoint from;
      auto [rec, n] = co_await sock->async_receive_from(asio::buffer(buf), from, kTuple);
      if (rec) break;
      if (from == target && answer::isNotifyReply({buf.data(), n}, id)) {
        timer->cancel();
        co_return;
      }
    }
    wait *= 2;
  }
  fmt::print(stderr, "dnsxld: NOTIFY {} serial {} to {}:{}: no answer after {} tries\n", zone,
             serial, target.address().to_string(), target.port(), retries + 1);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Watches the store: when a zone's serial changes (or at start), NOTIFY every secondary.
awaitable<void> notifyLoop(asio::io_context& io, store::Env& env, const Options& o) {
  std::vector<udp::endpoint> targets;
  for (const auto& t : o.notify) {
    boost::system::error_code ec;
    auto a = asio::ip::make_address(t.address, ec);
    if (!ec) targets.emplace_back(a, t.port);
  }
  std::optional<answer::tsig::Key> key; // NOTIFY is signed with the transfer key
  for (const auto& k : o.transfer.keys)
    if (k.name == o.transfer.requireKey) key = k;
  store::Snapshot snap(env);
  snap.reset();
  using Clock = std::chrono::steady_clock;
  // A burst of changes (an add and a delist a moment apart) makes one NOTIFY: it goes out once
  // the serial has not changed for notifyDelayMs. It is sent again, once, five delays later: a
  // secondary that was busy transferring the previous serial may have let it pass (NSD does).
  struct Pending {
    uint32_t serial;
    Clock::time_point due;
    bool reminder;
  };
  std::map<std::string, uint32_t> serials;
  std::map<std::string, Pending> pending;
  const auto delay = std::chrono::milliseconds(o.notifyDelayMs);
  uint64_t generation = UINT64_MAX;
  bool started = false;
  asio::steady_timer tick(io);
  for (;;) {
    try {
      snap.renew();
      if (snap.generation() != generation) {
        generation = snap.generation();
        for (const auto& z : snap.zones()) {
          if (z.name.empty()) continue;
          auto [it, fresh] = serials.try_emplace(z.name, z.soa.serial);
          if (!fresh && it->second == z.soa.serial) continue;
          it->second = z.soa.serial;
          pending[z.name] = {z.soa.serial, started ? Clock::now() + delay : Clock::now(), false};
        }
      }
      started = true;
      snap.reset();
    } catch (const std::exception& e) {
      reportStoreError(e);
    }
    const auto now = Clock::now();
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->second.due > now) {
        ++it;
        continue;
      }
      for (const auto& t : targets)
        asio::co_spawn(
            io,
            notifyOne(io, it->first, it->second.serial, t, o.notifyRetryMs, o.notifyRetries, key),
            asio::detached);
      if (it->second.reminder) {
        it = pending.erase(it);
      } else {
        it->second.reminder = true;
        it->second.due = now + 5 * delay;
        ++it;
      }
    }
    tick.expires_after(std::chrono::milliseconds(100));
    auto [ec] = co_await tick.async_wait(kTuple);
    if (ec) co_return;
  }
}

awaitable<void> acceptLoop(Worker& w, tcp::acceptor& acc) {
  for (;;) {
    auto [ec, sock] = co_await acc.async_accept(kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc.is_open()) co_return;
      continue;
    }
    if (w.tcpConnections >= w.tcpLimit) {
      boost::system::error_code ignored;
      sock.close(ignored); // at the limit (RFC 9210 §4.2)
      continue;
    }
    ++w.tcpConnections;
    asio::co_spawn(w.io, tcpSession(w, std::make_shared<TcpSession>(std::move(sock))),
                   asio::detached);
  }
}

} // namespace

QueryLog::QueryLog(std::string path, bool unbuffered)
    : d_path(std::move(path)), d_unbuffered(unbuffered) {}

QueryLog::~QueryLog() {
  if (d_file && d_file != stdout) std::fclose(d_file);
}

bool QueryLog::open() {
  std::lock_guard lock(d_mutex);
  if (d_path == "-") {
    d_file = stdout;
    return true;
  }
  std::FILE* f = std::fopen(d_path.c_str(), "a");
  if (!f) return false;
  if (d_file && d_file != stdout) std::fclose(d_file);
  d_file = f;
  return true;
}

void QueryLog::write(const char* line, size_t len) {
  std::lock_guard lock(d_mutex);
  if (!d_file) return;
  std::fwrite(line, 1, len, d_file);
  if (d_unbuffered) std::fflush(d_file);
}

struct Server::Impl {
  Impl(store::Env& e, Options o) : env(e), options(std::move(o)) {}
  store::Env& env;
  Options options;
  asio::thread_pool transfers{1};
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<bool> stopped{false};
};

Server::Server(store::Env& env, Options options)
    : d_impl(std::make_unique<Impl>(env, std::move(options))) {
  auto& o = d_impl->options;
  if (o.workers == 0) o.workers = std::max(1U, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < o.workers; ++i) {
    d_impl->workers.push_back(std::make_unique<Worker>(env, o));
    d_impl->workers.back()->transfers = &d_impl->transfers;
    d_impl->workers.back()->tcpLimit =
        std::max(1U, (o.tcpMaxConnections + o.workers - 1 - i) / o.workers);
  }
}

Server::~Server() = default;

std::vector<std::string> Server::bind() {
  std::vector<std::string> bound;
  for (const auto& l : d_impl->options.listen) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(l.address, ec);
    if (ec) throw std::runtime_error("not an IP address: " + l.address);
    uint16_t port = l.port;
    for (int attempt = 0;; ++attempt) {
      try {
        uint16_t p = port;
        std::vector<std::unique_ptr<udp::socket>> us;
        std::vector<std::unique_ptr<tcp::acceptor>> ts;
        for (auto& w : d_impl->workers) {
          auto u = std::make_unique<udp::socket>(w->io);
          u->open(addr.is_v6() ? udp::v6() : udp::v4());
          reusePort(u->native_handle());
          udpBuffers(u->native_handle());
          if (addr.is_v6()) u->set_option(asio::ip::v6_only(true));
          u->bind({addr, p});
          p = u->local_endpoint().port();
          auto t = std::make_unique<tcp::acceptor>(w->io);
          t->open(addr.is_v6() ? tcp::v6() : tcp::v4());
          t->set_option(tcp::acceptor::reuse_address(true));
          reusePort(t->native_handle());
          if (addr.is_v6()) t->set_option(asio::ip::v6_only(true));
          t->bind({addr, p});
          t->listen(asio::socket_base::max_listen_connections);
          us.push_back(std::move(u));
          ts.push_back(std::move(t));
        }
        for (size_t i = 0; i < d_impl->workers.size(); ++i) {
          d_impl->workers[i]->udpSockets.push_back(std::move(us[i]));
          d_impl->workers[i]->tcpAcceptors.push_back(std::move(ts[i]));
        }
        bound.push_back(addr.is_v6() ? fmt::format("[{}]:{}", l.address, p)
                                     : fmt::format("{}:{}", l.address, p));
        break;
      } catch (const boost::system::system_error& e) {
        // With port 0 the UDP port may be taken for TCP: try another free port.
        if (port != 0 || attempt >= 20)
          throw std::runtime_error(fmt::format("cannot listen on {} port {}: {}", l.address, l.port,
                                               e.code().message()));
      }
    }
  }
  return bound;
}

void Server::run() {
  std::vector<std::thread> threads;
  for (auto& w : d_impl->workers) {
    for (auto& u : w->udpSockets)
      asio::co_spawn(w->io, udpLoop(*w, *u), asio::detached);
    for (auto& t : w->tcpAcceptors)
      asio::co_spawn(w->io, acceptLoop(*w, *t), asio::detached);
  }
  if (!d_impl->options.notify.empty())
    asio::co_spawn(d_impl->workers[0]->io,
                   notifyLoop(d_impl->workers[0]->io, d_impl->env, d_impl->options),
                   asio::detached);
  for (size_t i = 1; i < d_impl->workers.size(); ++i)
    threads.emplace_back([w = d_impl->workers[i].get()] { w->io.run(); });
  d_impl->workers[0]->io.run();
  for (auto& t : threads)
    t.join();
}

std::map<std::string, answer::ZoneStats> Server::stats() const {
  std::map<std::string, answer::ZoneStats> out;
  for (const auto& w : d_impl->workers)
    w->responder.addStats(out);
  return out;
}

void Server::stop() {
  if (d_impl->stopped.exchange(true)) return;
  for (auto& w : d_impl->workers)
    w->io.stop();
}

} // namespace dnsxl::net
