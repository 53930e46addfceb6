// What both rbldnsd comparison tests use: Debian's rbldnsd started on a directory of data files,
// the questions asked of both servers, and small helpers.
#pragma once

#include "tests/support/fixture.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <netinet/in.h>
#include <random>
#include <set>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <zlib.h>

namespace dnsxl::test::compare {

using namespace std::chrono_literals;

inline constexpr const char* kRbldnsd = "/usr/sbin/rbldnsd";

struct Question {
  std::string name;
  uint16_t type;
  bool mayBeEnt = false; // dnsxl may say NODATA where rbldnsd says NXDOMAIN (RFC 8020)
  bool wholeAnswer = false;
};

inline uint16_t freeUdpPort() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(u, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(u, reinterpret_cast<sockaddr*>(&sa), &len);
    ::close(u);
    uint16_t port = ntohs(sa.sin_port);
    if (port != 0) return port;
  }
  return 0;
}

class Rbldnsd {
public:
  Rbldnsd(const std::filesystem::path& dir, const std::vector<std::string>& zones) {
    d_port = freeUdpPort();
    std::vector<std::string> argv = {
        kRbldnsd, "-n", "-b", fmt::format("127.0.0.1/{}", d_port), "-w", dir.string()};
    if (::geteuid() == 0) argv.insert(argv.end(), {"-u", "nobody"});
    argv.insert(argv.end(), zones.begin(), zones.end());
    d_pid = ::fork();
    if (d_pid == 0) {
      std::vector<char*> args;
      for (auto& a : argv)
        args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(kRbldnsd, args.data());
      ::_exit(127);
    }
    // Ready when it answers.
    for (int i = 0; i < 100; ++i) {
      if (test::udpExchange(d_port, test::makeQuery("ready.invalid", 1), 50ms)) return;
      std::this_thread::sleep_for(50ms);
    }
  }
  ~Rbldnsd() {
    ::kill(d_pid, SIGTERM);
    ::waitpid(d_pid, nullptr, 0);
  }
  uint16_t port() const { return d_port; }

private:
  pid_t d_pid = -1;
  uint16_t d_port = 0;
};

inline std::string rev4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a & 255, (a >> 8) & 255, (a >> 16) & 255, a >> 24);
}
inline std::string ip4(uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// rbldnsd drops its privileges to nobody (as root): the directory and its files readable by all.
inline void readableByRbldnsd(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  fs::permissions(dir, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
  for (const auto& e : fs::directory_iterator(dir))
    fs::permissions(e.path(), fs::perms::others_read, fs::perm_options::add);
}

} // namespace dnsxl::test::compare
