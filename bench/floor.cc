// The floor of the performance table: the least a UDP DNS server can do. Answers every query
// with a fixed NXDOMAIN (the question echoed, no records), batching with recvmmsg/sendmmsg, or
// with one recvfrom/sendto per packet (--single). No parsing beyond the question, no data.
//   dnsxl_floor [-b ADDR] [-p PORT] [--single]    prints "port N" once bound; runs until killed
#include <arpa/inet.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr unsigned kBatch = 64;
constexpr size_t kBuf = 1500;

// Turns a query into its NXDOMAIN reply in place; 0 when it is not a one-question query.
size_t reply(uint8_t* p, size_t n) {
  if (n < 12 || (p[2] & 0x80) || p[4] != 0 || p[5] != 1) return 0;
  size_t i = 12;
  while (i < n && p[i] != 0) {
    if (p[i] > 63) return 0;
    i += 1 + p[i];
  }
  if (i + 5 > n) return 0;
  p[2] = static_cast<uint8_t>(0x84 | (p[2] & 0x01)); // QR AA, RD copied
  p[3] = 3;                                          // NXDOMAIN
  std::memset(p + 6, 0, 6);
  return i + 5;
}

} // namespace

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1";
  int port = 0;
  bool single = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "-b") && i + 1 < argc)
      addr = argv[++i];
    else if (!std::strcmp(argv[i], "-p") && i + 1 < argc) {
      char* end = nullptr;
      const long p = std::strtol(argv[++i], &end, 10);
      if (*end || end == argv[i] || p < 0 || p > 65535) {
        std::fprintf(stderr, "dnsxl_floor: -p %s is not a port (0..65535)\n", argv[i]);
        return 2;
      }
      port = static_cast<int>(p);
    } else if (!std::strcmp(argv[i], "--single"))
      single = true;
    else {
      std::fprintf(stderr, "usage: dnsxl_floor [-b ADDR] [-p PORT] [--single]\n");
      return 2;
    }
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) {
    std::fprintf(stderr, "dnsxl_floor: %s is not an IPv4 address\n", addr.c_str());
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::perror("dnsxl_floor: bind");
    return 1;
  }
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  std::printf("port %d\n", ntohs(sa.sin_port));
  std::fflush(stdout);

  static uint8_t bufs[kBatch][kBuf];
  sockaddr_in from[kBatch];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  for (;;) {
    if (single) {
      socklen_t fl = sizeof from[0];
      const ssize_t n = recvfrom(fd, bufs[0], kBuf, 0, reinterpret_cast<sockaddr*>(&from[0]), &fl);
      if (n <= 0) continue;
      if (size_t r = reply(bufs[0], static_cast<size_t>(n)))
        sendto(fd, bufs[0], r, 0, reinterpret_cast<sockaddr*>(&from[0]), fl);
      continue;
    }
    for (unsigned i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i], kBuf};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd, msgs, kBatch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;
    unsigned out = 0;
    for (int i = 0; i < n; ++i) {
      const size_t r = reply(bufs[i], msgs[i].msg_len);
      if (!r) continue;
      iov[i].iov_len = r;
      if (out != static_cast<unsigned>(i)) msgs[out] = msgs[i];
      ++out;
    }
    if (out) sendmmsg(fd, msgs, out, 0);
  }
}
