#include "net/log.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace parley::net {

namespace detail {
std::atomic<int> g_log_level{static_cast<int>(LogLevel::kInfo)};

void write_log_line(LogLevel level, std::string_view text) {
  static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char prefix[64];
  int n = std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%ld] ",
                        utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                        utc.tm_sec, now.tv_nsec / 1000000, kNames[static_cast<int>(level)],
                        static_cast<long>(syscall(SYS_gettid)));
  std::string line(prefix, n > 0 ? static_cast<size_t>(n) : 0);
  line.append(text);
  line.push_back('\n');
  // One write per line keeps lines whole when several threads log at once.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}
}  // namespace detail

bool parse_log_level(std::string_view name, LogLevel& level) {
  if (name == "debug") {
    level = LogLevel::kDebug;
  } else if (name == "info") {
    level = LogLevel::kInfo;
  } else if (name == "warn") {
    level = LogLevel::kWarn;
  } else if (name == "error") {
    level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

void set_log_level(LogLevel level) {
  detail::g_log_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

}  // namespace parley::net
