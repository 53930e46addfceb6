#include "tests/support/support.hh"

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <regex>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dnsxl::test {

namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

bool readExact(int fd, uint8_t* buf, size_t n, Clock::time_point deadline) {
  size_t got = 0;
  while (got < n) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, remainingMs(deadline)) <= 0) return false;
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// Starts argv[0] with stdout/stderr on the write ends of the given pipes (if any).
pid_t spawn(const std::vector<std::string>& argv, const int* outPipe, const int* errPipe,
            const std::vector<std::string>& env = {}) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  for (const auto& e : env) {
    const auto eq = e.find('=');
    ::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
  }
  for (auto [p, fd] : {std::pair{outPipe, 1}, std::pair{errPipe, 2}}) {
    if (!p) continue;
    ::dup2(p[1], fd);
    ::close(p[0]);
  }
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

} // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "dnsxl-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  d_path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(d_path, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& content) const {
  auto p = d_path / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int outPipe[2], errPipe[2];
  if (::pipe(outPipe) != 0 || ::pipe(errPipe) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = spawn(argv, outPipe, errPipe, env);
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  RunResult r;
  pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
  int open = 2;
  while (open > 0) {
    ::poll(fds, 2, -1);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return r;
}

std::string dnsxlBinary() {
  return DNSXL_BIN;
}
std::string dnsxldBinary() {
  return DNSXLD_BIN;
}

Daemon::Daemon(const std::filesystem::path& config, std::vector<std::string> extraArgs,
               std::vector<std::string> listen, std::vector<std::string> env) {
  std::vector<std::string> argv = {dnsxldBinary(), "--config", config.string()};
  for (const auto& l : listen) {
    argv.push_back("--listen");
    argv.push_back(l);
  }
  bool hasWorkers = false;
  for (const auto& a : extraArgs)
    hasWorkers = hasWorkers || a == "--workers";
  if (!hasWorkers) argv.insert(argv.end(), {"--workers", "1"});
  argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
  start(argv, listen.size(), env);
}

Daemon::Daemon(const std::vector<std::string>& rbldnsdArgs, size_t addresses) {
  std::vector<std::string> argv = {dnsxldBinary()};
  argv.insert(argv.end(), rbldnsdArgs.begin(), rbldnsdArgs.end());
  start(argv, addresses);
}

std::unique_ptr<Daemon> Daemon::program(const std::vector<std::string>& argv, size_t addresses) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->start(argv, addresses);
  return d;
}

void Daemon::start(const std::vector<std::string>& argv, size_t addresses,
                   const std::vector<std::string>& env) {
  int errPipe[2];
  if (::pipe(errPipe) != 0) throw std::runtime_error("pipe failed");
  d_pid = spawn(argv, nullptr, errPipe, env);
  ::close(errPipe[1]);
  d_errFd = errPipe[0];
  auto deadline = Clock::now() + std::chrono::seconds(10);
  static const std::regex kListening(R"(listening on (\[[^\]]+\]|[0-9.]+):([0-9]+))");
  while (d_ports.size() < addresses) {
    pollfd p{d_errFd, POLLIN, 0};
    if (::poll(&p, 1, remainingMs(deadline)) <= 0) break;
    char buf[4096];
    ssize_t n = ::read(d_errFd, buf, sizeof buf);
    if (n <= 0) break;
    d_err.append(buf, static_cast<size_t>(n));
    d_ports.clear();
    for (std::sregex_iterator it(d_err.begin(), d_err.end(), kListening), end; it != end; ++it)
      d_ports.push_back(static_cast<uint16_t>(std::stoi((*it)[2].str())));
  }
  if (d_ports.size() < addresses) {
    stop();
    throw std::runtime_error("dnsxld did not start: " + d_err);
  }
}

namespace {
// SIGTERM, then SIGKILL after 10 s; collects what the child wrote on fd. Returns its exit status
// (or -signal).
int stopChild(int& pid, int& fd, std::string& out) {
  if (pid <= 0) return -1;
  ::kill(pid, SIGTERM);
  int status = 0;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    ::usleep(5000);
  }
  pid = -1;
  char buf[4096];
  ssize_t n;
  while (fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(n));
  if (fd >= 0) ::close(fd);
  fd = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}
} // namespace

int Daemon::stop() {
  return stopChild(d_pid, d_errFd, d_err);
}

uint16_t Daemon::httpPort() {
  static const std::regex kHttp(R"(http on (\[[^\]]+\]|[0-9.]+):([0-9]+))");
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    std::smatch m;
    if (std::regex_search(d_err, m, kHttp)) return static_cast<uint16_t>(std::stoi(m[2].str()));
    if (Clock::now() > deadline) throw std::runtime_error("dnsxld said no 'http on': " + d_err);
    readStderr(std::chrono::milliseconds(100));
  }
}

std::optional<int> Daemon::waitExit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  while (d_pid > 0) {
    if (::waitpid(d_pid, &status, WNOHANG) == d_pid) {
      d_pid = -1;
      readStderr(std::chrono::milliseconds(0));
      return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    }
    if (Clock::now() > deadline) return std::nullopt;
    readStderr(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

HttpResult httpGet(uint16_t port, const std::string& target, const std::string& method) {
  return httpRequest(port, method, target, "", "");
}

HttpResult httpRequest(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& contentType) {
  HttpResult r;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!contentType.empty()) req += "Content-Type: " + contentType + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return r;
  }
  std::string all;
  char buf[8192];
  // to the end of the body its Content-Length gives (chromedriver keeps the connection open
  // despite "Connection: close"), else to the end of the connection
  auto complete = [&all]() -> bool {
    const auto head = all.find("\r\n\r\n");
    if (head == std::string::npos) return false;
    std::string lower = all.substr(0, head);
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto cl = lower.find("\r\ncontent-length:");
    return cl != std::string::npos && all.size() - head - 4 >= std::stoul(lower.substr(cl + 17));
  };
  for (ssize_t n; !complete() && (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    all.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const auto end = all.find("\r\n\r\n");
  if (all.compare(0, 9, "HTTP/1.1 ") != 0 || end == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.headers = all.substr(0, end);
  r.body = all.substr(end + 4);
  std::string lower = r.headers;
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("transfer-encoding: chunked") != std::string::npos) {
    std::string joined;
    for (size_t at = 0;;) {
      const auto eol = r.body.find("\r\n", at);
      if (eol == std::string::npos) break;
      const size_t n = std::stoul(r.body.substr(at, eol - at), nullptr, 16);
      if (n == 0) break;
      joined += r.body.substr(eol + 2, n);
      at = eol + 2 + n + 2;
    }
    r.body = std::move(joined);
  }
  return r;
}
Daemon::~Daemon() {
  stop();
}

Process::Process(const std::vector<std::string>& argv) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  d_pid = spawn(argv, out, out);
  ::close(out[1]);
  d_fd = out[0];
  ::fcntl(d_fd, F_SETFL, O_NONBLOCK);
}

std::string Process::output() {
  char buf[4096];
  ssize_t n;
  while (d_fd >= 0 && (n = ::read(d_fd, buf, sizeof buf)) > 0)
    d_out.append(buf, static_cast<size_t>(n));
  return d_out;
}

int Process::status(int waitStatus) {
  d_pid = -1;
  d_status = WIFEXITED(waitStatus) ? WEXITSTATUS(waitStatus) : -WTERMSIG(waitStatus);
  output();
  if (d_fd >= 0) ::close(d_fd);
  d_fd = -1;
  return d_status;
}

bool Process::running() {
  int st = 0;
  if (d_pid > 0 && ::waitpid(d_pid, &st, WNOHANG) == d_pid) status(st);
  return d_pid > 0;
}

int Process::kill(int sig) {
  if (d_pid <= 0) return d_status;
  ::kill(d_pid, sig);
  int st = 0;
  ::waitpid(d_pid, &st, 0);
  return status(st);
}

int Process::wait() {
  if (d_pid <= 0) return d_status;
  int st = 0;
  ::waitpid(d_pid, &st, 0);
  return status(st);
}

int Process::stop() {
  if (d_pid <= 0) return d_status;
  output();
  return d_status = stopChild(d_pid, d_fd, d_out);
}

Process::~Process() {
  stop();
}

namespace {
std::vector<uint8_t> rdfBytes(const ldns_rdf* r) {
  const auto* p = ldns_rdf_data(r);
  return std::vector<uint8_t>(p, p + ldns_rdf_size(r));
}
} // namespace

std::vector<uint8_t> ldnsSignedQuery(const std::string& name, uint16_t type, const char* keyName,
                                     const char* secret, std::vector<uint8_t>& mac) {
  ldns_pkt* q = nullptr;
  if (ldns_pkt_query_new_frm_str(&q, name.c_str(), static_cast<ldns_rr_type>(type),
                                 LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK)
    throw std::runtime_error("ldns_pkt_query_new_frm_str failed");
  ldns_pkt_set_id(q, 0x4242);
  if (ldns_pkt_tsig_sign(q, keyName, secret, 300, "hmac-sha256.", nullptr) != LDNS_STATUS_OK)
    throw std::runtime_error("ldns_pkt_tsig_sign failed");
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&wire, q, &size);
  std::vector<uint8_t> out(wire, wire + size);
  std::free(wire);
  mac = rdfBytes(ldns_rr_rdf(ldns_pkt_tsig(q), 3));
  ldns_pkt_free(q);
  return out;
}

bool ldnsVerifyTsig(const std::vector<uint8_t>& reply, const char* keyName, const char* secret,
                    const std::vector<uint8_t>& previousMac, bool timersOnly,
                    std::vector<uint8_t>& next) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, reply.data(), reply.size()) != LDNS_STATUS_OK) return false;
  bool ok = false;
  if (const ldns_rr* t = ldns_pkt_tsig(p)) {
    ldns_rdf* prev =
        ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, previousMac.size(), previousMac.data());
    ok = ldns_pkt_tsig_verify_next(p, reply.data(), reply.size(), keyName, secret, prev,
                                   timersOnly ? 1 : 0);
    ldns_rdf_deep_free(prev);
    next = rdfBytes(ldns_rr_rdf(t, 3));
  }
  ldns_pkt_free(p);
  return ok;
}

TsigFields tsigFields(const std::vector<uint8_t>& reply) {
  TsigFields f;
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, reply.data(), reply.size()) != LDNS_STATUS_OK) return f;
  if (const ldns_rr* t = ldns_pkt_tsig(p)) {
    f.error = ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
    f.macSize = ldns_rdf_size(ldns_rr_rdf(t, 3)) - 2; // ldns keeps the length in front
    f.otherSize = ldns_rdf_size(ldns_rr_rdf(t, 6)) - 2;
  }
  ldns_pkt_free(p);
  return f;
}

uint32_t seed() {
  if (const char* s = std::getenv("DNSXL_SEED"); s && *s)
    return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

uint16_t freePort() {
  // Below the kernel's ephemeral range: a port the kernel handed out (bind to port 0) went to
  // the next outgoing socket of any process — a test's own query, a secondary's AXFR — before
  // the server it was meant for bound it (NSD: "Address already in use", CI on 6eb4fc7).
  unsigned ephemeralLow = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> ephemeralLow;
  if (ephemeralLow <= 11000) ephemeralLow = 32768; // no room below the range: use the default
  static std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 200; ++attempt) {
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(10000 + rng() % (ephemeralLow - 10000)));
    if (::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(u);
      continue;
    }
    int t = ::socket(AF_INET, SOCK_STREAM, 0);
    const bool tcpFree = ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(t);
    ::close(u);
    if (tcpFree) return ntohs(a.sin_port);
  }
  throw std::runtime_error("no free port");
}

bool waitForAnswer(uint16_t port, const std::string& name, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (udpExchange(port, makeQuery(name, 6), std::chrono::milliseconds(200))) return true;
    ::usleep(50000);
  }
  return false;
}

std::string Daemon::readStderr(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (d_errFd >= 0) {
    pollfd p{d_errFd, POLLIN, 0};
    if (::poll(&p, 1, remainingMs(deadline)) <= 0) break;
    char buf[4096];
    ssize_t n = ::read(d_errFd, buf, sizeof buf);
    if (n <= 0) break;
    d_err.append(buf, static_cast<size_t>(n));
  }
  return d_err;
}

std::vector<uint8_t> makeQuery(const std::string& name, uint16_t type, const QueryOptions& o) {
  ldns_rdf* owner = nullptr;
  if (ldns_str2rdf_dname(&owner, name.c_str()) != LDNS_STATUS_OK)
    throw std::runtime_error("bad name " + name);
  ldns_pkt* pkt = ldns_pkt_query_new(owner, static_cast<ldns_rr_type>(type),
                                     static_cast<ldns_rr_class>(o.qclass), o.rd ? LDNS_RD : 0);
  ldns_pkt_set_id(pkt, o.id);
  if (o.edns || o.nsid) {
    ldns_pkt_set_edns_udp_size(pkt, o.udpSize);
    ldns_pkt_set_edns_version(pkt, o.ednsVersion);
  }
  if (o.nsid) { // an empty NSID option (RFC 5001 §2.1)
    static const uint8_t kNsid[] = {0, 3, 0, 0};
    ldns_pkt_set_edns_data(pkt, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, 4, kNsid));
  }
  uint8_t* wire = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&wire, pkt, &size);
  std::vector<uint8_t> out(wire, wire + size);
  std::free(wire);
  ldns_pkt_free(pkt);
  return out;
}

Reply parseReply(const std::vector<uint8_t>& wire) {
  Reply r;
  r.size = wire.size();
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, wire.data(), wire.size()) != LDNS_STATUS_OK) return r;
  r.parsed = true;
  r.id = ldns_pkt_id(pkt);
  r.opcode = ldns_pkt_get_opcode(pkt);
  r.qr = ldns_pkt_qr(pkt);
  r.aa = ldns_pkt_aa(pkt);
  r.tc = ldns_pkt_tc(pkt);
  r.rd = ldns_pkt_rd(pkt);
  r.ra = ldns_pkt_ra(pkt);
  r.ad = ldns_pkt_ad(pkt);
  r.cd = ldns_pkt_cd(pkt);
  r.opt = ldns_pkt_edns(pkt);
  r.rcode = ldns_pkt_get_rcode(pkt) | (r.opt ? ldns_pkt_edns_extended_rcode(pkt) << 4 : 0);
  if (r.opt) {
    r.optUdpSize = ldns_pkt_edns_udp_size(pkt);
    r.ednsVersion = ldns_pkt_edns_version(pkt);
    if (const ldns_rdf* data = ldns_pkt_edns_data(pkt)) { // the options, as received
      const uint8_t* p = ldns_rdf_data(data);
      const size_t size = ldns_rdf_size(data);
      for (size_t pos = 0; pos + 4 <= size;) {
        const unsigned code = unsigned{p[pos]} << 8 | p[pos + 1];
        const size_t len = size_t{p[pos + 2]} << 8 | p[pos + 3];
        if (pos + 4 + len > size) break;
        if (code == 3) {
          r.hasNsid = true;
          r.nsid.assign(reinterpret_cast<const char*>(p + pos + 4), len);
        }
        pos += 4 + len;
      }
    }
  }
  auto text = [](ldns_rdf* rdf) {
    char* s = ldns_rdf2str(rdf);
    std::string out = s ? s : "";
    std::free(s);
    return out;
  };
  auto rrText = [](const ldns_rr* rr) {
    char* s = ldns_rr2str(rr);
    std::string out = s ? s : "";
    std::free(s);
    while (!out.empty() && out.back() == '\n')
      out.pop_back();
    return out;
  };
  ldns_rr_list* q = ldns_pkt_question(pkt);
  r.questionCount = static_cast<int>(ldns_rr_list_rr_count(q));
  if (r.questionCount > 0) r.question = text(ldns_rr_owner(ldns_rr_list_rr(q, 0)));
  ldns_rr_list* an = ldns_pkt_answer(pkt);
  for (size_t i = 0; i < ldns_rr_list_rr_count(an); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(an, i);
    r.answer.push_back(rrText(rr));
    r.answerOwners.push_back(text(ldns_rr_owner(rr)));
    r.answerTtls.push_back(ldns_rr_ttl(rr));
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A) r.a.push_back(text(ldns_rr_rdf(rr, 0)));
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT) {
      std::string joined;
      std::vector<std::string> parts;
      for (size_t k = 0; k < ldns_rr_rd_count(rr); ++k) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, k);
        const uint8_t* d = ldns_rdf_data(rdf);
        std::string part(reinterpret_cast<const char*>(d + 1), d[0]);
        parts.push_back(part);
        joined += part;
      }
      r.txt.push_back(joined);
      r.txtStrings.push_back(parts);
    }
  }
  ldns_rr_list* au = ldns_pkt_authority(pkt);
  for (size_t i = 0; i < ldns_rr_list_rr_count(au); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(au, i);
    r.authority.push_back(rrText(rr));
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
      ++r.authoritySoa;
      r.authoritySoaTtl = ldns_rr_ttl(rr);
    }
  }
  // ldns folds the OPT record into the packet's EDNS fields; count OPT records by hand.
  if (wire.size() >= 12) {
    uint16_t arcount = static_cast<uint16_t>(wire[10] << 8 | wire[11]);
    size_t extra = ldns_rr_list_rr_count(ldns_pkt_additional(pkt));
    r.optCount = static_cast<int>(arcount - extra);
  }
  ldns_pkt_free(pkt);
  return r;
}

std::optional<std::vector<uint8_t>> udpExchange(uint16_t port, const std::vector<uint8_t>& query,
                                                std::chrono::milliseconds timeout,
                                                const std::string& source) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (!source.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
  }
  auto sa = loopback(port);
  ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::send(fd, query.data(), query.size(), 0);
  std::optional<std::vector<uint8_t>> out;
  auto deadline = Clock::now() + timeout;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, remainingMs(deadline)) > 0) {
    std::vector<uint8_t> buf(65536);
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      out = std::move(buf);
    }
  }
  ::close(fd);
  return out;
}

TcpClient::TcpClient(uint16_t port, int receiveBuffer) {
  d_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (receiveBuffer > 0)
    ::setsockopt(d_fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
  auto sa = loopback(port);
  if (::connect(d_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(d_fd);
    d_fd = -1;
  }
}

TcpClient::~TcpClient() {
  if (d_fd >= 0) ::close(d_fd);
}

bool TcpClient::send(const std::vector<uint8_t>& bytes) {
  if (d_fd < 0) return false;
  return ::send(d_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(bytes.size());
}

bool TcpClient::sendFramed(const std::vector<uint8_t>& m) {
  std::vector<uint8_t> framed = {static_cast<uint8_t>(m.size() >> 8),
                                 static_cast<uint8_t>(m.size())};
  framed.insert(framed.end(), m.begin(), m.end());
  return send(framed);
}

std::optional<std::vector<uint8_t>> TcpClient::receive(std::chrono::milliseconds timeout) {
  if (d_fd < 0) return std::nullopt;
  auto deadline = Clock::now() + timeout;
  uint8_t len[2];
  if (!readExact(d_fd, len, 2, deadline)) return std::nullopt;
  std::vector<uint8_t> msg(static_cast<size_t>(len[0] << 8 | len[1]));
  if (!readExact(d_fd, msg.data(), msg.size(), deadline)) return std::nullopt;
  return msg;
}

bool TcpClient::closedWithin(std::chrono::milliseconds timeout) {
  if (d_fd < 0) return true;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd p{d_fd, POLLIN, 0};
    if (::poll(&p, 1, remainingMs(deadline)) <= 0) return false;
    char c;
    ssize_t n = ::recv(d_fd, &c, 1, 0);
    if (n <= 0) return true;
  }
}

std::optional<std::vector<uint8_t>> tcpExchange(uint16_t port, const std::vector<uint8_t>& query) {
  TcpClient c(port);
  if (!c.sendFramed(query)) return std::nullopt;
  return c.receive();
}

Reply udpQuery(uint16_t port, const std::string& name, uint16_t type, const QueryOptions& o) {
  auto r = udpExchange(port, makeQuery(name, type, o), std::chrono::milliseconds(2000), o.source);
  return r ? parseReply(*r) : Reply{};
}

Reply tcpQuery(uint16_t port, const std::string& name, uint16_t type, const QueryOptions& o) {
  auto r = tcpExchange(port, makeQuery(name, type, o));
  return r ? parseReply(*r) : Reply{};
}

} // namespace dnsxl::test
