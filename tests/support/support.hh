// Test support: temporary directories, running dnsxl/dnsxld, and a DNS client whose replies are
// parsed by ldns (an independent oracle), never by our own codec.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dnsxl::test {

class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return d_path; }
  std::filesystem::path operator/(const std::string& name) const { return d_path / name; }
  // Writes a file below the directory and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& content) const;

private:
  std::filesystem::path d_path;
};

struct RunResult {
  int status = -1; // exit status, or -signal
  std::string out, err;
};
// Runs a program to completion (no shell); env: NAME=VALUE added to its environment.
RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});

// One HTTP/1.1 GET (or HEAD) on 127.0.0.1:port with a new connection.
struct HttpResult {
  int status = 0; // 0: no response
  std::string headers, body;
};
HttpResult httpGet(uint16_t port, const std::string& target, const std::string& method = "GET");
// Any method, with a body (sent with contentType when not empty); a chunked reply is joined.
HttpResult httpRequest(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const std::string& contentType);

std::string dnsxlBinary();
std::string dnsxldBinary();

// A running dnsxld on 127.0.0.1 (port 0 → a free port); stopped with SIGTERM on destruction.
class Daemon {
public:
  // env: NAME=VALUE set for dnsxld (besides ours)
  explicit Daemon(const std::filesystem::path& config, std::vector<std::string> extraArgs = {},
                  std::vector<std::string> listen = {"127.0.0.1:0"},
                  std::vector<std::string> env = {});
  // dnsxld with rbldnsd's command line; waits for `addresses` listening lines.
  Daemon(const std::vector<std::string>& rbldnsdArgs, size_t addresses);
  // Another program that says "listening on ADDRESS:PORT" (dnsxl web).
  static std::unique_ptr<Daemon> program(const std::vector<std::string>& argv, size_t addresses);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  uint16_t port() const { return d_ports.at(0); }
  const std::vector<uint16_t>& ports() const { return d_ports; }
  // Sends SIGTERM and returns the exit status (0 for a clean stop).
  int stop();
  std::string stderrText() const { return d_err; }
  // Reads what dnsxld wrote to stderr so far (waits up to timeout for more).
  std::string readStderr(std::chrono::milliseconds timeout);
  int pid() const { return d_pid; }
  // The port of its [http] listener (from its "http on" line; waits up to 5 s for it).
  uint16_t httpPort();
  // Waits up to timeout for dnsxld to exit by itself; its exit status (or -signal), or nullopt.
  std::optional<int> waitExit(std::chrono::milliseconds timeout);

private:
  Daemon() = default;
  void start(const std::vector<std::string>& argv, size_t addresses,
             const std::vector<std::string>& env = {});
  int d_pid = -1;
  int d_errFd = -1;
  std::vector<uint16_t> d_ports;
  std::string d_err;
};

struct QueryOptions {
  bool edns = false;
  bool nsid = false; // ask for the server's NSID (RFC 5001; implies edns)
  uint16_t udpSize = 1232;
  uint8_t ednsVersion = 0;
  bool rd = false;
  uint16_t qclass = 1;
  uint16_t id = 0x1234;
  std::string source; // UDP: send from this local address (e.g. 127.0.0.5); empty = any
};
std::vector<uint8_t> makeQuery(const std::string& name, uint16_t type, const QueryOptions& o = {});

struct Reply {
  bool parsed = false;
  size_t size = 0;
  uint16_t id = 0;
  int rcode = -1; // including the extended RCODE from OPT
  int opcode = -1;
  bool qr = false, aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  std::string question; // owner name as received, with the case we got back
  int questionCount = 0;
  std::vector<std::string> a;   // A addresses, in answer order
  std::vector<std::string> txt; // each TXT record, strings concatenated
  std::vector<std::vector<std::string>> txtStrings;
  std::vector<std::string> answerOwners;
  std::vector<uint32_t> answerTtls;
  std::vector<std::string> answer;    // whole answer records as text
  std::vector<std::string> authority; // authority records as text
  int authoritySoa = 0;
  uint32_t authoritySoaTtl = 0;
  bool opt = false;
  int optCount = 0;
  uint16_t optUdpSize = 0;
  int ednsVersion = -1;
  bool hasNsid = false; // the OPT carried an NSID option
  std::string nsid;
};
Reply parseReply(const std::vector<uint8_t>& wire);

// One UDP exchange with 127.0.0.1:port; nullopt when no reply came within the timeout.
std::optional<std::vector<uint8_t>>
udpExchange(uint16_t port, const std::vector<uint8_t>& query,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(2000),
            const std::string& source = {});
// One TCP exchange on a new connection (2-byte framing).
std::optional<std::vector<uint8_t>> tcpExchange(uint16_t port, const std::vector<uint8_t>& query);

Reply udpQuery(uint16_t port, const std::string& name, uint16_t type, const QueryOptions& o = {});
Reply tcpQuery(uint16_t port, const std::string& name, uint16_t type, const QueryOptions& o = {});

// Another program run for an interop test (NSD, Knot): started with argv (stdout and stderr
// kept), stopped with SIGTERM on destruction.
class Process {
public:
  explicit Process(const std::vector<std::string>& argv);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // SIGTERM (SIGKILL after 10 s); its exit status (or -signal), also when it had ended before.
  int stop();
  // Sends sig and waits for it to end: its exit status, or -signal.
  int kill(int sig);
  // Waits for it to end by itself: its exit status, or -signal.
  int wait();
  // Whether it still runs; its output so far when it does not.
  bool running();
  std::string output();

private:
  int status(int waitStatus);
  int d_pid = -1;
  int d_fd = -1;
  int d_status = -1;
  std::string d_out;
};

// TSIG done by ldns, the independent implementation (RFC 8945).
// A query signed with hmac-sha256; mac receives its MAC (as ldns keeps it, for the next call).
std::vector<uint8_t> ldnsSignedQuery(const std::string& name, uint16_t type, const char* keyName,
                                     const char* secret, std::vector<uint8_t>& mac);
// Whether ldns accepts a reply's TSIG given the previous MAC (the request's for the first reply);
// timersOnly for the next messages of a transfer. next receives this reply's MAC.
bool ldnsVerifyTsig(const std::vector<uint8_t>& reply, const char* keyName, const char* secret,
                    const std::vector<uint8_t>& previousMac, bool timersOnly,
                    std::vector<uint8_t>& next);
struct TsigFields {
  int error = -1;
  size_t macSize = 0, otherSize = 0;
};
TsigFields tsigFields(const std::vector<uint8_t>& reply);

// The seed of a randomised test: $DNSXL_SEED when set (to replay a failure), else random.
uint32_t seed();

// A port free for UDP and TCP on 127.0.0.1 (for servers that cannot take port 0), picked at
// random below the kernel's ephemeral range, where no outgoing socket can take it first.
uint16_t freePort();
// Polls until the server on port answers a query for name (any rcode) or the time is up.
bool waitForAnswer(uint16_t port, const std::string& name, std::chrono::milliseconds timeout);

// A connected TCP client for pipelining and timeout tests.
class TcpClient {
public:
  // receiveBuffer: SO_RCVBUF before connecting (a slow reader's small window); 0 = default
  explicit TcpClient(uint16_t port, int receiveBuffer = 0);
  ~TcpClient();
  bool send(const std::vector<uint8_t>& bytes); // raw bytes, caller frames
  bool sendFramed(const std::vector<uint8_t>& message);
  // Reads one framed message; nullopt on EOF or timeout.
  std::optional<std::vector<uint8_t>>
  receive(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  // True if the server closed the connection within the timeout.
  bool closedWithin(std::chrono::milliseconds timeout);
  bool connected() const { return d_fd >= 0; }

private:
  int d_fd = -1;
};

} // namespace dnsxl::test
