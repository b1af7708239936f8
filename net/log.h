#pragma once
// A small leveled logger writing one line per call to stderr. Thread-safe: each line is
// formatted into a local buffer and written with a single write(2), so lines from different
// threads never interleave. Never pass tokens or passwords to it.
//
//   net::log(net::LogLevel::kInfo, "conn ", id, " closed: ", reason);

#include <atomic>
#include <sstream>
#include <string_view>

namespace parley::net {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Returns false for an unknown name ("debug", "info", "warn", "error" are known).
bool parse_log_level(std::string_view name, LogLevel& level);
void set_log_level(LogLevel level);

namespace detail {
extern std::atomic<int> g_log_level;
void write_log_line(LogLevel level, std::string_view text);
}  // namespace detail

inline bool log_enabled(LogLevel level) {
  return static_cast<int>(level) >= detail::g_log_level.load(std::memory_order_relaxed);
}

// Streams the arguments into one line only when the level is enabled, so arguments that are
// costly to format cost nothing at a disabled level.
template <typename... Args>
void log(LogLevel level, const Args&... args) {
  if (!log_enabled(level)) {
    return;
  }
  std::ostringstream line;
  (line << ... << args);
  detail::write_log_line(level, line.view());
}

}  // namespace parley::net
