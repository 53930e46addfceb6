// dnsxld's log lines: one line per event on stderr, with a level. Under systemd (stderr is the
// journal: $JOURNAL_STREAM names it) each line carries its syslog priority as "<N>" (sd-daemon(3))
// and journald adds the program name; elsewhere lines start with "dnsxld: ". Never per query.
#pragma once

#include <fmt/format.h>
#include <optional>
#include <string_view>

namespace dnsxl::log {

// syslog priorities (RFC 5424 §6.2.1)
enum class Level { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

// "error", "warning", "notice", "info", "debug"
std::optional<Level> parseLevel(std::string_view name);
// Lines above this level are not written (default Info). Any thread.
void setLevel(Level level);
bool enabled(Level level);
// Re-reads $JOURNAL_STREAM (called once at start; tests call it again).
void detectJournal();
void write(Level level, std::string_view message);

template <typename... A>
void error(fmt::format_string<A...> f, A&&... a) {
  write(Level::Error, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void warning(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Warning)) write(Level::Warning, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void notice(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Notice)) write(Level::Notice, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Info)) write(Level::Info, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Debug)) write(Level::Debug, fmt::format(f, std::forward<A>(a)...));
}

} // namespace dnsxl::log
