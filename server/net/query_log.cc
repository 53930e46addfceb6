#include "server/net/query_log.hh"

#include "dns/wire.hh"
#include "server/log.hh"

#include <arpa/inet.h>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace dnsxl::net {

QueryLog::QueryLog(std::string path, bool unbuffered, Format format, size_t capacity)
    : d_path(std::move(path)), d_unbuffered(unbuffered), d_format(format),
      d_mask(std::bit_ceil(std::max<size_t>(capacity, 16)) - 1), d_slots(new Slot[d_mask + 1]) {
  // Bounded MPMC ring after Dmitry Vyukov's design: slot i is free for the producer of ticket t
  // when its sequence is t, full for the consumer when it is t + 1.
  for (size_t i = 0; i <= d_mask; ++i)
    d_slots[i].sequence.store(i, std::memory_order_relaxed);
}

QueryLog::~QueryLog() {
  d_stop.store(true);
  if (d_thread.joinable()) d_thread.join();
  if (d_file && d_file != stdout) std::fclose(d_file);
  if (d_file == stdout) std::fflush(stdout);
}

bool QueryLog::open() {
  std::FILE* f = d_path == "-" ? stdout : std::fopen(d_path.c_str(), "a");
  if (!f) return false;
  d_file = f;
  if (!d_thread.joinable()) d_thread = std::thread([this] { writer(); });
  return true;
}

void QueryLog::record(int64_t now, const answer::Client& client, answer::Transport transport,
                      std::span<const uint8_t> query, std::span<const uint8_t> reply) {
  if (reply.size() < 12 || query.size() < 12) return;
  uint64_t ticket = d_head.load(std::memory_order_relaxed);
  Slot* s = nullptr;
  for (;;) {
    s = &d_slots[ticket & d_mask];
    const uint64_t seq = s->sequence.load(std::memory_order_acquire);
    const auto diff = static_cast<int64_t>(seq - ticket);
    if (diff == 0) {
      if (d_head.compare_exchange_weak(ticket, ticket + 1, std::memory_order_relaxed)) break;
    } else if (diff < 0) { // full: the writer is behind
      d_dropped.store(d_dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      return;
    } else {
      ticket = d_head.load(std::memory_order_relaxed);
    }
  }
  s->now = now;
  s->client = client;
  s->tcp = transport == answer::Transport::Tcp;
  // the question only: counts of the other sections zeroed, so that it parses on its own
  s->queryLen = static_cast<uint16_t>(std::min(query.size(), kQueryBytes));
  std::memcpy(s->query, query.data(), s->queryLen);
  std::memset(s->query + 6, 0, 6);
  std::memcpy(s->replyHeader, reply.data(), 12);
  s->replySize = static_cast<uint16_t>(std::min<size_t>(reply.size(), 65535));
  s->sequence.store(ticket + 1, std::memory_order_release);
}

void QueryLog::write(const Slot& s) {
  char ip[INET6_ADDRSTRLEN];
  if (s.client.v6) {
    inet_ntop(AF_INET6, s.client.addr6.data(), ip, sizeof ip);
  } else {
    const uint32_t n = htonl(s.client.v4);
    inet_ntop(AF_INET, &n, ip, sizeof ip);
  }
  char line[2048];
  const std::span<const uint8_t> q(s.query, s.queryLen), h(s.replyHeader, 12);
  const size_t n = d_format == Format::Json
                       ? dns::formatQueryLogJson(line, sizeof line, s.now, ip,
                                                 s.tcp ? "tcp" : "udp", q, h, s.replySize)
                       : dns::formatQueryLogLine(line, sizeof line, s.now, ip, q, h, s.replySize);
  if (n == 0) return;
  std::fwrite(line, 1, n, d_file);
  if (d_unbuffered) std::fflush(d_file);
  d_written.store(d_written.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// Writes the lines waiting; whether there were any.
bool QueryLog::drain() {
  bool any = false;
  for (;;) {
    Slot& s = d_slots[d_tail & d_mask];
    if (s.sequence.load(std::memory_order_acquire) != d_tail + 1) break;
    write(s);
    s.sequence.store(d_tail + d_mask + 1, std::memory_order_release);
    ++d_tail;
    any = true;
  }
  return any;
}

void QueryLog::writer() {
  for (;;) {
    if (d_reopen.exchange(false, std::memory_order_relaxed) && d_file != stdout) {
      std::fflush(d_file);
      if (std::FILE* f = std::fopen(d_path.c_str(), "a")) {
        std::fclose(d_file);
        d_file = f;
      } else {
        log::error("query log {}: cannot open it again: {} (writing on to the old file)", d_path,
                   std::strerror(errno));
      }
    }
    const bool stopping = d_stop.load();
    if (!drain()) {
      std::fflush(d_file);
      if (stopping) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

} // namespace dnsxl::net
