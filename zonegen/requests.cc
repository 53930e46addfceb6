#include "zonegen/requests.hh"

#include "feeds/feed.hh"
#include "zonegen/apply.hh"
#include "zonegen/live.hh"
#include "zonegen/why.hh"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace dnsxl::zonegen {

using store::RequestRecord;

namespace {

std::string sha256Hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  std::string out;
  for (unsigned i = 0; i < len; ++i)
    out += fmt::format("{:02x}", md[i]);
  return out;
}

// Compares two digests in time independent of where they differ.
bool sameDigest(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i)
    d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

constexpr std::string_view kCodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; // Crockford's 32
constexpr std::string_view kKeyAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";  // 32

// The code as typed: blanks and dashes dropped, upper case, O read as 0 and I, L as 1.
std::string normaliseCode(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '-' || c == '\t') continue;
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.push_back(c == 'O' ? '0' : c == 'I' || c == 'L' ? '1' : c);
  }
  return out;
}

// Valid UTF-8 without control characters (line breaks and tabs allowed when multiline).
bool cleanText(std::string_view s, bool multiline) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) || c == 0x7f)
        return false;
      ++i;
      continue;
    }
    const size_t n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

struct Address {
  bool v6 = false;
  uint8_t b[16]{};
};
std::optional<Address> parseAddress(const std::string& s) {
  Address a;
  if (inet_pton(AF_INET, s.c_str(), a.b) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.b) != 1) return std::nullopt;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.b, mapped, 12) == 0) { // ::ffff:192.0.2.7 from a dual-stack socket
    std::memmove(a.b, a.b + 12, 4);
    std::memset(a.b + 4, 0, 12);
    return a;
  }
  a.v6 = true;
  return a;
}

// Runs the mail command with message on its standard input: empty, or what went wrong.
std::string sendMail(const std::vector<std::string>& command, const std::string& message) {
  int fds[2];
  if (pipe(fds) != 0) return std::string("pipe: ") + std::strerror(errno);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  std::vector<char*> argv;
  for (const auto& a : command)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[0]);
  if (rc != 0) {
    close(fds[1]);
    return fmt::format("cannot run {}: {}", command.front(), std::strerror(rc));
  }
  std::string_view rest(message);
  while (!rest.empty()) {
    const auto n = write(fds[1], rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rest.remove_prefix(static_cast<size_t>(n));
  }
  close(fds[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fmt::format("{} failed (status {})", command.front(), status);
  return {};
}

std::string oneLine(std::string s) {
  for (char& c : s)
    if (c == '\r' || c == '\n') c = ' ';
  return s;
}

std::string codeMail(const config::Web& web, const RequestRecord& r, const std::string& code,
                     const std::string& key) {
  std::string m = fmt::format("To: {}\n", r.proof.substr(r.proof.rfind(' ') + 1));
  if (!web.mailFrom.empty()) m += fmt::format("From: {}\n", web.mailFrom);
  m += fmt::format("Subject: {}: removal request #{} for {}\nAuto-Submitted: auto-generated\n"
                   "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n",
                   oneLine(web.title), r.id, r.subject);
  m += fmt::format("Someone asked {} to remove {} from its lists. You get this mail as the abuse "
                   "contact for {}.\n\nRequest #{}, filed {} from {}.\nTheir contact: {}\n"
                   "What they wrote:\n",
                   web.title, r.subject, r.subject, r.id, utcText(r.filed), r.client, r.contact);
  size_t start = 0;
  while (start <= r.text.size()) {
    const auto nl = r.text.find('\n', start);
    m += "  > " + r.text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    m += "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  m += fmt::format("\nIf this is your network (or domain) and you support the request, give this "
                   "code on the request's page:\n\n    {}\n\n",
                   code);
  if (!web.publicUrl.empty())
    m += fmt::format("The page: {}/request/{}?key={}\n\n", web.publicUrl, r.id, key);
  m += "If you know nothing of it, ignore this mail: the request lapses in 48 hours.\n";
  return m;
}

// Why a request for subject from a client (its network key) is refused now, given every request
// (empty: admitted); status is set to the HTTP status of the refusal.
std::string admission(const config::Web& web, const std::vector<RequestRecord>& all,
                      const std::string& subject, const std::string& clientKey, int64_t now,
                      unsigned& status) {
  unsigned subjectToday = 0, clientToday = 0;
  for (const auto& o : all) {
    const bool today = now - o.filed < 86400;
    if (o.subject == subject) {
      if (o.state == RequestRecord::Open ||
          (o.state == RequestRecord::Unconfirmed && !lapsed(o, now))) {
        status = 409;
        return fmt::format("A removal request for {} is already waiting (#{}, filed {}); the "
                           "operator decides it.",
                           subject, o.id, utcText(o.filed));
      }
      subjectToday += today;
    }
    clientToday += today && clientNetworkKey(o.client) == clientKey;
  }
  status = 429;
  if (subjectToday >= web.requestsPerSubjectPerDay)
    return fmt::format("{} removal requests for {} in the last 24 hours: please wait a day.",
                       subjectToday, subject);
  if (clientToday >= web.requestsPerClientPerDay)
    return fmt::format("{} removal requests from your address in the last 24 hours: please "
                       "wait a day.",
                       clientToday);
  return {};
}

} // namespace

std::filesystem::path requestsPath(const config::Config& cfg) {
  return cfg.web.requestsFile.empty() ? store::RequestStore::defaultPath(cfg.server.store)
                                      : cfg.web.requestsFile;
}

std::string utcText(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string clientNetworkKey(const std::string& client) {
  const auto a = parseAddress(client);
  if (!a) return client;
  char buf[INET6_ADDRSTRLEN];
  if (!a->v6) return inet_ntop(AF_INET, a->b, buf, sizeof buf);
  uint8_t net[16]{};
  std::memcpy(net, a->b, 8);
  return std::string(inet_ntop(AF_INET6, net, buf, sizeof buf)) + "/64";
}

std::string randomText(size_t n, std::string_view alphabet) {
  std::vector<unsigned char> bytes(n);
  if (RAND_bytes(bytes.data(), static_cast<int>(n)) != 1)
    throw std::runtime_error("no random bytes (OpenSSL RAND_bytes)");
  std::string out;
  for (auto b : bytes)
    out.push_back(alphabet[b % alphabet.size()]); // 256 % 32 == 0: no bias with 32 letters
  return out;
}

std::string stateText(const RequestRecord& r, int64_t now) {
  return lapsed(r, now) ? "lapsed" : store::stateName(r.state);
}

std::optional<Proof> proofFor(const config::Web& web, const std::string& subject,
                              const std::string& client, std::string& error) {
  Proof p;
  if (const auto s = parseAddress(subject)) {
    const auto c = parseAddress(client);
    const size_t bytes = s->v6 ? 8 : 3;
    if (c && c->v6 == s->v6 && std::memcmp(c->b, s->b, bytes) == 0) {
      uint8_t net[16]{};
      std::memcpy(net, s->b, bytes);
      char buf[INET6_ADDRSTRLEN];
      p.network = fmt::format("{}/{}", inet_ntop(s->v6 ? AF_INET6 : AF_INET, net, buf, sizeof buf),
                              s->v6 ? 64 : 24);
      return p;
    }
    unsigned best = 0;
    for (const auto& [prefix, mail] : web.abuseNetworks)
      if (prefix.v6 == s->v6 && prefix.contains(s->v6, s->b) &&
          (p.mailTo.empty() || prefix.len >= best)) {
        best = prefix.len;
        p.mailTo = mail;
      }
    if (p.mailTo.empty()) {
      error = fmt::format("A removal request for {} has to be sent from its own network (the /{} "
                          "it is in){}.",
                          subject, s->v6 ? 64 : 24,
                          web.contact.empty() ? "" : "; or write to " + web.contact);
      return std::nullopt;
    }
    return p;
  }
  size_t best = 0;
  for (const auto& [domain, mail] : web.abuseDomains)
    if ((subject == domain || subject.ends_with("." + domain)) && domain.size() >= best) {
      best = domain.size();
      p.mailTo = mail;
    }
  if (p.mailTo.empty()) {
    const auto registrable = feeds::registrableDomain(subject);
    if (registrable.empty()) {
      error = fmt::format("{} is a public suffix: there is nobody to confirm a request for it.",
                          subject);
      return std::nullopt;
    }
    p.mailTo = "abuse@" + registrable;
  }
  return p;
}

RequestDesk::RequestDesk(const config::Config& cfg, store::Env& env)
    : d_cfg(cfg), d_env(env), d_requests(requestsPath(cfg)) {}

Filed RequestDesk::file(const std::string& subject, const std::string& contact,
                        const std::string& text, const std::string& client, int64_t now) {
  const auto& web = d_cfg.web;
  Filed out;
  auto refuse = [&](unsigned status, std::string why) {
    out.status = status;
    out.error = std::move(why);
    return out;
  };
  if (!web.requests) return refuse(404, "This list takes no removal requests here.");
  if (subject.empty() || subject.size() > 255)
    return refuse(400, "Give the IP address or domain name to remove.");
  if (!config::isMailAddress(contact))
    return refuse(400, "Give a mail address we can answer (name@example.org).");
  if (text.empty() || text.size() > kMaxRequestText || !cleanText(text, true))
    return refuse(400, fmt::format("Say in up to {} characters what was wrong and what was done "
                                   "about it.",
                                   kMaxRequestText));
  std::string error;
  std::optional<PublicLookup> listed;
  {
    store::Snapshot snap(d_env);
    listed = publicLookup(snap, subject, {}, error);
  }
  if (!listed) return refuse(400, error + ".");
  if (!listed->listed)
    return refuse(400, fmt::format("{} is not listed: there is nothing to remove.", subject));
  const auto proof = proofFor(web, subject, client, error);
  if (!proof) return refuse(403, error);

  RequestRecord r;
  r.filed = now;
  r.subject = subject;
  r.contact = contact;
  r.text = text;
  r.client = client;
  out.key = randomText(24, kKeyAlphabet);
  r.viewKeyHash = sha256Hex(out.key);
  std::string code;
  if (!proof->network.empty()) {
    r.state = RequestRecord::Open;
    r.proof = "sent from " + proof->network;
  } else {
    code = randomText(10, kCodeAlphabet);
    r.codeHash = sha256Hex(code);
    r.proof = "code mailed to " + proof->mailTo;
  }
  r.events.push_back({now, "filed (" + r.proof + ")", "web " + client});
  const auto clientKey = clientNetworkKey(client);
  std::string refusal;
  unsigned refusalStatus = 0;
  const auto id = d_requests.add(
      r,
      [&](const std::vector<RequestRecord>& all) {
        return admission(web, all, subject, clientKey, now, refusalStatus);
      },
      refusal);
  if (!id) return refuse(refusalStatus, refusal);
  out.id = *id;
  if (!code.empty()) {
    r.id = *id;
    const auto mailError = sendMail(web.mailCommand, codeMail(web, r, code, out.key));
    d_requests.update(*id, [&](RequestRecord& rec) {
      if (mailError.empty()) {
        rec.events.push_back({now, "code mailed to " + proof->mailTo, "web"});
      } else {
        rec.state = RequestRecord::Denied;
        rec.decided = now;
        rec.decidedBy = "web";
        rec.decision = "the confirmation code could not be mailed";
        rec.events.push_back({now, "mail failed: " + mailError, "web"});
      }
      return true;
    });
    if (!mailError.empty()) {
      std::fprintf(stderr, "dnsxl: request #%llu: %s\n", static_cast<unsigned long long>(*id),
                   mailError.c_str());
      return refuse(503, fmt::format("The confirmation code could not be mailed{}.",
                                     web.contact.empty() ? "" : ": write to " + web.contact));
    }
  }
  return out;
}

std::optional<RequestRecord> RequestDesk::status(uint64_t id, const std::string& key) const {
  auto r = d_requests.get(id);
  if (!r || key.empty() || !sameDigest(r->viewKeyHash, sha256Hex(key))) return std::nullopt;
  return r;
}

std::string RequestDesk::confirm(uint64_t id, const std::string& key, const std::string& code,
                                 const std::string& client, int64_t now) {
  std::string error = "There is no such request.";
  const auto given = sha256Hex(normaliseCode(code));
  const auto keyHash = sha256Hex(key);
  d_requests.update(id, [&](RequestRecord& r) {
    if (key.empty() || !sameDigest(r.viewKeyHash, keyHash)) return false;
    if (r.state != RequestRecord::Unconfirmed) {
      error = fmt::format("The request is {}: there is nothing to confirm.", stateText(r, now));
      return false;
    }
    if (lapsed(r, now)) {
      error = "The request has lapsed: the code was not given within 48 hours. File a new one.";
      return false;
    }
    if (r.codeAttempts >= kMaxCodeAttempts) {
      error = "Too many wrong codes: the request is closed. File a new one.";
      return false;
    }
    if (!sameDigest(r.codeHash, given)) {
      ++r.codeAttempts;
      r.events.push_back({now, "wrong code", "web " + client});
      error = r.codeAttempts >= kMaxCodeAttempts
                  ? "That is not the code, and that was the last try: the request is closed."
                  : fmt::format("That is not the code ({} tries left).",
                                kMaxCodeAttempts - r.codeAttempts);
      if (r.codeAttempts >= kMaxCodeAttempts) {
        r.state = RequestRecord::Denied;
        r.decided = now;
        r.decidedBy = "web";
        r.decision = "too many wrong codes";
      }
      return true;
    }
    r.state = RequestRecord::Open;
    r.events.push_back({now, "confirmed with the mailed code", "web " + client});
    error.clear();
    return true;
  });
  return error;
}

namespace {

nlohmann::json requestJson(const RequestRecord& r, int64_t now) {
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : r.events)
    events.push_back({{"at", e.at}, {"what", e.what}, {"by", e.by}});
  return {{"id", r.id},
          {"filed", r.filed},
          {"state", stateText(r, now)},
          {"subject", r.subject},
          {"contact", r.contact},
          {"text", r.text},
          {"client", r.client},
          {"proof", r.proof},
          {"decided", r.decided},
          {"decided_by", r.decidedBy},
          {"decision", r.decision},
          {"events", events}};
}

void printRequest(const RequestRecord& r, int64_t now, bool whole) {
  fmt::print("#{}  {}  {}  {}  from {} ({})  contact {}\n", r.id, stateText(r, now),
             utcText(r.filed), r.subject, r.client, r.proof, r.contact);
  if (!whole) {
    auto firstLine = r.text.substr(0, r.text.find('\n'));
    if (firstLine.size() > 100) firstLine = firstLine.substr(0, 97) + "...";
    fmt::print("    \"{}\"\n", firstLine);
    return;
  }
  fmt::print("{}\n", r.text);
  if (r.decided) fmt::print("decided {} by {}: {}\n", utcText(r.decided), r.decidedBy, r.decision);
  for (const auto& e : r.events)
    fmt::print("  {}  {}  by {}\n", utcText(e.at), e.what, e.by);
}

// Delists the request's subject in every dataset listing it: the lines done, or errors.
bool delistEverywhere(const config::Config& cfg, const RequestRecord& r, const RequestsArgs& a,
                      std::vector<std::string>& done, std::vector<std::string>& errors) {
  std::string error;
  std::optional<PublicLookup> found;
  {
    store::Env env(cfg.server.store, {.readOnly = true, .mapSize = cfg.server.mapSize});
    store::Snapshot snap(env);
    found = publicLookup(snap, r.subject, {}, error);
  }
  if (!found) {
    errors.push_back(error);
    return false;
  }
  Change c;
  c.subject = r.subject;
  c.source = fmt::format("removal request #{}", r.id);
  c.fields[feeds::kReason] =
      fmt::format("removal request #{}{}", r.id, a.reason.empty() ? "" : ": " + a.reason);
  c.fields[feeds::kRef] = fmt::format("request-{}", r.id);
  for (const auto& z : found->zones)
    for (const auto& ds : z.datasets) {
      LiveOptions o;
      o.delist = true;
      o.zone = z.zone;
      o.dataset = ds;
      o.by = a.by;
      auto res = applyChanges(cfg, o, {c});
      for (auto& e : res.errors)
        errors.push_back(fmt::format("{}/{}: {}", z.zone, ds, e));
      for (auto& d : res.done)
        done.push_back(std::move(d));
    }
  return errors.empty();
}

} // namespace

int requestsCommand(const config::Config& cfg, const RequestsArgs& args) {
  RequestsArgs a = args;
  if (a.by.empty()) a.by = currentUser();
  const auto now = static_cast<int64_t>(std::time(nullptr));
  const auto path = requestsPath(cfg);
  if (!std::filesystem::exists(path)) { // not created here: dnsxl web creates it as its user
    if (!a.action.empty()) {
      fmt::print(stderr, "dnsxl: there is no removal request #{} ({} does not exist yet)\n", a.id,
                 path.string());
      return 1;
    }
    if (a.json)
      fmt::print("[]\n");
    else
      fmt::print("no removal requests ({} does not exist yet)\n", path.string());
    return 0;
  }
  store::RequestStore requests(path, a.action.empty() || a.action == "show");
  if (a.action.empty()) {
    nlohmann::json out = nlohmann::json::array();
    size_t shown = 0;
    for (const auto& r : requests.all()) {
      const bool waiting = r.state == RequestRecord::Open ||
                           (r.state == RequestRecord::Unconfirmed && !lapsed(r, now));
      if (!a.all && !waiting) continue;
      ++shown;
      if (a.json)
        out.push_back(requestJson(r, now));
      else
        printRequest(r, now, false);
    }
    if (a.json)
      fmt::print("{}\n", out.dump(2));
    else if (!shown)
      fmt::print("{}\n", a.all ? "no removal requests" : "no request is waiting");
    return 0;
  }
  auto r = requests.get(a.id);
  if (!r) {
    fmt::print(stderr, "dnsxl: there is no removal request #{}\n", a.id);
    return 1;
  }
  if (a.action == "show") {
    if (a.json)
      fmt::print("{}\n", requestJson(*r, now).dump(2));
    else
      printRequest(*r, now, true);
    return 0;
  }
  const bool decidable =
      r->state == RequestRecord::Open || (a.force && r->state == RequestRecord::Unconfirmed);
  if (!decidable) {
    fmt::print(stderr, "dnsxl: request #{} is {}{}\n", a.id, stateText(*r, now),
               r->state == RequestRecord::Unconfirmed
                   ? " (its code was not given; --force decides it anyway)"
                   : ": it was decided already");
    return 1;
  }
  std::vector<std::string> done, errors;
  if (a.action == "approve" && !delistEverywhere(cfg, *r, a, done, errors)) {
    for (const auto& e : errors)
      fmt::print(stderr, "dnsxl: {}\n", e);
    fmt::print(stderr, "dnsxl: request #{} stays open\n", a.id);
    return 1;
  }
  const bool approve = a.action == "approve";
  requests.update(a.id, [&](RequestRecord& rec) {
    rec.state = approve ? RequestRecord::Approved : RequestRecord::Denied;
    rec.decided = now;
    rec.decidedBy = a.by;
    rec.decision = a.reason;
    std::string what = approve ? "approved" : "denied";
    if (!a.reason.empty()) what += ": " + a.reason;
    if (approve)
      what += done.empty() ? " (no longer listed anywhere)"
                           : fmt::format(" ({})", fmt::join(done, "; "));
    rec.events.push_back({now, what, a.by});
    return true;
  });
  for (const auto& d : done)
    fmt::print("{}\n", d);
  fmt::print("request #{} {}\n", a.id, approve ? "approved" : "denied");
  return 0;
}

} // namespace dnsxl::zonegen
