#include "server/rbldnsd_mode.hh"

#include "server/rbldnsd_cli.hh"
#include "server/serve.hh"

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <fstream>
#include <grp.h>
#include <map>
#include <mutex>
#include <netdb.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace dnsxl {

namespace {

namespace fs = std::filesystem;

std::string dnsxlProgram() {
  if (const char* env = std::getenv("DNSXL_BIN")) return env;
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("dnsxl") : (self.parent_path() / "dnsxl").string();
}

// Runs `dnsxl import --config FILE --quiet`; its errors (file:line: reason) go to our stderr.
bool runImport(const fs::path& config) {
  std::string prog = dnsxlProgram();
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string cfg = config.string();
    const char* argv[] = {prog.c_str(), "import", "--config", cfg.c_str(), "--quiet", nullptr};
    ::execvp(argv[0], const_cast<char* const*>(argv));
    fmt::print(stderr, "dnsxld: cannot run {}: {}\n", prog, std::strerror(errno));
    ::_exit(127);
  }
  if (pid < 0) return false;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A fingerprint of the content of every data file (FNV-1a), so that an edit is seen even when
// it keeps the size and the modification time (rbldnsd only compares those).
uint64_t fingerprint(const std::vector<fs::path>& files) {
  uint64_t h = 1469598103934665603ULL;
  std::vector<char> buf(1 << 16);
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) h = (h ^ 0xff) * 1099511628211ULL; // a missing file counts as a change too
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      for (std::streamsize i = 0; i < in.gcount(); ++i)
        h = (h ^ static_cast<unsigned char>(buf[static_cast<size_t>(i)])) * 1099511628211ULL;
    }
    for (char c : f.string())
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  return h;
}

std::vector<fs::path> dataFiles(const rbldnsd::CommandLine& cl) {
  std::vector<fs::path> out;
  for (const auto& f : cl.globalAcl)
    out.push_back(rbldnsd::resolve(cl, f));
  auto dir = rbldnsd::dataDir(cl);
  for (const auto& z : cl.zones)
    for (const auto& d : z.datasets)
      for (const auto& f : d.files) {
        fs::path p(f);
        if (!cl.root.empty() && p.is_absolute()) p = fs::path(cl.root) / p.relative_path();
        out.push_back(p.is_relative() ? dir / p : p);
      }
  return out;
}

// -b host[/port]: numeric addresses (inet_aton forms like 127.2 included) or a name.
std::vector<net::ListenAddress> resolve(const rbldnsd::Bind& b, std::string& error) {
  std::vector<net::ListenAddress> out;
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET6, b.address.c_str(), &a6) == 1 ||
      inet_pton(AF_INET, b.address.c_str(), &a4) == 1) {
    out.push_back({b.address, b.port});
  } else if (inet_aton(b.address.c_str(), &a4) != 0) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a4, text, sizeof text);
    out.push_back({text, b.port});
  } else {
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(b.address.c_str(), nullptr, &hints, &res); rc != 0) {
      error = fmt::format("-b {}: {}", b.address, gai_strerror(rc));
      return out;
    }
    for (auto* ai = res; ai; ai = ai->ai_next) {
      char text[INET6_ADDRSTRLEN];
      const void* addr =
          ai->ai_family == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
              : &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr;
      inet_ntop(ai->ai_family, addr, text, sizeof text);
      bool dup = false;
      for (const auto& o : out)
        dup = dup || o.address == text;
      if (!dup) out.push_back({text, b.port});
    }
    freeaddrinfo(res);
  }
  return out;
}

bool dropPrivileges(const std::string& spec, const fs::path& stateDir, std::string& error,
                    bool chownState) {
  std::string user = spec, groupName;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    user = spec.substr(0, colon);
    groupName = spec.substr(colon + 1);
  }
  uid_t uid;
  gid_t gid;
  if (const passwd* pw = ::getpwnam(user.c_str())) {
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  } else if (!user.empty() && user.find_first_not_of("0123456789") == std::string::npos) {
    uid = static_cast<uid_t>(std::stoul(user));
    gid = static_cast<gid_t>(uid);
  } else {
    error = "-u " + spec + ": no such user";
    return false;
  }
  if (!groupName.empty()) {
    if (const ::group* gr = ::getgrnam(groupName.c_str()))
      gid = gr->gr_gid;
    else if (groupName.find_first_not_of("0123456789") == std::string::npos)
      gid = static_cast<gid_t>(std::stoul(groupName));
    else {
      error = "-u " + spec + ": no such group";
      return false;
    }
  }
  // The re-imports run as that user: the private store must be theirs.
  std::error_code ec;
  if (chownState)
    for (auto it = fs::recursive_directory_iterator(stateDir, ec);
         !ec && it != fs::recursive_directory_iterator(); ++it)
      if (::chown(it->path().c_str(), uid, gid) != 0) break;
  if ((chownState && ::chown(stateDir.c_str(), uid, gid) != 0) || ::setgroups(0, nullptr) != 0 ||
      ::setgid(gid) != 0 || ::setuid(uid) != 0) {
    error = fmt::format("-u {}: cannot switch user: {}", spec, std::strerror(errno));
    return false;
  }
  return true;
}

class Watcher {
public:
  Watcher(std::vector<fs::path> files, fs::path config, uint32_t interval)
      : d_files(std::move(files)), d_config(std::move(config)), d_interval(interval),
        d_last(fingerprint(d_files)) {}

  void start() {
    d_thread = std::thread([this] { loop(); });
  }
  // Also called every interval (before the check), from the watcher thread.
  void onTick(std::function<void()> tick) { d_tick = std::move(tick); }
  void poke() {
    std::lock_guard lock(d_mutex);
    d_poked = true;
    d_cv.notify_one();
  }
  void stop() {
    {
      std::lock_guard lock(d_mutex);
      d_stopped = true;
      d_cv.notify_one();
    }
    if (d_thread.joinable()) d_thread.join();
  }

private:
  void loop() {
    std::unique_lock lock(d_mutex);
    for (;;) {
      if (d_interval == 0)
        d_cv.wait(lock, [&] { return d_stopped || d_poked; });
      else
        d_cv.wait_for(lock, std::chrono::seconds(d_interval), [&] { return d_stopped || d_poked; });
      if (d_stopped) return;
      d_poked = false;
      lock.unlock();
      if (d_tick) d_tick();
      check();
      lock.lock();
    }
  }

  void check() {
    uint64_t now = fingerprint(d_files);
    if (now == d_last) return;
    auto started = std::chrono::steady_clock::now();
    if (runImport(d_config)) {
      d_last = now;
      fmt::print(stderr, "dnsxld: data changed; re-imported in {:.2f} s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    } else {
      // Keep d_last: the next check tries again (the files may be half-written).
      fmt::print(stderr, "dnsxld: re-import refused (see above); still serving the last good "
                         "data\n");
    }
  }

  std::vector<fs::path> d_files;
  fs::path d_config;
  uint32_t d_interval;
  uint64_t d_last;
  std::mutex d_mutex;
  std::condition_variable d_cv;
  bool d_poked = false, d_stopped = false;
  std::thread d_thread;
  std::function<void()> d_tick;
};

// rbldnsd's counters. The statistics file (-s): "<time> <zone>:<tot>:<ok>:<nxd>:<in>:<out> ...
// *:<...>" every check interval, on SIGUSR1/SIGUSR2 and at exit, absolute counters (or deltas
// with -s +file); a bare timestamp line marks the start, a reset and the end. The log lines of
// SIGUSR1 (and SIGUSR2, which then resets the counters) and of the exit:
// "stats for 168secs zone bl.test: tot=158 ok=115 nxd=39 err=4 in=5511 out=17912" per zone and
// "stats for 168sec: tot=..." for every query.
class Counters {
public:
  Counters(std::string path, bool deltas) : d_path(std::move(path)), d_deltas(deltas) {}
  void attach(net::Server* server) {
    std::lock_guard lock(d_mutex);
    d_server = server;
    d_since = std::time(nullptr);
    d_base.clear();
    d_last.clear();
  }
  void mark() {
    std::lock_guard lock(d_mutex);
    append(fmt::format("{}\n", std::time(nullptr)));
  }
  void write() {
    std::lock_guard lock(d_mutex);
    if (!d_server || d_path.empty()) return;
    auto now = current();
    std::string line = fmt::format("{}", std::time(nullptr));
    auto field = [&](const std::string& name, answer::ZoneStats s) {
      if (d_deltas) s = minus(s, d_last[name]);
      line += fmt::format(" {}:{}:{}:{}:{}:{}", name, s.tot, s.ok, s.nxd, s.in, s.out);
    };
    for (const auto& [name, s] : now)
      if (name != "*" && !name.empty()) field(name, s); // "": queries of no zone
    field("*", now["*"]);
    d_last = now;
    append(line + "\n");
  }
  void log(bool reset) {
    std::lock_guard lock(d_mutex);
    if (!d_server) return;
    const auto t = std::time(nullptr);
    auto now = current();
    auto line = [](const answer::ZoneStats& s) {
      return fmt::format("tot={} ok={} nxd={} err={} in={} out={}", s.tot, s.ok, s.nxd, s.err, s.in,
                         s.out);
    };
    std::string text;
    for (const auto& [name, s] : now)
      if (name != "*" && !name.empty())
        text += fmt::format("dnsxld: stats for {}secs zone {}: {}\n", t - d_since, name, line(s));
    text += fmt::format("dnsxld: stats for {}sec: {}\n", t - d_since, line(now["*"]));
    fmt::print(stderr, "{}", text);
    if (reset) {
      d_base = d_server->stats();
      d_last.clear();
      d_since = t;
      append(fmt::format("{}\n", t));
    }
  }

private:
  static answer::ZoneStats minus(const answer::ZoneStats& a, const answer::ZoneStats& b) {
    answer::ZoneStats d;
    d.tot = a.tot - b.tot, d.ok = a.ok - b.ok, d.nxd = a.nxd - b.nxd, d.err = a.err - b.err;
    d.in = a.in - b.in, d.out = a.out - b.out;
    return d;
  }
  std::map<std::string, answer::ZoneStats> current() {
    auto now = d_server->stats();
    for (auto& [name, s] : now)
      s = minus(s, d_base[name]);
    return now;
  }
  void append(const std::string& text) {
    if (d_path.empty()) return;
    std::ofstream out(d_path, std::ios::app);
    out << text;
  }

  std::mutex d_mutex;
  std::string d_path;
  bool d_deltas;
  net::Server* d_server = nullptr;
  time_t d_since = 0;
  std::map<std::string, answer::ZoneStats> d_base, d_last;
};

// rbldnsd's command line, or the exit status when there is nothing to serve (usage, an error).
std::variant<rbldnsd::CommandLine, int> commandLine(const std::vector<std::string>& args) {
  auto parsed = rbldnsd::parse(args);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    if (*err == "usage") {
      fmt::print("usage: dnsxld [options] zone:type:file[,file...] ... (rbldnsd's command line)\n"
                 "dataset types: ip4set ip4tset ip4trie ip6trie ip6tset dnset\n"
                 "or: dnsxld --config FILE (see dnsxld --help)\n");
      return 0;
    }
    fmt::print(stderr, "dnsxld: {}\n", *err);
    return 2;
  }
  auto cl = std::get<rbldnsd::CommandLine>(parsed);
  for (const auto& n : cl.notes)
    fmt::print(stderr, "dnsxld: note: {}\n", n);
  return cl;
}

// The -b addresses, resolved; the same address twice is bound once, as in rbldnsd.
bool listenAddresses(const rbldnsd::CommandLine& cl, net::Options& opt) {
  for (const auto& b : cl.binds) {
    std::string error;
    auto addrs = resolve(b, error);
    if (!error.empty()) {
      fmt::print(stderr, "dnsxld: {}\n", error);
      return false;
    }
    for (auto& a : addrs) {
      bool dup = false;
      for (const auto& o : opt.listen)
        dup = dup || (o.address == a.address && o.port == a.port);
      if (!dup) opt.listen.push_back(a);
    }
  }
  return true;
}

// With -r: the helper process outside the root, which watches the data files and re-imports
// them (it runs the dnsxl program) until the server goes; SIGHUP checks the files at once.
[[noreturn]] void helperProcess(const rbldnsd::CommandLine& cl, const fs::path& state,
                                Watcher& watcher) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM); // blocked here: sigwait below takes it
  std::string failure;
  if (!cl.user.empty() && !dropPrivileges(cl.user, state, failure, true)) {
    fmt::print(stderr, "dnsxld: {}\n", failure);
    ::_exit(1);
  }
  watcher.start();
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int sig : {SIGHUP, SIGTERM, SIGINT})
    sigaddset(&sigs, sig);
  for (int sig = 0; sigwait(&sigs, &sig) == 0 && sig == SIGHUP;)
    watcher.poke();
  watcher.stop();
  std::error_code ec;
  fs::remove_all(state, ec);
  if (!cl.pidfile.empty()) fs::remove(cl.pidfile, ec);
  ::_exit(0);
}

// The server process once it listens: pid file, chroot (-r), privileges (-u), the query log
// and statistics (their paths inside the root, as rbldnsd has them), the file watcher.
void startServing(const rbldnsd::CommandLine& cl, const fs::path& state, bool helper,
                  net::Options& opt, std::string& pidfileToRemove) {
  std::string failure;
  if (!cl.pidfile.empty()) {
    std::ofstream(cl.pidfile) << ::getpid() << "\n";
    if (!helper) pidfileToRemove = cl.pidfile;
  }
  if (!cl.root.empty() && (::chroot(cl.root.c_str()) != 0 || ::chdir("/") != 0)) {
    fmt::print(stderr, "dnsxld: -r {}: cannot chroot: {}\n", cl.root, std::strerror(errno));
    std::exit(1);
  }
  if (!cl.user.empty() && !dropPrivileges(cl.user, state, failure, !helper)) {
    fmt::print(stderr, "dnsxld: {}\n", failure);
    std::exit(1);
  }
  if (opt.queryLog && !opt.queryLog->open()) {
    fmt::print(stderr, "dnsxld: -l {}: {}\n", cl.logfile, std::strerror(errno));
    std::exit(1);
  }
}

// A private state directory (in $TMPDIR): the generated config and the store.
std::optional<fs::path> stateDirectory() {
  std::string tmpl =
      (fs::path(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") / "dnsxld-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    fmt::print(stderr, "dnsxld: cannot create a state directory in {}: {}\n", tmpl,
               std::strerror(errno));
    return std::nullopt;
  }
  return fs::path(tmpl);
}

// The first import of the data: refused data ends the start (rbldnsd exits too).
bool firstLoad(const rbldnsd::CommandLine& cl, const fs::path& config) {
  const auto started = std::chrono::steady_clock::now();
  if (!runImport(config)) {
    fmt::print(stderr, "dnsxld: the data could not be loaded (see above)\n");
    return false;
  }
  size_t datasets = 0;
  for (const auto& z : cl.zones)
    datasets += z.datasets.size();
  fmt::print(stderr, "dnsxld: {} zones, {} datasets loaded in {:.2f} s\n", cl.zones.size(),
             datasets,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return true;
}

} // namespace

int runRbldnsdMode(const std::vector<std::string>& args, const std::string& version) {
  auto parsed = commandLine(args);
  if (const int* status = std::get_if<int>(&parsed)) return *status;
  const auto& cl = std::get<rbldnsd::CommandLine>(parsed);
  net::Options opt;
  if (!listenAddresses(cl, opt)) return 1;
  opt.workers = 0;
  opt.answer.version = cl.verbose == 0 ? "dnsxl " + version : cl.verbose == 1 ? "dnsxl" : "";

  const auto made = stateDirectory();
  if (!made) return 1;
  const fs::path state = *made;
  struct Cleanup {
    fs::path dir;
    std::string pidfile;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
      if (!pidfile.empty()) fs::remove(pidfile, ec);
    }
  } cleanup{state, {}};
  const fs::path config = state / "dnsxl.toml";
  std::ofstream(config) << rbldnsd::toToml(cl, state / "store", opt.answer.version);

  if (!firstLoad(cl, config)) return 1;

  if (!cl.logfile.empty())
    opt.queryLog = std::make_shared<net::QueryLog>(cl.logfile, cl.logUnbuffered);
  Watcher watcher(dataFiles(cl), config, cl.checkInterval);
  Watcher ticker({}, config, cl.checkInterval); // the -s statistics, in the serving process
  Counters counters(cl.statsfile, cl.statsDeltas);

  // With -r the serving process chroots into the data root. The data files are watched and
  // re-imported by a helper process that stays outside (it runs the dnsxl program); the server
  // keeps the store it opened before the chroot and sees every new commit.
  pid_t helper = 0;
  if (!cl.root.empty()) {
    helper = ::fork();
    if (helper < 0) {
      fmt::print(stderr, "dnsxld: fork: {}\n", std::strerror(errno));
      return 1;
    }
    if (helper == 0) helperProcess(cl, state, watcher);
    cleanup.dir.clear(); // the helper removes the state directory and the pid file
  }
  int status = 1;
  try {
    store::Env env(state / "store", {.readOnly = true});
    status = serve(
        env, opt,
        [&](net::Server& server) {
          startServing(cl, state, helper != 0, opt, cleanup.pidfile);
          counters.attach(&server);
          counters.mark();
          if (!cl.statsfile.empty()) {
            ticker.onTick([&counters] { counters.write(); });
            ticker.start();
          }
          if (!helper) watcher.start();
        },
        [&](int sig) {
          if (sig == SIGUSR1 || sig == SIGUSR2) {
            counters.write();
            counters.log(sig == SIGUSR2);
            return;
          }
          if (opt.queryLog) opt.queryLog->reopen();
          if (helper)
            ::kill(helper, SIGHUP);
          else
            watcher.poke();
        },
        [&](net::Server&) {
          ticker.stop(); // no tick may read the server from now on
          counters.log(false);
          counters.write();
          counters.mark();
          counters.attach(nullptr);
        });
  } catch (const std::exception& e) {
    fmt::print(stderr, "dnsxld: {}\n", e.what());
  }
  ticker.stop();
  watcher.stop();
  if (helper > 0) {
    ::kill(helper, SIGTERM);
    while (::waitpid(helper, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  return status;
}

} // namespace dnsxl
