#include "server/log.hh"

#include <atomic>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace dnsxl::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::atomic<bool> g_journal{false};
} // namespace

std::optional<Level> parseLevel(std::string_view name) {
  if (name == "error") return Level::Error;
  if (name == "warning") return Level::Warning;
  if (name == "notice") return Level::Notice;
  if (name == "info") return Level::Info;
  if (name == "debug") return Level::Debug;
  return std::nullopt;
}

void setLevel(Level level) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool enabled(Level level) {
  return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

void detectJournal() {
  // systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connected stderr to; a
  // redirected stderr (a file, a pipe of our own) no longer matches it (systemd.exec(5)).
  const char* js = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  bool journal = false;
  if (js && ::fstat(STDERR_FILENO, &st) == 0) {
    const std::string expect = fmt::format("{}:{}", st.st_dev, st.st_ino);
    journal = expect == js;
  }
  g_journal.store(journal, std::memory_order_relaxed);
}

void write(Level level, std::string_view message) {
  if (!enabled(level)) return;
  std::string line = g_journal.load(std::memory_order_relaxed)
                         ? fmt::format("<{}>{}\n", static_cast<int>(level), message)
                         : fmt::format("dnsxld: {}\n", message);
  // one write(2) per line: lines of several threads do not interleave
  for (std::string_view rest = line; !rest.empty();) {
    const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) break;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

} // namespace dnsxl::log
