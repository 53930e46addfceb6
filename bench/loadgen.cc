// A lean DNS load generator for loopback runs (dnsperf saturates its core first on this class of
// machine). One UDP socket, sendmmsg/recvmmsg, queries from a dnsperf-style file ("name TYPE").
//   closed loop (default): keeps -c queries in flight for -l seconds;
//   open loop (-Q RATE):   sends RATE queries per second whatever comes back;
//   --first-answer:        one query every millisecond until one is answered (started before
//                          the server, it times the server's start); prints when, in
//                          CLOCK_REALTIME ns, and the ms since --since-ns if given.
// Bounded in count (-n) and time (-l); a query unanswered after -t ms counts as lost. With
// --pid it reads the server's CPU time (all threads, /proc/PID/task/*/schedstat) over the
// measured window. Prints one line of key=value pairs; with --series MS also one line per MS
// milliseconds of the window to stderr (answered, lost, p50/p99/max latency, server CPU share), to
// see when during a run (an import, a reload) the latency moved.
#include "bench/queries.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <dirent.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string server = "127.0.0.1";
  int port = 53;
  std::string file;
  unsigned inFlight = 100;
  double seconds = 5;
  double warmup = 1;
  uint64_t maxQueries = 100000000;
  double rate = 0; // open loop when > 0
  unsigned timeoutMs = 100;
  int pid = 0;
  bool firstAnswer = false;
  int64_t sinceNs = 0;
  bool edns = false;
  unsigned seriesMs = 0; // per-interval lines on stderr when > 0
};

[[noreturn]] void usage(const char* what) {
  std::fprintf(stderr,
               "dnsxl_loadgen: %s\nusage: dnsxl_loadgen -s ADDR -p PORT -d FILE [-c INFLIGHT] "
               "[-l SECONDS] [-w WARMUP] [-n MAX] [-Q RATE] [-t TIMEOUT_MS] [--pid PID] [--edns]\n"
               "       [--series MS]\n"
               "       dnsxl_loadgen --first-answer -s ADDR -p PORT -d FILE [--since-ns NS] "
               "[-l SECONDS]\n",
               what);
  std::exit(2);
}

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i)
    try {
      std::string k = argv[i];
      auto val = [&]() -> std::string {
        if (i + 1 >= argc) usage(("missing value for " + k).c_str());
        return argv[++i];
      };
      if (k == "-s")
        a.server = val();
      else if (k == "-p")
        a.port = std::stoi(val());
      else if (k == "-d")
        a.file = val();
      else if (k == "-c")
        a.inFlight = static_cast<unsigned>(std::stoul(val()));
      else if (k == "-l")
        a.seconds = std::stod(val());
      else if (k == "-w")
        a.warmup = std::stod(val());
      else if (k == "-n")
        a.maxQueries = std::stoull(val());
      else if (k == "-Q")
        a.rate = std::stod(val());
      else if (k == "-t")
        a.timeoutMs = static_cast<unsigned>(std::stoul(val()));
      else if (k == "--pid")
        a.pid = std::stoi(val());
      else if (k == "--first-answer")
        a.firstAnswer = true;
      else if (k == "--since-ns")
        a.sinceNs = std::stoll(val());
      else if (k == "--edns")
        a.edns = true;
      else if (k == "--series")
        a.seriesMs = static_cast<unsigned>(std::stoul(val()));
      else
        usage(("unknown option " + k).c_str());
    } catch (const std::logic_error&) { // std::stoi and friends: not a number, or out of range
      usage((std::string("not a number for ") + argv[i - 1]).c_str());
    }
  if (a.port < 1 || a.port > 65535) usage("-p must be 1..65535");
  if (a.file.empty()) usage("no query file (-d)");
  if (a.inFlight == 0 || a.inFlight > 30000) usage("-c must be 1..30000");
  if (a.seriesMs > 0 && a.seriesMs < 10) usage("--series must be at least 10 ms");
  return a;
}

// Server CPU time in ns: the sum over its threads (first field of each task's schedstat).
int64_t serverCpuNs(int pid) {
  if (!pid) return 0;
  int64_t total = 0;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(dir + "/" + e->d_name + "/schedstat");
    int64_t ns = 0;
    if (f >> ns) total += ns;
  }
  closedir(d);
  return total;
}

int openSocket(const Args& a) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(a.port));
  if (inet_pton(AF_INET, a.server.c_str(), &sa.sin_addr) != 1) usage("-s: not an IPv4 address");
  const uint32_t addr = ntohl(sa.sin_addr.s_addr);
  if (addr >> 24 != 127) usage("-s: loopback only (127.0.0.0/8)");
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) usage("socket failed");
  // Room for bursts: past net.core.rmem_max when allowed (root), else what the kernel permits.
  int buf = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) usage("connect failed");
  return fd;
}

constexpr size_t kBatch = 64;

// SIGINT/SIGTERM end the measured window early (the results are still printed): a script can
// measure exactly while something else runs.
volatile std::sig_atomic_t stopRequested = 0;
void requestStop(int) {
  stopRequested = 1;
}

struct Load {
  Load(const Args& a, const std::vector<std::vector<uint8_t>>& q, int f)
      : args(a), queries(q), fd(f) {}
  const Args& args;
  const std::vector<std::vector<uint8_t>>& queries;
  int fd;
  // Outstanding queries by ID: the sequence number sent under it (0 = free) and when.
  std::vector<uint64_t> seqOf = std::vector<uint64_t>(65536, 0);
  std::vector<Clock::time_point> sentAt = std::vector<Clock::time_point>(65536);
  std::deque<std::pair<uint64_t, uint16_t>> order; // (seq, id) in sending order, for timeouts
  uint64_t nextSeq = 1;
  uint16_t nextId = 0;
  size_t nextQuery = 0;
  unsigned outstanding = 0;
  bool measuring = false;
  uint64_t firstMeasuredSeq = UINT64_MAX; // queries sent from then on count for loss
  uint64_t sent = 0, answered = 0, lost = 0, unexpected = 0;
  uint64_t rcodes[16] = {};
  std::vector<uint32_t> latencyNs;
  // --series: when each measured answer arrived and when each lost query was sent (ms into the
  // window), and the server's CPU ns at each interval's start
  Clock::time_point windowStart;
  std::vector<uint32_t> answeredAtMs, lostAtMs;
  std::vector<int64_t> cpuAtInterval;
  std::vector<std::vector<uint8_t>> outBufs = std::vector<std::vector<uint8_t>>(kBatch);
  std::vector<std::vector<uint8_t>> inBufs =
      std::vector<std::vector<uint8_t>>(kBatch, std::vector<uint8_t>(4096));

  // Sends up to n queries; returns how many went out.
  size_t send(size_t n) {
    n = std::min(n, kBatch);
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    uint16_t ids[kBatch];
    size_t k = 0;
    for (; k < n; ++k) {
      uint16_t id = nextId;
      while (seqOf[id]) // skip IDs still outstanding
        ++id;
      nextId = static_cast<uint16_t>(id + 1);
      ids[k] = id;
      auto& b = outBufs[k];
      b = queries[nextQuery];
      nextQuery = (nextQuery + 1) % queries.size();
      b[0] = static_cast<uint8_t>(id >> 8);
      b[1] = static_cast<uint8_t>(id);
      iov[k] = {b.data(), b.size()};
      msgs[k] = {};
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    const int r = sendmmsg(fd, msgs, static_cast<unsigned>(k), 0);
    if (r <= 0) return 0;
    const auto now = Clock::now();
    for (int i = 0; i < r; ++i) {
      seqOf[ids[i]] = nextSeq;
      sentAt[ids[i]] = now;
      order.emplace_back(nextSeq++, ids[i]);
      ++outstanding;
      if (measuring) ++sent;
    }
    return static_cast<size_t>(r);
  }

  // Reads what has arrived; returns the number of replies matched.
  size_t receive() {
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {inBufs[i].data(), inBufs[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int r = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (r <= 0) return 0;
    const auto now = Clock::now();
    size_t matched = 0;
    for (int i = 0; i < r; ++i) {
      const auto& b = inBufs[static_cast<size_t>(i)];
      if (msgs[i].msg_len < 12 || !(b[2] & 0x80)) {
        ++unexpected;
        continue;
      }
      const uint16_t id = static_cast<uint16_t>(b[0] << 8 | b[1]);
      if (!seqOf[id]) {
        ++unexpected; // late (already counted lost) or not ours
        continue;
      }
      seqOf[id] = 0;
      --outstanding;
      ++matched;
      if (measuring) {
        ++answered;
        ++rcodes[b[3] & 15];
        latencyNs.push_back(static_cast<uint32_t>(
            std::min<int64_t>(UINT32_MAX, (now - sentAt[id]) / std::chrono::nanoseconds(1))));
        if (args.seriesMs) answeredAtMs.push_back(msInto(now));
      }
    }
    return matched;
  }

  // Frees the IDs of queries older than the timeout (lost); drops answered ones from the queue.
  void expire(Clock::time_point now) {
    const auto limit = std::chrono::milliseconds(args.timeoutMs);
    while (!order.empty()) {
      const auto [seq, id] = order.front();
      if (seqOf[id] != seq) {
        order.pop_front(); // answered
        continue;
      }
      if (now - sentAt[id] < limit) break;
      seqOf[id] = 0;
      --outstanding;
      if (measuring && seq >= firstMeasuredSeq) {
        ++lost;
        if (args.seriesMs) lostAtMs.push_back(msInto(sentAt[id]));
      }
      order.pop_front();
    }
  }

  uint32_t msInto(Clock::time_point t) const {
    return t < windowStart
               ? 0
               : static_cast<uint32_t>((t - windowStart) / std::chrono::milliseconds(1));
  }
};

double percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k] / 1000.0;
}

// --series: one stderr line per interval of the measured window, before the percentiles reorder
// the latencies.
void printSeries(const Load& l, Clock::time_point end) {
  const unsigned ms = l.args.seriesMs;
  const size_t n = std::max<size_t>(1, (l.msInto(end) + ms - 1) / ms);
  std::vector<std::vector<uint32_t>> lat(n);
  for (size_t i = 0; i < l.latencyNs.size(); ++i)
    lat[std::min(n - 1, size_t{l.answeredAtMs[i] / ms})].push_back(l.latencyNs[i]);
  std::vector<uint64_t> lost(n);
  for (uint32_t t : l.lostAtMs)
    ++lost[std::min(n - 1, size_t{t / ms})];
  for (size_t i = 0; i < n; ++i) {
    auto& v = lat[i];
    const double p50 = percentile(v, 0.50), p99 = percentile(v, 0.99);
    const double max = v.empty() ? 0 : *std::max_element(v.begin(), v.end()) / 1000.0;
    // the server's CPU share of the interval, from the samples taken at interval starts
    double cpu = -1;
    if (l.args.pid && i + 1 < l.cpuAtInterval.size())
      cpu = 100.0 * static_cast<double>(l.cpuAtInterval[i + 1] - l.cpuAtInterval[i]) / 1e6 / ms;
    std::fprintf(stderr,
                 "t_ms=%zu answered=%zu lost=%llu p50_us=%.1f p99_us=%.1f max_us=%.1f "
                 "server_cpu_pct=%.0f\n",
                 i * ms, v.size(), static_cast<unsigned long long>(lost[i]), p50, p99, max, cpu);
  }
}

int firstAnswer(const Args& a, const std::vector<std::vector<uint8_t>>& queries) {
  const int fd = openSocket(a);
  Load l(a, queries, fd);
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(a.seconds));
  while (Clock::now() < end) {
    l.send(1);
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1) > 0 && l.receive()) {
      timespec ts{};
      clock_gettime(CLOCK_REALTIME, &ts);
      const int64_t now = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
      if (a.sinceNs)
        std::printf("first_answer_ms=%.1f ", static_cast<double>(now - a.sinceNs) / 1e6);
      std::printf("first_answer_at_ns=%lld\n", static_cast<long long>(now));
      return 0;
    }
    l.expire(Clock::now());
  }
  std::printf("first_answer_ms=none\n");
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  const Args a = parseArgs(argc, argv);
  std::string err;
  // --first-answer times a server's start: a few queries, read in no time
  const auto queries =
      dnsxl::bench::loadQueries(a.file, a.edns, err, a.firstAnswer ? 16 : SIZE_MAX);
  if (queries.empty()) usage(err.c_str());
  if (a.firstAnswer) return firstAnswer(a, queries);
  const int fd = openSocket(a);
  std::signal(SIGINT, requestStop);
  std::signal(SIGTERM, requestStop);
  Load l(a, queries, fd);
  l.latencyNs.reserve(static_cast<size_t>(a.seconds * 400000));

  const auto start = Clock::now();
  const auto measureFrom =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.warmup));
  const auto end = measureFrom + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(a.seconds));
  int64_t cpu0 = 0;
  Clock::time_point t0 = measureFrom, lastSendCheck = start;
  double openSent = 0; // open loop: queries due so far (fractional)
  uint64_t total = 0;
  for (;;) {
    auto now = Clock::now();
    if (!l.measuring && now >= measureFrom) {
      l.measuring = true;
      l.firstMeasuredSeq = l.nextSeq;
      cpu0 = serverCpuNs(a.pid);
      t0 = l.windowStart = now;
      if (a.seriesMs) l.cpuAtInterval.push_back(cpu0);
    }
    if (l.measuring && a.seriesMs &&
        now - t0 >= std::chrono::milliseconds(a.seriesMs) * l.cpuAtInterval.size())
      l.cpuAtInterval.push_back(serverCpuNs(a.pid));
    if (now >= end || total >= a.maxQueries || stopRequested) break;
    if (a.rate > 0) {
      openSent += a.rate * std::chrono::duration<double>(now - lastSendCheck).count();
      lastSendCheck = now;
      while (openSent >= 1 && l.outstanding < 60000) {
        const size_t n = l.send(static_cast<size_t>(std::min(openSent, double(kBatch))));
        if (!n) break;
        openSent -= static_cast<double>(n);
        total += n;
      }
      if (openSent > kBatch * 4) openSent = kBatch * 4; // the socket pushed back: do not burst
    } else {
      while (l.outstanding < a.inFlight) {
        const size_t n = l.send(a.inFlight - l.outstanding);
        if (!n) break;
        total += n;
      }
    }
    pollfd p{fd, POLLIN, 0};
    timespec wait{0, a.rate > 0 ? 20000 : 1000000};
    if (ppoll(&p, 1, &wait, nullptr) > 0)
      while (l.receive()) {
      }
    l.expire(Clock::now());
  }
  const auto t1 = Clock::now();
  const int64_t cpu1 = serverCpuNs(a.pid);
  const uint64_t answeredInWindow = l.answered;
  // Collect what is still on its way, without counting new loss for the drain.
  const auto drainEnd = Clock::now() + std::chrono::milliseconds(a.timeoutMs);
  while (l.outstanding && Clock::now() < drainEnd) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1) > 0) l.receive();
  }
  for (const auto& [seq, id] : l.order) // unanswered after the drain
    if (l.seqOf[id] == seq && seq >= l.firstMeasuredSeq) {
      ++l.lost;
      if (a.seriesMs) l.lostAtMs.push_back(l.msInto(l.sentAt[id]));
    }
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  const double qps = static_cast<double>(answeredInWindow) / secs;
  const double cpuUs = a.pid && answeredInWindow ? static_cast<double>(cpu1 - cpu0) / 1e3 /
                                                       static_cast<double>(answeredInWindow)
                                                 : 0;
  if (a.seriesMs) printSeries(l, t1);
  const double p50 = percentile(l.latencyNs, 0.50), p99 = percentile(l.latencyNs, 0.99),
               p999 = percentile(l.latencyNs, 0.999);
  std::printf("qps=%.0f sent=%llu answered=%llu lost=%llu loss_pct=%.3f p50_us=%.1f p99_us=%.1f "
              "p999_us=%.1f cpu_us_per_q=%.3f noerror=%llu nxdomain=%llu other=%llu\n",
              qps, static_cast<unsigned long long>(l.sent),
              static_cast<unsigned long long>(l.answered), static_cast<unsigned long long>(l.lost),
              l.sent ? 100.0 * static_cast<double>(l.lost) / static_cast<double>(l.sent) : 0.0, p50,
              p99, p999, cpuUs, static_cast<unsigned long long>(l.rcodes[0]),
              static_cast<unsigned long long>(l.rcodes[3]),
              static_cast<unsigned long long>(l.answered - l.rcodes[0] - l.rcodes[3]));
  close(fd);
}
