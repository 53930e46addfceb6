#include "server/ops/http.hh"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <thread>
#include <tuple>

namespace dnsxl::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr unsigned kMaxSessions = 64;
constexpr auto kRequestTimeout = std::chrono::seconds(10);

struct HttpServer::Impl {
  Impl(Handler h, bool post) : handler(std::move(h)), acceptPost(post) {}
  Handler handler;
  bool acceptPost;
  asio::io_context io{1};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::thread thread;
  unsigned sessions = 0;

  asio::awaitable<void> session(tcp::socket sock);
  asio::awaitable<void> accept(tcp::acceptor& acc);
};

// GCC 12 reports a false -Wmismatched-new-delete for coroutine frames (Asio's frames use their
// own operator new and delete).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<void> HttpServer::Impl::session(tcp::socket sock) {
  beast::error_code ec;
  const auto peer = sock.remote_endpoint(ec);
  const std::string client = ec ? std::string() : peer.address().to_string();
  beast::tcp_stream stream(std::move(sock));
  beast::flat_buffer buffer(16 * 1024);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(16 * 1024);
    stream.expires_after(kRequestTimeout);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
    if (rec == http::error::body_limit) { // say so, then close: the rest is not read
      http::response<http::string_body> res{http::status::payload_too_large, 11};
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = "the request body is larger than 16 KB\n";
      res.keep_alive(false);
      res.prepare_payload();
      stream.expires_after(kRequestTimeout);
      co_await http::async_write(stream, res, kTuple);
      break;
    }
    if (rec) break;
    const auto& req = parser.get();
    http::response<http::string_body> res;
    res.version(req.version());
    res.set(http::field::server, "dnsxl");
    res.set(http::field::cache_control, "no-store");
    const bool post = acceptPost && req.method() == http::verb::post;
    if (req.method() != http::verb::get && req.method() != http::verb::head && !post) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, acceptPost ? "GET, HEAD, POST" : "GET, HEAD");
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = acceptPost ? "GET, HEAD or POST only\n" : "GET or HEAD only\n";
    } else {
      HttpResponse r;
      try {
        r = handler({std::string(req.method_string()), std::string(req.target()), client,
                     std::string(req[http::field::content_type]), post ? req.body() : ""});
      } catch (const std::exception& e) {
        r = {500, "text/plain; charset=utf-8", fmt::format("internal error: {}\n", e.what())};
      }
      res.result(r.status);
      res.set(http::field::content_type, r.contentType);
      for (const auto& [name, value] : r.headers)
        res.set(name, value);
      res.body() = std::move(r.body);
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear(); // Content-Length stays
    const bool keep = res.keep_alive();
    http::serializer<false, http::string_body> sr(res);
    if (req.method() == http::verb::head) sr.split(true);
    stream.expires_after(kRequestTimeout);
    beast::error_code wec;
    if (req.method() == http::verb::head)
      std::tie(wec, std::ignore) = co_await http::async_write_header(stream, sr, kTuple);
    else
      std::tie(wec, std::ignore) = co_await http::async_write(stream, sr, kTuple);
    if (wec || !keep) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  --sessions;
}

asio::awaitable<void> HttpServer::Impl::accept(tcp::acceptor& acc) {
  for (;;) {
    auto [ec, sock] = co_await acc.async_accept(kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc.is_open()) co_return;
      continue;
    }
    if (sessions >= kMaxSessions) continue; // the socket closes as it goes out of scope
    ++sessions;
    asio::co_spawn(io, session(std::move(sock)), asio::detached);
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

HttpServer::HttpServer(Handler handler, bool acceptPost)
    : d_impl(std::make_unique<Impl>(std::move(handler), acceptPost)) {}

HttpServer::~HttpServer() {
  d_impl->io.stop();
  if (d_impl->thread.joinable()) d_impl->thread.join();
}

std::string HttpServer::listen(const std::string& address, uint16_t port) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(address, ec);
  if (ec) throw std::runtime_error(fmt::format("[http] listen: not an IP address: {}", address));
  try {
    auto acc = std::make_unique<tcp::acceptor>(d_impl->io);
    acc->open(addr.is_v6() ? tcp::v6() : tcp::v4());
    acc->set_option(tcp::acceptor::reuse_address(true));
    acc->bind({addr, port});
    acc->listen();
    const uint16_t bound = acc->local_endpoint().port();
    d_impl->acceptors.push_back(std::move(acc));
    return addr.is_v6() ? fmt::format("[{}]:{}", address, bound)
                        : fmt::format("{}:{}", address, bound);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(
        fmt::format("cannot listen for HTTP on {} port {}: {}", address, port, e.code().message()));
  }
}

void HttpServer::start() {
  for (auto& a : d_impl->acceptors)
    asio::co_spawn(d_impl->io, d_impl->accept(*a), asio::detached);
  d_impl->thread = std::thread([this] { d_impl->io.run(); });
}

} // namespace dnsxl::ops
