// The query log: one line per answered query (rbldnsd's -l format, or JSON Lines), written by a
// thread of its own. A worker only copies the question and the reply's header into a slot of a
// bounded ring (no lock, no allocation, no system call); when the writer falls behind, lines are
// dropped and counted, never waited for. reopen() follows log rotation (SIGHUP).
#pragma once

#include "server/answer/responder.hh"

#include <atomic>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <thread>

namespace dnsxl::net {

class QueryLog {
public:
  enum class Format { Rbldnsd, Json };
  // path "-" = standard output; unbuffered: each line flushed at once (rbldnsd -f); capacity:
  // lines waiting for the writer (rounded up to a power of two).
  QueryLog(std::string path, bool unbuffered, Format format = Format::Rbldnsd,
           size_t capacity = 65536);
  ~QueryLog(); // writes what is waiting, stops the writer
  QueryLog(const QueryLog&) = delete;
  QueryLog& operator=(const QueryLog&) = delete;

  // Opens the file for appending and starts the writer; false (and errno) when it cannot.
  bool open();
  // The writer opens the file again before its next line (the old one was rotated away); a
  // failure is logged and the old file kept. Any thread, signal-safe enough (one atomic store).
  void reopen() { d_reopen.store(true, std::memory_order_relaxed); }
  // One answered query, from any worker thread.
  void record(int64_t now, const answer::Client& client, answer::Transport transport,
              std::span<const uint8_t> query, std::span<const uint8_t> reply);
  uint64_t dropped() const { return d_dropped.load(std::memory_order_relaxed); }
  uint64_t written() const { return d_written.load(std::memory_order_relaxed); }
  const std::string& path() const { return d_path; }

private:
  static constexpr size_t kQueryBytes = 12 + 255 + 4; // header and question
  struct Slot {
    std::atomic<uint64_t> sequence{0};
    int64_t now;
    answer::Client client;
    bool tcp;
    uint16_t queryLen, replySize;
    uint8_t replyHeader[12];
    uint8_t query[kQueryBytes];
  };
  void writer();
  bool drain();
  void write(const Slot& s);

  std::string d_path;
  bool d_unbuffered;
  Format d_format;
  size_t d_mask;
  std::unique_ptr<Slot[]> d_slots;
  alignas(64) std::atomic<uint64_t> d_head{0}; // next slot to fill
  alignas(64) uint64_t d_tail = 0;             // next slot to write (the writer's)
  std::atomic<uint64_t> d_dropped{0}, d_written{0};
  std::atomic<bool> d_reopen{false}, d_stop{false};
  std::FILE* d_file = nullptr;
  std::thread d_thread;
};

} // namespace dnsxl::net
