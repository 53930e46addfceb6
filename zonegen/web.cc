#include "zonegen/web.hh"

#include "server/ops/http.hh"
#include "zonegen/why.hh"

#include <arpa/inet.h>
#include <cmath>
#include <csignal>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pthread.h>

namespace dnsxl::zonegen {

namespace {

constexpr size_t kMaxQuery = 255;

std::string htmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out.push_back(c);
    }
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of parameter name in the target's query string, percent-decoded; nullopt when absent.
std::optional<std::string> param(const std::string& target, std::string_view name) {
  const auto qm = target.find('?');
  if (qm == std::string::npos) return std::nullopt;
  std::string_view rest(target);
  rest.remove_prefix(qm + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string out;
    const auto v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    for (size_t i = 0; i < v.size() && out.size() <= kMaxQuery; ++i) {
      if (v[i] == '+') {
        out.push_back(' ');
      } else if (v[i] == '%' && i + 2 < v.size() && hexValue(v[i + 1]) >= 0 &&
                 hexValue(v[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hexValue(v[i + 1]) * 16 + hexValue(v[i + 2])));
        i += 2;
      } else {
        out.push_back(v[i]);
      }
    }
    return out;
  }
  return std::nullopt;
}

// What the public typed, tidied: no surrounding blanks, lower case, no trailing dot.
std::string tidy(std::string q) {
  while (!q.empty() && (q.back() == ' ' || q.back() == '\t' || q.back() == '.'))
    q.pop_back();
  size_t start = 0;
  while (start < q.size() && (q[start] == ' ' || q[start] == '\t'))
    ++start;
  q.erase(0, start);
  for (char& c : q)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return q;
}

// The rate limit's key: the address, an IPv6 address's /64.
std::string clientKey(const std::string& client) {
  uint8_t a[16];
  if (inet_pton(AF_INET6, client.c_str(), a) == 1) {
    char buf[INET6_ADDRSTRLEN];
    std::fill(a + 8, a + 16, uint8_t{0});
    inet_ntop(AF_INET6, a, buf, sizeof buf);
    return std::string(buf) + "/64";
  }
  return client;
}

bool isUrl(std::string_view s) {
  return s.starts_with("https://") || s.starts_with("http://");
}

nlohmann::json toJson(const PublicLookup& r) {
  nlohmann::json zones = nlohmann::json::array();
  for (const auto& z : r.zones) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : z.entries) {
      nlohmann::json fields = nlohmann::json::object();
      for (const auto& [k, v] : e.fields)
        fields[k] = v;
      entries.push_back({{"dataset", e.dataset}, {"entry", e.subject}, {"fields", fields}});
    }
    zones.push_back(
        {{"zone", z.zone}, {"listed", z.listed}, {"a", z.a}, {"txt", z.txt}, {"entries", entries}});
  }
  return {{"query", r.subject}, {"listed", r.listed}, {"zones", zones}};
}

} // namespace

WebSite::WebSite(const config::Config& cfg, store::Env& env) : d_cfg(cfg), d_env(env) {}

bool WebSite::allow(const std::string& client, std::chrono::steady_clock::time_point now,
                    unsigned& retryAfter) {
  const double capacity = d_cfg.web.ratePerMinute, perSecond = capacity / 60.0;
  if (d_buckets.size() > 10000) // forget clients idle for two minutes
    std::erase_if(d_buckets,
                  [&](const auto& b) { return now - b.second.last > std::chrono::minutes(2); });
  auto [it, fresh] = d_buckets.try_emplace(clientKey(client));
  auto& b = it->second;
  if (fresh) {
    b.tokens = capacity;
  } else {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(capacity, b.tokens + elapsed * perSecond);
  }
  b.last = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return true;
  }
  retryAfter = static_cast<unsigned>(std::ceil((1 - b.tokens) / perSecond));
  return false;
}

WebResponse WebSite::get(const std::string& target, const std::string& client,
                         std::chrono::steady_clock::time_point now) {
  const auto path = target.substr(0, target.find('?'));
  const bool api = path == "/v1/lookup";
  if (!api && path != "/" && path != "/lookup")
    return {404, "text/plain; charset=utf-8", "not found: try / or /v1/lookup?q=\n", 0};
  const auto q = param(target, "q");
  if (!q && !api) return lookupHtml("");
  unsigned retry = 0;
  if (!allow(client, now, retry)) {
    const auto msg = fmt::format("Too many lookups from your address: try again in {} s.", retry);
    if (api) return {429, "application/json", nlohmann::json{{"error", msg}}.dump() + "\n", retry};
    return {429, "text/plain; charset=utf-8", msg + "\n", retry};
  }
  if (api) return lookupJson(q ? *q : std::string());
  return lookupHtml(*q);
}

WebResponse WebSite::lookupJson(const std::string& raw) {
  const auto q = tidy(raw);
  std::string error;
  if (q.empty())
    error = "give an IPv4 or IPv6 address or a domain name: /v1/lookup?q=192.0.2.1";
  else if (raw.size() > kMaxQuery)
    error = "the query is longer than 255 characters";
  std::optional<PublicLookup> r;
  if (error.empty()) {
    store::Snapshot snap(d_env);
    r = publicLookup(snap, q, d_cfg.web.fields, error);
  }
  if (!r) return {400, "application/json", nlohmann::json{{"error", error}}.dump() + "\n", 0};
  return {200, "application/json", toJson(*r).dump(2) + "\n", 0};
}

WebResponse WebSite::lookupHtml(const std::string& raw) {
  const auto q = tidy(raw);
  const auto& w = d_cfg.web;
  std::string body = fmt::format(
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{0}</title>\n<style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto;"
      "padding:0 1rem;line-height:1.5}}.listed{{color:#a00}}.clear{{color:#060}}"
      "table{{border-collapse:collapse}}th,td{{border:1px solid #999;padding:.25rem .5rem;"
      "text-align:left;vertical-align:top}}</style>\n</head>\n<body>\n<main>\n<h1>{0}</h1>\n"
      "<form method=\"get\" action=\"/\" role=\"search\">\n"
      "<label for=\"q\">IP address or domain name</label>\n"
      "<input id=\"q\" name=\"q\" type=\"text\" maxlength=\"255\" required value=\"{1}\">\n"
      "<button type=\"submit\">Look up</button>\n</form>\n",
      htmlEscape(w.title), htmlEscape(q));
  unsigned status = 200;
  if (!raw.empty()) {
    std::string error;
    std::optional<PublicLookup> r;
    if (raw.size() > kMaxQuery)
      error = "The query is longer than 255 characters.";
    else if (q.empty())
      error = "Give an IPv4 or IPv6 address or a domain name.";
    else {
      store::Snapshot snap(d_env);
      r = publicLookup(snap, q, w.fields, error);
    }
    body += "<section aria-live=\"polite\">\n";
    if (!r) {
      status = 400;
      body += fmt::format("<p role=\"alert\">{}</p>\n", htmlEscape(error));
    } else {
      body += fmt::format("<h2>{}: {}</h2>\n", htmlEscape(r->subject),
                          r->listed ? "<span class=\"listed\">listed</span>"
                                    : "<span class=\"clear\">not listed</span>");
      for (const auto& z : r->zones) {
        body += fmt::format("<h3>{}: {}</h3>\n", htmlEscape(z.zone),
                            z.listed ? "<span class=\"listed\">listed</span>"
                                     : "<span class=\"clear\">not listed</span>");
        if (!z.listed) continue;
        for (const auto& t : z.txt)
          body += fmt::format("<p>Why: {}</p>\n", htmlEscape(t));
        if (!z.entries.empty()) {
          body += "<table>\n<tr><th scope=\"col\">entry</th><th scope=\"col\">list</th>"
                  "<th scope=\"col\">details</th></tr>\n";
          for (const auto& e : z.entries) {
            std::string details;
            for (const auto& [k, v] : e.fields)
              details += fmt::format(
                  "{}<b>{}</b>: {}", details.empty() ? "" : "<br>", htmlEscape(k),
                  k == "delist" && isUrl(v) ? fmt::format("<a href=\"{0}\">{0}</a>", htmlEscape(v))
                                            : htmlEscape(v));
            body += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                                htmlEscape(e.subject), htmlEscape(e.dataset), details);
          }
          body += "</table>\n";
        }
      }
    }
    body += "</section>\n";
  }
  if (!w.contact.empty())
    body += fmt::format("<footer><p>Questions, removal: {}</p></footer>\n", htmlEscape(w.contact));
  body += "</main>\n</body>\n</html>\n";
  return {status, "text/html; charset=utf-8", std::move(body), 0};
}

int webCommand(const config::Config& cfg) {
  if (!cfg.web.enabled) {
    fmt::print(stderr, "dnsxl: {}: no [web] section (listen = [\"ADDRESS:PORT\"])\n",
               cfg.file.string());
    return 2;
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  try {
    store::Env env(cfg.server.store, {.readOnly = true, .mapSize = cfg.server.mapSize});
    WebSite site(cfg, env);
    ops::HttpServer http([&](const ops::HttpRequest& req) {
      auto r = site.get(req.target, req.client, std::chrono::steady_clock::now());
      ops::HttpResponse out(r.status, r.contentType, std::move(r.body));
      if (r.retryAfter) out.headers.emplace_back("Retry-After", std::to_string(r.retryAfter));
      return out;
    });
    for (const auto& l : cfg.web.listen)
      fmt::print(stderr, "dnsxl: listening on {} (http)\n", http.listen(l.address, l.port));
    http.start();
    int sig = 0;
    sigwait(&sigs, &sig);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dnsxl: {}\n", e.what());
    return 1;
  }
}

} // namespace dnsxl::zonegen
