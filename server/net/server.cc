#include "server/net/server.hh"

#include "server/log.hh"
#include "server/net/worker.hh"

#include <algorithm>
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
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <random>
#include <set>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace dnsxl::net {

namespace {

constexpr size_t kUdpBatch = 64; // queries answered under one read transaction

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

} // namespace

size_t slipReply(std::span<uint8_t> r) {
  if (r.size() < dns::kHeaderSize) return r.size();
  size_t end = dns::kHeaderSize;
  const bool question = r[4] != 0 || r[5] != 0;
  if (question) { // the question's name (ours: uncompressed), type and class
    while (end < r.size() && r[end] != 0 && (r[end] & 0xc0) == 0)
      end += size_t{r[end]} + 1;
    end += (end < r.size() && (r[end] & 0xc0) == 0xc0) ? size_t{2} : size_t{1};
    end += 4;
    if (end > r.size()) return r.size();
  }
  r[2] = static_cast<uint8_t>(r[2] | (dns::kFlagTC >> 8));
  std::fill(r.begin() + 6, r.begin() + dns::kHeaderSize, uint8_t{0}); // no records
  return end;
}

namespace {

// Answers the datagrams waiting on the socket, kUdpBatch at a time under one read transaction:
// one recvmmsg, the answers written in place, one sendmmsg (DESIGN.md: the hot path).
awaitable<void> udpLoop(Worker& w, udp::socket& sock) {
  sock.non_blocking(true);
  const int fd = sock.native_handle();
  UdpBatch b(std::max<size_t>(512, w.options->answer.ednsUdpMax));
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
      const int64_t now = std::time(nullptr); // the batch's wall-clock time, read once
      w.responder.begin(now);
      try {
        for (size_t i = 0; i < static_cast<size_t>(got); ++i) {
          const std::span<const uint8_t> query(b.in.get() + i * UdpBatch::kIn, b.recv[i].msg_len);
          uint8_t* out = b.out.get() + i * b.outSize;
          const auto client = clientOf(b.from[i]);
          size_t len = w.responder.answer(query, {out, b.outSize}, answer::Transport::Udp, &client);
          if (!len) continue;
          if (const auto rate = w.options->rrlPerSecond; rate != 0) {
            const auto v =
                w.shared.rrl.check(client, static_cast<uint32_t>(now), rate, w.options->rrlSlip);
            if (v == RateLimiter::Drop) continue;
            if (v == RateLimiter::Slip) len = slipReply({out, len});
          }
          // Logged before the reply leaves, so that the log follows the order clients see.
          if (w.options->queryLog)
            w.options->queryLog->record(now, client, answer::Transport::Udp, query, {out, len});
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

} // namespace

struct TcpSession {
  TcpSession(tcp::socket s, std::string key)
      : sock(std::move(s)), timer(sock.get_executor()), clientKey(std::move(key)) {
    boost::system::error_code ec;
    auto peer = sock.remote_endpoint(ec);
    if (!ec) client = clientOf(peer.address());
  }
  tcp::socket sock;
  asio::steady_timer timer;
  std::string clientKey; // its entry in Shared::tcpClients
  answer::Client client;
  std::chrono::steady_clock::time_point deadline;
  bool busy = false; // a query or transfer in hand (a drain lets it finish)
};

namespace {

// A drain closes a session that waits for its next query with nothing of it received yet.
void closeIfIdle(TcpSession& s) {
  boost::system::error_code ec;
  if (!s.busy && s.sock.is_open() && s.sock.available(ec) == 0) s.sock.close(ec);
}

// The transfer's type and result for the counters: from the query, and the first message's RCODE.
std::pair<std::string, std::string> transferKind(std::span<const uint8_t> query, int rcode,
                                                 bool sent) {
  dns::Query q;
  dns::parseQuery(query, q);
  std::string type = q.qtype == dns::kTypeIXFR ? "ixfr" : "axfr";
  if (!sent || rcode < 0) return {type, "aborted"};
  switch (rcode) {
  case dns::kNoError:
    return {type, "ok"};
  case dns::kRefused:
    return {type, "refused"};
  case 9: // NOTAUTH (RFC 2136 §2.2)
    return {type, "notauth"};
  case dns::kServFail:
    return {type, "servfail"};
  default:
    return {type, "error"};
  }
}

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

// A zone transfer on the transfer thread. (A coroutine function, not a lambda: a coroutine's
// parameters live in its frame, a lambda's captures do not outlive the lambda.)
awaitable<bool> runTransfer(Worker& w, std::shared_ptr<store::Env> env, std::vector<uint8_t> query,
                            int fd, answer::Client client, std::shared_ptr<const Options> opt) {
  int rcode = -1; // the first message's
  bool ok = false;
  try {
    ok = answer::transfer(*env, query, client, opt->transfer,
                          [fd, &rcode](std::span<const uint8_t> m) {
                            if (rcode < 0 && m.size() >= dns::kHeaderSize) rcode = m[3] & 0xf;
                            return writeFramed(fd, m);
                          });
  } catch (const std::exception& e) {
    reportStoreError(e);
  }
  std::lock_guard lock(w.shared.mutex);
  ++w.shared.transferCounts[transferKind(query, rcode, ok)];
  co_return ok;
}

awaitable<void> tcpSession(Worker& w, std::shared_ptr<TcpSession> s) {
  w.sessions.insert(s.get());
  auto idle = std::chrono::milliseconds(w.options->tcpIdleTimeoutMs);
  s->deadline = std::chrono::steady_clock::now() + idle;
  asio::co_spawn(w.io, idleWatch(s), asio::detached);
  // grown when a query needs them: an idle connection holds no buffers (1,000 idle ones
  // would otherwise hold 128 MB)
  std::vector<uint8_t> in, out;
  for (;;) {
    if (w.shared.draining.load(std::memory_order_relaxed)) {
      closeIfIdle(*s);
      if (!s->sock.is_open()) break;
    }
    std::array<uint8_t, 2> lenBuf{};
    auto [ec1, n1] = co_await asio::async_read(s->sock, asio::buffer(lenBuf), kTuple);
    if (ec1) break;
    s->busy = true;
    size_t len = size_t{lenBuf[0]} << 8 | lenBuf[1];
    if (in.size() < len) in.resize(len);
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
          w.shared.transfers.get_executor(),
          runTransfer(w, w.env, std::move(query), fd, s->client, w.options), kTuple);
      s->deadline = std::chrono::steady_clock::now() + idle;
      s->busy = false;
      if (tex || !sent) break;
      continue;
    }
    size_t rlen = 0;
    if (out.empty()) out.resize(65537);
    const int64_t now = std::time(nullptr);
    try {
      rlen = w.responder.answerOne({in.data(), len}, {out.data() + 2, out.size() - 2},
                                   answer::Transport::Tcp, now, &s->client);

    } catch (const std::exception& e) {
      w.responder.end();
      reportStoreError(e);
    }
    if (rlen != 0) {
      if (w.options->queryLog)
        w.options->queryLog->record(now, s->client, answer::Transport::Tcp, {in.data(), len},
                                    {out.data() + 2, rlen});
      out[0] = static_cast<uint8_t>(rlen >> 8);
      out[1] = static_cast<uint8_t>(rlen);
      auto [ec3, n3] =
          co_await asio::async_write(s->sock, asio::buffer(out.data(), rlen + 2), kTuple);
      if (ec3) break;
    }
    s->busy = false;
  }
  boost::system::error_code ignored;
  s->sock.close(ignored);
  s->timer.cancel();
  w.sessions.erase(s.get());
  w.tcpConnections.fetch_sub(1, std::memory_order_relaxed);
  w.shared.tcpOpen.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard lock(w.shared.tcpClientsMutex);
  if (auto it = w.shared.tcpClients.find(s->clientKey);
      it != w.shared.tcpClients.end() && --it->second == 0)
    w.shared.tcpClients.erase(it);
}

// The per-client TCP cap's key: the address, an IPv6 address's /64.
std::string tcpClientKey(const tcp::socket& sock) {
  boost::system::error_code ec;
  const auto peer = sock.remote_endpoint(ec);
  if (ec) return {};
  const auto a = peer.address();
  if (a.is_v4() || (a.is_v6() && a.to_v6().is_v4_mapped())) return a.to_string();
  auto b = a.to_v6().to_bytes();
  std::fill(b.begin() + 8, b.end(), 0);
  return asio::ip::address_v6(b).to_string() + "/64";
}

awaitable<void> acceptLoop(Worker& w, tcp::acceptor& acc) {
  for (;;) {
    auto [ec, sock] = co_await acc.async_accept(kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc.is_open()) co_return;
      continue;
    }
    // the limit in all workers together (SO_REUSEPORT spreads connections unevenly)
    if (w.shared.tcpOpen.load(std::memory_order_relaxed) >= w.options->tcpMaxConnections) {
      boost::system::error_code ignored;
      sock.close(ignored); // at the limit (RFC 9210 §4.2)
      w.shared.tcpRefused.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    auto key = tcpClientKey(sock);
    if (const unsigned cap = w.options->tcpMaxPerClient; cap != 0) {
      std::lock_guard lock(w.shared.tcpClientsMutex);
      auto& open = w.shared.tcpClients[key];
      if (open >= cap) {
        boost::system::error_code ignored;
        sock.close(ignored); // this client has enough open (RFC 7766 §6.2.2: one is enough)
        w.shared.tcpRefused.fetch_add(1, std::memory_order_relaxed);
        w.shared.tcpRefusedPerClient.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      ++open;
    } else {
      std::lock_guard lock(w.shared.tcpClientsMutex);
      ++w.shared.tcpClients[key];
    }
    w.tcpConnections.fetch_add(1, std::memory_order_relaxed);
    w.shared.tcpOpen.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(w.io,
                   tcpSession(w, std::make_shared<TcpSession>(std::move(sock), std::move(key))),
                   asio::detached);
  }
}

// One dnsxld per address and port: an abstract Unix socket named after them, which the kernel
// releases when the process goes (unix(7)). -1 when another process holds the name.
int listenLock(const asio::ip::address& addr, uint16_t port) {
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const std::string name = fmt::format("dnsxld {} {}", addr.to_string(), port);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const size_t len = std::min(name.size(), sizeof a.sun_path - 1);
  std::memcpy(a.sun_path + 1, name.data(), len); // sun_path[0] = 0: the abstract namespace
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a),
             static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + len)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string keyOf(const ListenAddress& l) {
  return fmt::format("{} {}", l.address, l.port);
}

} // namespace

struct Server::Impl {
  Impl(std::shared_ptr<store::Env> e, Options o)
      : env(std::move(e)), options(std::make_shared<const Options>(std::move(o))) {}
  ~Impl() {
    for (const auto& [key, b] : bound)
      ::close(b.lock);
  }
  std::shared_ptr<store::Env> env; // guarded by reloadMutex
  std::shared_ptr<const Options> options;
  Shared shared;
  std::vector<std::unique_ptr<Worker>> workers;
  struct Bound {
    std::string text; // "ADDRESS:PORT" as bound
    int lock = -1;
  };
  std::map<std::string, Bound> bound; // by listen key
  std::atomic<bool> stopped{false};
  std::mutex reloadMutex;

  // Binds one address on every worker: the sockets (not yet served) per worker, and the lock.
  std::vector<Listener> bindOne(const ListenAddress& l, Bound& b);
};

std::vector<Listener> Server::Impl::bindOne(const ListenAddress& l, Bound& b) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(l.address, ec);
  if (ec) throw std::runtime_error("not an IP address: " + l.address);
  for (int attempt = 0;; ++attempt) {
    uint16_t p = l.port;
    int lock = -1;
    if (p != 0 && (lock = listenLock(addr, p)) < 0)
      throw std::runtime_error(fmt::format("cannot listen on {} port {}: another dnsxld listens "
                                           "there (one per address and port)",
                                           l.address, l.port));
    try {
      std::vector<Listener> out;
      for (auto& w : workers) {
        Listener li{keyOf(l), std::make_unique<udp::socket>(w->io),
                    std::make_unique<tcp::acceptor>(w->io)};
        auto& u = *li.dgram;
        u.open(addr.is_v6() ? udp::v6() : udp::v4());
        reusePort(u.native_handle());
        udpBuffers(u.native_handle());
        if (addr.is_v6()) u.set_option(asio::ip::v6_only(true));
        u.bind({addr, p});
        p = u.local_endpoint().port();
        if (lock < 0 && (lock = listenLock(addr, p)) < 0) // port 0: a port another dnsxld has
          throw boost::system::system_error(asio::error::address_in_use);
        auto& t = *li.stream;
        t.open(addr.is_v6() ? tcp::v6() : tcp::v4());
        t.set_option(tcp::acceptor::reuse_address(true));
        reusePort(t.native_handle());
        if (addr.is_v6()) t.set_option(asio::ip::v6_only(true));
        t.bind({addr, p});
        t.listen(asio::socket_base::max_listen_connections);
        out.push_back(std::move(li));
      }
      b.lock = lock;
      b.text =
          addr.is_v6() ? fmt::format("[{}]:{}", l.address, p) : fmt::format("{}:{}", l.address, p);
      return out;
    } catch (const boost::system::system_error& e) {
      if (lock >= 0) ::close(lock);
      // With port 0 the UDP port may be taken for TCP: try another free port.
      if (l.port != 0 || attempt >= 20)
        throw std::runtime_error(
            fmt::format("cannot listen on {} port {}: {}", l.address, l.port, e.code().message()));
    }
  }
}

Server::Server(store::Env& env, Options options)
    : Server(std::shared_ptr<store::Env>(&env, [](store::Env*) {}), std::move(options)) {}

Server::Server(std::shared_ptr<store::Env> env, Options options) {
  if (options.workers == 0) options.workers = std::max(1U, std::thread::hardware_concurrency());
  d_impl = std::make_unique<Impl>(env, std::move(options));
  const auto& o = *d_impl->options;
  for (unsigned i = 0; i < o.workers; ++i)
    d_impl->workers.push_back(std::make_unique<Worker>(env, d_impl->shared, d_impl->options));
}

Server::~Server() = default;

std::vector<std::string> Server::bind() {
  std::vector<std::string> out;
  for (const auto& l : d_impl->options->listen) {
    if (d_impl->bound.count(keyOf(l))) continue; // listed twice
    Impl::Bound b;
    auto listeners = d_impl->bindOne(l, b);
    for (size_t i = 0; i < d_impl->workers.size(); ++i)
      d_impl->workers[i]->listeners.push_back(std::move(listeners[i]));
    out.push_back(b.text);
    d_impl->bound.emplace(keyOf(l), b);
  }
  return out;
}

void Server::run() {
  std::vector<std::thread> threads;
  for (auto& w : d_impl->workers)
    for (auto& l : w->listeners) {
      asio::co_spawn(w->io, udpLoop(*w, *l.dgram), asio::detached);
      asio::co_spawn(w->io, acceptLoop(*w, *l.stream), asio::detached);
    }
  asio::co_spawn(d_impl->workers[0]->io, notifyLoop(*d_impl->workers[0]), asio::detached);
  for (size_t i = 1; i < d_impl->workers.size(); ++i)
    threads.emplace_back([w = d_impl->workers[i].get()] { w->io.run(); });
  d_impl->workers[0]->io.run();
  for (auto& t : threads)
    t.join();
}

std::vector<std::string> Server::reload(Options options) {
  std::lock_guard lock(d_impl->reloadMutex);
  auto& impl = *d_impl;
  options.workers = impl.options->workers;
  auto next = std::make_shared<const Options>(std::move(options));
  // Bind what is new first: a failure leaves everything as it was.
  std::set<std::string> wanted;
  std::map<std::string, std::pair<Impl::Bound, std::vector<Listener>>> added;
  try {
    for (const auto& l : next->listen) {
      const auto key = keyOf(l);
      wanted.insert(key);
      if (impl.bound.count(key) || added.count(key)) continue;
      Impl::Bound b;
      auto listeners = impl.bindOne(l, b);
      added.emplace(key, std::make_pair(b, std::move(listeners)));
    }
  } catch (...) {
    for (auto& [key, a] : added)
      ::close(a.first.lock);
    throw;
  }
  std::set<std::string> removed;
  for (auto it = impl.bound.begin(); it != impl.bound.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    removed.insert(it->first);
    ::close(it->second.lock);
    it = impl.bound.erase(it);
  }
  const unsigned n = static_cast<unsigned>(impl.workers.size());
  for (unsigned i = 0; i < n; ++i) {
    auto& w = *impl.workers[i];
    std::vector<std::shared_ptr<Listener>> mine; // (a posted handler must be copyable)
    for (auto& [key, a] : added)
      mine.push_back(std::make_shared<Listener>(std::move(a.second[i])));
    asio::post(w.io, [&w, next, mine, removed] {
      w.options = next;
      w.responder.setOptions(next->answer);
      for (auto it = w.listeners.begin(); it != w.listeners.end();) {
        if (!removed.count(it->key)) {
          ++it;
          continue;
        }
        boost::system::error_code ignored;
        it->dgram->close(ignored);
        it->stream->close(ignored);
        w.closed.push_back(std::move(*it));
        it = w.listeners.erase(it);
      }
      for (const auto& l : mine) {
        w.listeners.push_back(std::move(*l));
        asio::co_spawn(w.io, udpLoop(w, *w.listeners.back().dgram), asio::detached);
        asio::co_spawn(w.io, acceptLoop(w, *w.listeners.back().stream), asio::detached);
      }
    });
  }
  for (auto& [key, a] : added)
    impl.bound.emplace(key, a.first);
  impl.options = next;
  std::vector<std::string> out;
  for (const auto& [key, b] : impl.bound)
    out.push_back(b.text);
  return out;
}

void Server::replaceStore(std::shared_ptr<store::Env> env) {
  std::lock_guard lock(d_impl->reloadMutex);
  d_impl->env = env;
  for (auto& wp : d_impl->workers) {
    Worker* w = wp.get();
    asio::post(w->io, [w, env] {
      w->env = env;
      w->responder.rebind(*env);
    });
  }
}

std::shared_ptr<store::Env> Server::store() const {
  std::lock_guard lock(d_impl->reloadMutex);
  return d_impl->env;
}

bool Server::drain(std::chrono::milliseconds timeout) {
  auto& impl = *d_impl;
  impl.shared.draining = true;
  for (auto& wp : impl.workers) {
    Worker* w = wp.get();
    asio::post(w->io, [w] {
      boost::system::error_code ignored;
      for (auto& l : w->listeners) {
        l.dgram->close(ignored);
        l.stream->close(ignored);
      }
      for (TcpSession* s : w->sessions)
        closeIfIdle(*s);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool drained = false;
  while (!(drained = std::all_of(impl.workers.begin(), impl.workers.end(),
                                 [](const auto& w) { return w->tcpConnections.load() == 0; })) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!drained) {
    // What is left is cut: a transfer's next write fails at once.
    for (auto& wp : impl.workers) {
      Worker* w = wp.get();
      asio::post(w->io, [w] {
        for (TcpSession* s : w->sessions)
          ::shutdown(s->sock.native_handle(), SHUT_RDWR);
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop();
  return drained;
}

std::map<std::string, answer::ZoneStats> Server::stats() const {
  std::map<std::string, answer::ZoneStats> out;
  for (const auto& w : d_impl->workers)
    w->responder.addStats(out);
  return out;
}

ServerStats Server::serverStats() const {
  ServerStats s;
  auto& sh = d_impl->shared;
  {
    std::lock_guard lock(sh.mutex);
    s.transfers = sh.transferCounts;
  }
  s.notifySent = sh.notifySent.load();
  s.notifyAcked = sh.notifyAcked.load();
  s.notifyFailed = sh.notifyFailed.load();
  s.tcpRefused = sh.tcpRefused.load();
  s.tcpRefusedPerClient = sh.tcpRefusedPerClient.load();
  s.rrlDropped = sh.rrl.dropped.load();
  s.rrlSlipped = sh.rrl.slipped.load();
  for (const auto& w : d_impl->workers)
    s.tcpConnections += w->tcpConnections.load();
  return s;
}

void Server::stop() {
  if (d_impl->stopped.exchange(true)) return;
  for (auto& w : d_impl->workers)
    w->io.stop();
}

} // namespace dnsxl::net
