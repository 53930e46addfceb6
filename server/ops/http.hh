// A small HTTP/1.1 server (Boost.Beast) for dnsxld's operator endpoints: /metrics, /healthz,
// /readyz, and for `dnsxl web`. Its own thread and io_context, never a DNS worker's. GET and HEAD
// (and POST when asked: the web's forms); requests are size- and time-limited (16 KB of body); a
// handler returns the whole response body.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dnsxl::ops {

struct HttpRequest {
  std::string method;            // "GET", "HEAD", "POST"
  std::string target;            // "/metrics?x=1"
  std::string client;            // the peer's address
  std::string contentType, body; // POST
};

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(unsigned s, std::string type, std::string b)
      : status(s), contentType(std::move(type)), body(std::move(b)) {}
  unsigned status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers; // more header fields
};

class HttpServer {
public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  explicit HttpServer(Handler handler, bool acceptPost = false);
  ~HttpServer(); // stops and joins the thread
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds ADDRESS:PORT (port 0: a free one); throws std::runtime_error naming it. Returns the
  // bound "ADDRESS:PORT".
  std::string listen(const std::string& address, uint16_t port);
  // Serves on a thread of its own until destroyed.
  void start();

private:
  struct Impl;
  std::unique_ptr<Impl> d_impl;
};

} // namespace dnsxl::ops
