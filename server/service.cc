#include "server/service.hh"

#include "server/log.hh"
#include "server/ops/http.hh"
#include "server/ops/metrics.hh"
#include "server/serve.hh"
#include "store/store.hh"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <thread>
#include <unistd.h>

namespace dnsxl::service {

std::optional<net::Options> serverOptions(const config::Config& cfg, const Args& args,
                                          std::string& error) {
  net::Options opt;
  if (!args.listen.empty()) {
    for (const auto& s : args.listen) {
      auto l = config::parseListen(s);
      if (!l) {
        error = fmt::format("--listen '{}' is not ADDRESS:PORT or [IPv6]:PORT", s);
        return std::nullopt;
      }
      opt.listen.push_back({l->address, l->port});
    }
  } else {
    for (const auto& l : cfg.server.listen)
      opt.listen.push_back({l.address, l.port});
  }
  opt.workers = args.workers ? *args.workers : cfg.server.workers;
  opt.tcpIdleTimeoutMs = cfg.server.tcpIdleTimeoutMs;
  opt.tcpMaxConnections = cfg.server.tcpMaxConnections;
  opt.tcpMaxPerClient = cfg.server.tcpMaxPerClient;
  opt.rrlPerSecond = cfg.server.rrlPerSecond;
  opt.rrlSlip = cfg.server.rrlSlip;
  opt.drainTimeoutMs = cfg.server.drainTimeoutMs;
  opt.answer.ednsUdpMax = cfg.server.ednsUdpMax;
  opt.answer.version = cfg.server.version;
  opt.answer.identity = cfg.server.identity;
  opt.answer.nsid = cfg.server.nsid;
  // The zones the config names; a config without zones (a mirror's) serves the store's.
  if (!cfg.zones.empty()) {
    opt.answer.zones.emplace();
    for (const auto& z : cfg.zones)
      opt.answer.zones->push_back(z.name);
  }
  auto answerOf = [](const config::Access& a) {
    return answer::AccessRule{answer::AccessAction::Answer, a.a, a.txt, a.ttl};
  };
  for (const auto& z : cfg.zones)
    if (z.keyed.on)
      opt.answer.keyed.push_back({z.name, answerOf(z.keyed.unknown), answerOf(z.keyed.overQuota)});
  for (const auto& z : cfg.zones) {
    if (z.access.empty()) continue;
    answer::ZoneAccess za;
    za.zone = z.name;
    for (const auto& rule : z.access) {
      const auto index = static_cast<uint16_t>(za.table.rules.size());
      answer::AccessRule ar;
      for (size_t i = 0; i < answer::kAccessActionNames.size(); ++i)
        if (rule.action == answer::kAccessActionNames[i])
          ar.action = static_cast<answer::AccessAction>(i);
      ar.a = rule.a;
      ar.txt = rule.txt;
      ar.ttl = rule.ttl;
      za.table.rules.push_back(ar);
      for (const auto& p : rule.clients)
        za.table.add(p.v6, p.addr.data(), p.len, index);
    }
    za.table.build();
    opt.answer.access.push_back(std::move(za));
  }
  opt.transfer.allow = cfg.server.transferAllow;
  opt.transfer.maxRecords = cfg.server.transferMaxRecords;
  opt.transfer.zones = opt.answer.zones;
  // A keyed zone is not transferred: a secondary would answer it without asking for keys.
  if (opt.transfer.zones)
    for (const auto& z : cfg.zones)
      if (z.keyed.on) std::erase(*opt.transfer.zones, z.name);
  for (const auto& n : cfg.server.notify)
    opt.notify.push_back({n.address, n.port});
  opt.notifyRetryMs = cfg.server.notifyRetryMs;
  opt.notifyRetries = cfg.server.notifyRetries;
  opt.notifyDelayMs = cfg.server.notifyDelayMs;
  for (const auto& k : cfg.server.tsigKeys) {
    std::string why;
    auto key = answer::tsig::makeKey(k.name, k.algorithm, k.secret, why);
    if (!key) {
      error = fmt::format("{}: tsig key {}: {}", cfg.file.string(), k.name, why);
      return std::nullopt;
    }
    opt.transfer.keys.push_back(*key);
    opt.answer.tsigKeys.push_back(*key); // signed SOA checks are answered signed
  }
  opt.transfer.requireKey = cfg.server.transferKey;
  return opt;
}

namespace {

void notifySystemd(const std::string& state) {
  sd_notify(0, state.c_str()); // a no-op outside systemd ($NOTIFY_SOCKET unset)
}

uint64_t monotonicUsec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// One dnsxld per store: an exclusive flock on its directory (which stays when rsync replaces
// data.mdb; LMDB itself locks with fcntl on lock.mdb, which this does not touch). -1 and errno
// when another process holds it.
int lockStore(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

std::optional<config::Config> loadConfig(const std::filesystem::path& file) {
  try {
    return config::load(file);
  } catch (const config::ConfigError& e) {
    log::error("{}", e.what());
    return std::nullopt;
  }
}

// The identity of a store's data file: rsync --delay-updates renames a new one into place.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};
std::optional<FileId> fileId(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// The query log a config asks for (not opened yet); none without [query_log].
std::shared_ptr<net::QueryLog> queryLogOf(const config::QueryLog& q) {
  if (q.path.empty()) return nullptr;
  return std::make_shared<net::QueryLog>(
      q.path.string(), false,
      q.format == "json" ? net::QueryLog::Format::Json : net::QueryLog::Format::Rbldnsd, q.buffer);
}

// The store's zones served under a zone list, with their serials, and its last change.
struct Served {
  std::vector<ops::MetricsInput::Zone> zones;
  int64_t lastCommit = 0;
};
Served served(store::Env& env, const std::optional<std::vector<std::string>>& zones) {
  Served out;
  store::Snapshot snap(env);
  out.lastCommit = snap.lastCommit();
  for (const auto& z : snap.zones())
    if (!z.name.empty() && answer::serves(zones, z.name))
      out.zones.push_back({z.name, z.soa.serial});
  return out;
}

// What a running dnsxld keeps between signals: the config in force, the HTTP endpoints.
class Service {
public:
  Service(const Args& args, config::Config cfg, std::shared_ptr<store::Env> env)
      : d_args(args), d_cfg(std::move(cfg)), d_env(std::move(env)), d_start(std::time(nullptr)),
        d_lastReload(d_start) {}

  int run(net::Options opt);

private:
  void reload(net::Server& server);
  void followStore(net::Server& server);
  ops::HttpResponse http(const ops::HttpRequest& req);
  ops::HttpResponse metrics();
  ops::HttpResponse ready();

  const Args& d_args;
  config::Config d_cfg;
  std::shared_ptr<store::Env> d_env; // the store at start (later: the server's store())
  std::optional<FileId> d_storeFile;
  std::mutex d_mutex; // guards d_cfg, d_opt and the counters below against the HTTP thread
  net::Options d_opt;
  net::Server* d_server = nullptr;
  int64_t d_start;
  int64_t d_lastReload;
  uint64_t d_reloadsOk = 0, d_reloadsFailed = 0;
};

int Service::run(net::Options opt) {
  d_opt = opt;
  if (opt.queryLog && !opt.queryLog->open()) {
    log::error("query log {}: {}", opt.queryLog->path(), std::strerror(errno));
    return 1;
  }
  d_storeFile = fileId(d_cfg.server.store / "data.mdb");
  net::Server server(d_env, opt);
  try {
    for (const auto& b : server.bind())
      log::info("listening on {} (udp, tcp)", b);
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
  d_server = &server;
  std::unique_ptr<ops::HttpServer> web;
  if (d_cfg.http.enabled) {
    web = std::make_unique<ops::HttpServer>([this](const ops::HttpRequest& r) { return http(r); });
    try {
      for (const auto& l : d_cfg.http.listen)
        log::info("http on {} (/metrics, /healthz, /readyz)", web->listen(l.address, l.port));
    } catch (const std::exception& e) {
      log::error("{}", e.what());
      return 1;
    }
    web->start();
  }
  std::thread signals([&] {
    const sigset_t s = handledSignals();
    for (;;) {
      const timespec second{1, 0};
      const int sig = sigtimedwait(&s, nullptr, &second);
      if (sig < 0) { // a second without a signal
        followStore(server);
        continue;
      }
      if (sig == SIGHUP) {
        reload(server);
        continue;
      }
      if (sig != SIGTERM && sig != SIGINT) continue;
      notifySystemd("STOPPING=1\nSTATUS=draining");
      const uint32_t ms = [&] {
        std::lock_guard lock(d_mutex);
        return d_opt.drainTimeoutMs;
      }();
      log::info("signal {}: stopping (TCP sessions and transfers get up to {} ms)", sig, ms);
      if (!server.drain(std::chrono::milliseconds(ms)))
        log::warning("drain: time up, open TCP connections cut");
      return;
    }
  });
  notifySystemd(fmt::format("READY=1\nSTATUS=serving; config {}", d_args.config.string()));
  server.run();
  signals.join();
  web.reset();
  std::lock_guard lock(d_mutex);
  d_server = nullptr;
  log::info("stopped");
  return 0;
}

void Service::reload(net::Server& server) {
  notifySystemd(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", monotonicUsec()));
  auto fail = [&](const std::string& why) {
    log::error("reload refused, the config in force stays: {}", why);
    std::lock_guard lock(d_mutex);
    ++d_reloadsFailed;
    notifySystemd("READY=1\nSTATUS=serving; the last reload was refused");
  };
  {
    std::lock_guard lock(d_mutex);
    if (d_opt.queryLog) d_opt.queryLog->reopen(); // log rotation: the file again
  }
  std::optional<config::Config> next;
  try {
    next = config::load(d_args.config);
  } catch (const config::ConfigError& e) {
    return fail(e.what());
  }
  if (next->server.store != d_cfg.server.store)
    return fail(
        fmt::format("{}: 'store' changed: a new store needs a restart", d_args.config.string()));
  std::string error;
  auto opt = serverOptions(*next, d_args, error);
  if (!opt) return fail(error);
  opt->workers = d_opt.workers;
  // The query log: the same object unless its file or format changed.
  const auto& ql = next->queryLog;
  if (d_opt.queryLog && ql.path == d_cfg.queryLog.path && ql.format == d_cfg.queryLog.format) {
    opt->queryLog = d_opt.queryLog;
  } else if ((opt->queryLog = queryLogOf(ql)) && !opt->queryLog->open()) {
    return fail(fmt::format("query log {}: {}", ql.path.string(), std::strerror(errno)));
  }
  std::vector<std::string> bound;
  try {
    bound = server.reload(*opt);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (next->server.workers != d_cfg.server.workers || next->server.mapSize != d_cfg.server.mapSize)
    log::warning("reload: 'workers' and 'map_size_mb' take effect at the next start");
  if (next->http.listen.size() != d_cfg.http.listen.size() ||
      next->http.enabled != d_cfg.http.enabled)
    log::warning("reload: [http] listen addresses take effect at the next start");
  if (auto level = log::parseLevel(next->server.logLevel)) log::setLevel(*level);
  std::string zones;
  for (const auto& z : next->zones)
    zones += fmt::format("{}{}", zones.empty() ? "" : ", ", z.name);
  {
    std::lock_guard lock(d_mutex);
    d_cfg = std::move(*next);
    d_opt = *opt;
    ++d_reloadsOk;
    d_lastReload = std::time(nullptr);
  }
  std::string addresses;
  for (const auto& b : bound)
    addresses += fmt::format("{}{}", addresses.empty() ? "" : ", ", b);
  log::notice("config reloaded: zones {}; listening on {}",
              zones.empty() ? "(all of the store's)" : zones, addresses);
  notifySystemd("READY=1\nSTATUS=serving; config reloaded");
}

// A mirror serves each data file rsync puts in place; elsewhere a replaced file is reported (a
// store with an LMDB writer is changed in place, never replaced).
void Service::followStore(net::Server& server) {
  const auto path = d_cfg.server.store / "data.mdb";
  const auto now = fileId(path);
  if (!now || now == d_storeFile) return;
  if (!d_cfg.server.mirror) {
    log::warning("{} was replaced: restart dnsxld to serve it (or set mirror = true for a "
                 "store that rsync replaces)",
                 path.string());
    d_storeFile = now;
    return;
  }
  try {
    auto env = std::make_shared<store::Env>(
        d_cfg.server.store,
        store::Env::Options{.readOnly = true, .mapSize = d_cfg.server.mapSize, .noLock = true});
    store::Snapshot snap(*env);
    snap.renew();
    std::string serials;
    for (const auto& z : snap.zones())
      if (!z.name.empty()) serials += fmt::format(" {} {}", z.name, z.soa.serial);
    snap.reset();
    server.replaceStore(env);
    d_storeFile = now;
    log::notice("mirror: new store file served:{}", serials);
  } catch (const std::exception& e) {
    log::warning("mirror: the new store file cannot be read yet: {}", e.what());
  }
}

ops::HttpResponse Service::http(const ops::HttpRequest& req) {
  const auto path = req.target.substr(0, req.target.find('?'));
  if (path == "/metrics") return metrics();
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (path == "/readyz") return ready();
  return {404, "text/plain; charset=utf-8",
          "not found: dnsxld serves /metrics, /healthz and /readyz\n"};
}

ops::HttpResponse Service::metrics() {
  ops::MetricsInput in;
  in.version = d_args.version;
  in.now = std::time(nullptr);
  std::optional<std::vector<std::string>> zones;
  std::shared_ptr<store::Env> env;
  {
    std::lock_guard lock(d_mutex);
    if (!d_server) return {503, "text/plain; charset=utf-8", "stopping\n"};
    in.zones = d_server->stats();
    in.server = d_server->serverStats();
    env = d_server->store();
    in.startTime = d_start;
    in.reloadsOk = d_reloadsOk;
    in.reloadsFailed = d_reloadsFailed;
    in.lastReload = d_lastReload;
    zones = d_opt.answer.zones;
    if (d_opt.queryLog) {
      in.queryLog = true;
      in.queryLogWritten = d_opt.queryLog->written();
      in.queryLogDropped = d_opt.queryLog->dropped();
    }
  }
  auto s = served(*env, zones);
  in.served = std::move(s.zones);
  in.lastCommit = s.lastCommit;
  const auto size = env->size();
  in.storeFileBytes = size.fileBytes;
  in.storeUsedBytes = size.usedBytes;
  in.storeMapBytes = size.mapBytes;
  return {200, "text/plain; version=0.0.4; charset=utf-8", ops::renderMetrics(in)};
}

ops::HttpResponse Service::ready() {
  uint32_t maxAge = 0;
  std::optional<std::vector<std::string>> zones;
  std::shared_ptr<store::Env> env;
  {
    std::lock_guard lock(d_mutex);
    if (!d_server) return {503, "text/plain; charset=utf-8", "not ready: stopping\n"};
    maxAge = d_cfg.http.maxDataAgeS;
    zones = d_opt.answer.zones;
    env = d_server->store();
  }
  const auto s = served(*env, zones);
  const int64_t last = s.lastCommit;
  if (s.zones.empty())
    return {503, "text/plain; charset=utf-8", "not ready: no zone of the config in the store\n"};
  const int64_t age = std::time(nullptr) - last;
  if (maxAge != 0 && (last == 0 || age > static_cast<int64_t>(maxAge)))
    return {503, "text/plain; charset=utf-8",
            fmt::format("not ready: the data is {} s old (max_data_age_s = {})\n",
                        last == 0 ? -1 : age, maxAge)};
  return {200, "text/plain; charset=utf-8",
          fmt::format("ready: {} zones, data {} s old\n", s.zones.size(), last == 0 ? -1 : age)};
}

} // namespace

int checkConfig(const Args& args) {
  auto cfg = loadConfig(args.config);
  if (!cfg) return 1;
  std::string error;
  if (!serverOptions(*cfg, args, error)) {
    log::error("{}", error);
    return 1;
  }
  if (!std::filesystem::exists(cfg->server.store / "data.mdb")) {
    log::error("{}: the store {} does not exist yet (dnsxl import --config {} makes it)",
               args.config.string(), cfg->server.store.string(), args.config.string());
    return 1;
  }
  fmt::print("{}: OK ({} zones, store {})\n", args.config.string(), cfg->zones.size(),
             cfg->server.store.string());
  return 0;
}

int run(const Args& args) {
  auto cfg = loadConfig(args.config);
  if (!cfg) return 1;
  if (auto level = log::parseLevel(cfg->server.logLevel)) log::setLevel(*level);
  std::string error;
  auto opt = serverOptions(*cfg, args, error);
  if (!opt) {
    log::error("{}", error);
    return 1;
  }
  opt->queryLog = queryLogOf(cfg->queryLog);
  try {
    auto env = std::make_shared<store::Env>(cfg->server.store,
                                            store::Env::Options{.readOnly = true,
                                                                .mapSize = cfg->server.mapSize,
                                                                .noLock = cfg->server.mirror});
    const int lock = lockStore(cfg->server.store);
    if (lock < 0) {
      log::error("{}: {}", cfg->server.store.string(),
                 errno == EWOULDBLOCK ? "another dnsxld serves this store (one per store)"
                                      : std::strerror(errno));
      return 1;
    }
    Service service(args, std::move(*cfg), env);
    const int status = service.run(*opt);
    ::close(lock);
    return status;
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
}

} // namespace dnsxl::service
