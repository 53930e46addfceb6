#include "zonegen/web.hh"

#include "server/ops/http.hh"
#include "zonegen/why.hh"

#include <arpa/inet.h>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
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

// The value of field name in a query string or form body (a=1&b=2), percent-decoded and cut
// after max + 1 bytes (so that callers see it is too long); nullopt when absent.
std::optional<std::string> formValue(std::string_view rest, std::string_view name,
                                     size_t max = kMaxQuery) {
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string out;
    const auto v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    for (size_t i = 0; i < v.size() && out.size() <= max; ++i) {
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

// The value of parameter name in the target's query string.
std::optional<std::string> param(const std::string& target, std::string_view name) {
  const auto qm = target.find('?');
  if (qm == std::string::npos) return std::nullopt;
  return formValue(std::string_view(target).substr(qm + 1), name);
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

// The page around a body: the title, the lookup form (with q), the contact.
std::string page(const config::Web& w, const std::string& q, const std::string& body) {
  std::string out = fmt::format(
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{0}</title>\n<style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto;"
      "padding:0 1rem;line-height:1.5}}.listed{{color:#a00}}.clear{{color:#060}}"
      "table{{border-collapse:collapse}}th,td{{border:1px solid #999;padding:.25rem .5rem;"
      "text-align:left;vertical-align:top}}form.request label{{display:block;margin-top:.75rem}}"
      "form.request input,form.request textarea{{width:100%;max-width:36rem}}"
      "dt{{font-weight:bold}}.alert{{color:#a00;font-weight:bold}}</style>\n</head>\n<body>\n"
      "<main>\n<h1>{0}</h1>\n<form method=\"get\" action=\"/\" role=\"search\">\n"
      "<label for=\"q\">IP address or domain name</label>\n"
      "<input id=\"q\" name=\"q\" type=\"text\" maxlength=\"255\" required value=\"{1}\">\n"
      "<button type=\"submit\">Look up</button>\n</form>\n",
      htmlEscape(w.title), htmlEscape(q));
  out += body;
  if (!w.contact.empty())
    out += fmt::format("<footer><p>Questions, removal: {}</p></footer>\n", htmlEscape(w.contact));
  return out + "</main>\n</body>\n</html>\n";
}

WebResponse html(unsigned status, std::string body) {
  return {status, "text/html; charset=utf-8", std::move(body), 0, {}};
}

WebResponse jsonError(unsigned status, const std::string& error) {
  return {status, "application/json", nlohmann::json{{"error", error}}.dump() + "\n", 0, {}};
}

// "/request/12" -> 12, "/request/12/confirm" -> 12 with confirm; nullopt otherwise.
std::optional<uint64_t> requestId(std::string_view path, std::string_view prefix, bool& confirm) {
  if (!path.starts_with(prefix)) return std::nullopt;
  path.remove_prefix(prefix.size());
  confirm = path.ends_with("/confirm");
  if (confirm) path.remove_suffix(8);
  if (path.empty() || path.size() > 18 || path.find_first_not_of("0123456789") != path.npos)
    return std::nullopt;
  return std::stoull(std::string(path));
}

std::string stateExplained(const store::RequestRecord& r, int64_t now) {
  switch (r.state) {
  case store::RequestRecord::Unconfirmed:
    return lapsed(r, now) ? "the code was not given within 48 hours; file a new request"
                          : "waiting for the " + r.proof + "; give it below";
  case store::RequestRecord::Open:
    return "waiting for the operator's decision";
  case store::RequestRecord::Approved:
    return r.subject + " is delisted";
  case store::RequestRecord::Denied:
    return r.decision.empty() ? "not delisted" : "not delisted: " + r.decision;
  }
  return {};
}

} // namespace

WebSite::WebSite(const config::Config& cfg, store::Env& env) : d_cfg(cfg), d_env(env) {
  if (cfg.web.requests) d_desk = std::make_unique<RequestDesk>(cfg, env);
}

bool WebSite::allow(const std::string& client, std::chrono::steady_clock::time_point now,
                    unsigned& retryAfter) {
  const double capacity = d_cfg.web.ratePerMinute, perSecond = capacity / 60.0;
  if (d_buckets.size() > 10000) // forget clients idle for two minutes
    std::erase_if(d_buckets,
                  [&](const auto& b) { return now - b.second.last > std::chrono::minutes(2); });
  auto [it, fresh] = d_buckets.try_emplace(clientNetworkKey(client));
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
  bool confirm = false;
  const bool api = path == "/v1/lookup";
  const auto pageId = requestId(path, "/request/", confirm);
  const auto apiId = requestId(path, "/v1/request/", confirm);
  if (!api && path != "/" && path != "/lookup" && !((pageId || apiId) && !confirm && d_desk))
    return {404, "text/plain; charset=utf-8", "not found: try / or /v1/lookup?q=\n", 0, {}};
  const auto q = param(target, "q");
  if (!q && !api && !pageId && !apiId) return lookupHtml("", client);
  unsigned retry = 0;
  if (!allow(client, now, retry)) {
    const auto msg = fmt::format("Too many lookups from your address: try again in {} s.", retry);
    if (api || apiId)
      return {429, "application/json", nlohmann::json{{"error", msg}}.dump() + "\n", retry, {}};
    return {429, "text/plain; charset=utf-8", msg + "\n", retry, {}};
  }
  if (pageId || apiId)
    return requestPage(pageId ? *pageId : *apiId, param(target, "key").value_or(""), !!apiId, "",
                       200);
  if (api) return lookupJson(q ? *q : std::string());
  return lookupHtml(*q, client);
}

WebResponse WebSite::post(const std::string& target, const std::string& contentType,
                          const std::string& body, const std::string& client,
                          std::chrono::steady_clock::time_point now, int64_t wall) {
  if (!wall) wall = static_cast<int64_t>(std::time(nullptr));
  bool confirm = false;
  const auto id = requestId(target, "/request/", confirm);
  if (!d_desk || (target != "/request" && !(id && confirm)))
    return {404, "text/plain; charset=utf-8", "not found\n", 0, {}};
  if (!contentType.starts_with("application/x-www-form-urlencoded"))
    return {415,
            "text/plain; charset=utf-8",
            "send the form as application/x-www-form-urlencoded\n",
            0,
            {}};
  unsigned retry = 0;
  if (!allow(client, now, retry))
    return {429,
            "text/plain; charset=utf-8",
            fmt::format("Too many requests from your address: try again in {} s.\n", retry),
            retry,
            {}};
  try {
    return id ? confirmRequest(*id, body, client, wall) : fileRequest(body, client, wall);
  } catch (const store::StoreError& e) {
    std::fprintf(stderr, "dnsxl: web: %s\n", e.what());
    return html(503, page(d_cfg.web, "",
                          "<p class=\"alert\" role=\"alert\">The request could not be stored; "
                          "please try again later.</p>\n"));
  }
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
  if (!r) return {400, "application/json", nlohmann::json{{"error", error}}.dump() + "\n", 0, {}};
  return {200, "application/json", toJson(*r).dump(2) + "\n", 0, {}};
}

WebResponse WebSite::lookupHtml(const std::string& raw, const std::string& client) {
  const auto q = tidy(raw);
  const auto& w = d_cfg.web;
  std::string body;
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
      if (r->listed && d_desk) body += requestForm(r->subject, client, "", "");
    }
    body += "</section>\n";
  }
  return html(status, page(w, q, body));
}

// The removal request form for a listed subject, saying what proof it needs from this client.
std::string WebSite::requestForm(const std::string& subject, const std::string& client,
                                 const std::string& contact, const std::string& text) {
  std::string out = "<section aria-labelledby=\"ask\">\n<h2 id=\"ask\">Ask for removal</h2>\n";
  std::string error;
  const auto proof = proofFor(d_cfg.web, subject, client, error);
  if (!proof) return out + fmt::format("<p>{}</p>\n</section>\n", htmlEscape(error));
  out += proof->network.empty()
             ? fmt::format("<p>You are not sending this from {}'s network: a code will be mailed "
                           "to {}, its abuse contact; the request goes to the operator once the "
                           "code is given on the request's page.</p>\n",
                           htmlEscape(subject), htmlEscape(proof->mailTo))
             : fmt::format("<p>You are sending this from {}, {}'s network: the request goes "
                           "straight to the operator.</p>\n",
                           htmlEscape(proof->network), htmlEscape(subject));
  return out + fmt::format(
                   "<form class=\"request\" method=\"post\" action=\"/request\">\n"
                   "<input type=\"hidden\" name=\"subject\" value=\"{0}\">\n"
                   "<label for=\"contact\">Your mail address (for the operator's answer)</label>\n"
                   "<input id=\"contact\" name=\"contact\" type=\"email\" maxlength=\"254\" "
                   "required autocomplete=\"email\" value=\"{1}\">\n"
                   "<label for=\"text\">What was wrong, and what has been done about it</label>\n"
                   "<textarea id=\"text\" name=\"text\" rows=\"6\" maxlength=\"{2}\" required>{3}"
                   "</textarea>\n<p><button type=\"submit\">Send the request</button></p>\n"
                   "</form>\n</section>\n",
                   htmlEscape(subject), htmlEscape(contact), kMaxRequestText, htmlEscape(text));
}

WebResponse WebSite::fileRequest(const std::string& body, const std::string& client, int64_t wall) {
  const auto subject = tidy(formValue(body, "subject").value_or(""));
  const auto contact = tidy(formValue(body, "contact").value_or(""));
  auto text = formValue(body, "text", kMaxRequestText).value_or("");
  std::string crlf; // browsers send line breaks as CR LF
  for (char c : text)
    if (c != '\r') crlf.push_back(c);
  text = std::move(crlf);
  auto filed = d_desk->file(subject, contact, text, client, wall);
  if (filed.status == 0) {
    const auto where = fmt::format("/request/{}?key={}", filed.id, filed.key);
    return {303, "text/html; charset=utf-8",
            fmt::format("<!doctype html>\n<p>Filed: <a href=\"{0}\">{0}</a></p>\n", where), 0,
            where};
  }
  std::string out =
      fmt::format("<p class=\"alert\" role=\"alert\">{}</p>\n", htmlEscape(filed.error));
  if (filed.status == 400 || filed.status == 403) {
    std::string error;
    store::Snapshot snap(d_env);
    if (auto r = publicLookup(snap, subject, {}, error); r && r->listed)
      out += requestForm(subject, client, contact, text);
  }
  return html(filed.status, page(d_cfg.web, subject, out));
}

WebResponse WebSite::confirmRequest(uint64_t id, const std::string& body, const std::string& client,
                                    int64_t wall) {
  const auto key = formValue(body, "key").value_or("");
  const auto error = d_desk->confirm(id, key, formValue(body, "code").value_or(""), client, wall);
  if (error.empty()) {
    const auto where = fmt::format("/request/{}?key={}", id, key);
    return {303, "text/html; charset=utf-8",
            fmt::format("<!doctype html>\n<p>Confirmed: <a href=\"{0}\">{0}</a></p>\n", where), 0,
            where};
  }
  return requestPage(id, key, false, error, 400);
}

WebResponse WebSite::requestPage(uint64_t id, const std::string& key, bool json,
                                 const std::string& error, unsigned status) {
  const auto r = d_desk->status(id, key);
  const auto now = static_cast<int64_t>(std::time(nullptr));
  if (!r) {
    const std::string msg = "There is no such request (the link's key is part of it).";
    if (json) return jsonError(404, msg);
    return html(404, page(d_cfg.web, "", fmt::format("<p role=\"alert\">{}</p>\n", msg)));
  }
  const auto state = stateText(*r, now);
  if (json)
    return {200,
            "application/json",
            nlohmann::json{{"id", r->id},
                           {"subject", r->subject},
                           {"filed", r->filed},
                           {"state", state},
                           {"proof", r->proof},
                           {"decided", r->decided},
                           {"decision", r->decision}}
                    .dump(2) +
                "\n",
            0,
            {}};
  std::string out;
  if (!error.empty())
    out += fmt::format("<p class=\"alert\" role=\"alert\">{}</p>\n", htmlEscape(error));
  out += fmt::format(
      "<h2>Removal request #{0}</h2>\n<dl>\n<dt>For</dt><dd>{1}</dd>\n<dt>Filed</dt><dd>{2}</dd>\n"
      "<dt>State</dt><dd><strong id=\"state\">{3}</strong>: {4}</dd>\n",
      r->id, htmlEscape(r->subject), utcText(r->filed), htmlEscape(state),
      htmlEscape(stateExplained(*r, now)));
  if (r->decided) out += fmt::format("<dt>Decided</dt><dd>{}</dd>\n", utcText(r->decided));
  out += fmt::format("<dt>What you wrote</dt><dd style=\"white-space:pre-wrap\">{}</dd>\n</dl>\n",
                     htmlEscape(r->text));
  if (r->state == store::RequestRecord::Unconfirmed && !lapsed(*r, now))
    out += fmt::format("<form class=\"request\" method=\"post\" action=\"/request/{}/confirm\">\n"
                       "<input type=\"hidden\" name=\"key\" value=\"{}\">\n"
                       "<label for=\"code\">The code from the mail</label>\n"
                       "<input id=\"code\" name=\"code\" type=\"text\" maxlength=\"32\" required "
                       "autocomplete=\"off\">\n<p><button type=\"submit\">Confirm</button></p>\n"
                       "</form>\n",
                       r->id, htmlEscape(key));
  out += fmt::format("<p><a href=\"/?q={0}\">Look up {0} now</a>. Keep this page's address: it "
                     "is the way back to your request.</p>\n",
                     htmlEscape(r->subject));
  return html(status, page(d_cfg.web, "", out));
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
    ops::HttpServer http(
        [&](const ops::HttpRequest& req) {
          const auto now = std::chrono::steady_clock::now();
          auto r = req.method == "POST"
                       ? site.post(req.target, req.contentType, req.body, req.client, now)
                       : site.get(req.target, req.client, now);
          ops::HttpResponse out(r.status, r.contentType, std::move(r.body));
          if (r.retryAfter) out.headers.emplace_back("Retry-After", std::to_string(r.retryAfter));
          if (!r.location.empty()) out.headers.emplace_back("Location", r.location);
          return out;
        },
        cfg.web.requests);
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
