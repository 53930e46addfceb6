// NOTIFY (RFC 1996) to the secondaries when a zone's serial changes.
#include "server/log.hh"
#include "server/net/worker.hh"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <random>

namespace dnsxl::net {

namespace {

// NOTIFY one secondary of one serial (RFC 1996 §3.6, §4): resend until a matching reply comes,
// waiting retryMs, doubling, up to `retries` resends. A timer cancels the pending receive (a plain
// handler holding the socket, so that it outlives the coroutine).
// GCC 12 reports a false -Wmismatched-new-delete for this coroutine's frame (Asio's frames use
// their own operator new and delete).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
awaitable<void> notifyOne(asio::io_context& io, Shared& shared, std::string zone, uint32_t serial,
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
  shared.notifySent.fetch_add(1, std::memory_order_relaxed);
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
        shared.notifyAcked.fetch_add(1, std::memory_order_relaxed);
        co_return;
      }
    }
    wait *= 2;
  }
  shared.notifyFailed.fetch_add(1, std::memory_order_relaxed);
  log::warning("NOTIFY {} serial {} to {}:{}: no answer after {} tries", zone, serial,
               target.address().to_string(), target.port(), retries + 1);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

} // namespace

awaitable<void> notifyLoop(Worker& w) {
  auto& io = w.io;
  std::shared_ptr<const Options> opt;
  std::vector<udp::endpoint> targets;
  std::optional<answer::tsig::Key> key; // NOTIFY is signed with the transfer key
  auto configure = [&] {
    opt = w.options;
    targets.clear();
    for (const auto& t : opt->notify) {
      boost::system::error_code ec;
      auto a = asio::ip::make_address(t.address, ec);
      if (!ec) targets.emplace_back(a, t.port);
    }
    key.reset();
    for (const auto& k : opt->transfer.keys)
      if (k.name == opt->transfer.requireKey) key = k;
  };
  configure();
  store::Env* snapEnv = w.env.get();
  store::Snapshot snap(*snapEnv);
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
  uint64_t generation = UINT64_MAX;
  bool started = false;
  asio::steady_timer tick(io);
  for (;;) {
    if (opt != w.options) { // a reload: other secondaries, keys or zones
      configure();
      generation = UINT64_MAX;
      serials.clear();
      started = false;
    }
    const Options& o = *opt;
    const auto delay = std::chrono::milliseconds(o.notifyDelayMs);
    try {
      if (snapEnv != w.env.get()) { // a mirror's store was replaced
        snapEnv = w.env.get();
        snap.rebind(*snapEnv);
      }
      snap.renew();
      if (snap.generation() != generation) {
        generation = snap.generation();
        for (const auto& z : snap.zones()) {
          if (z.name.empty()) continue;
          if (!answer::serves(o.answer.zones, z.name)) continue;
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
        asio::co_spawn(io,
                       notifyOne(io, w.shared, it->first, it->second.serial, t, o.notifyRetryMs,
                                 o.notifyRetries, key),
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

} // namespace dnsxl::net
