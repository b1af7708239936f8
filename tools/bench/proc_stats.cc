#include "tools/bench/proc_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace parley::bench {

namespace {

// Returns the number after "NAME:" in a file of "NAME: N kB" lines, times 1024, or -1.
int64_t read_kb_field(const std::string& path, const std::string& name) {
  std::ifstream file(path);
  const std::string prefix = name + ":";
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind(prefix, 0) == 0)
      return std::stoll(line.substr(prefix.size())) * 1024;
  }
  return -1;
}

}  // namespace

int64_t read_status_bytes(pid_t pid, const char* field) {
  return read_kb_field("/proc/" + std::to_string(pid) + "/status", field);
}

int64_t read_slab_bytes() {
  return read_kb_field("/proc/meminfo", "Slab");
}

int64_t read_tcp_buffer_bytes() {
  // "TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1"
  std::ifstream file("/proc/net/sockstat");
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind("TCP:", 0) != 0)
      continue;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      if (word == "mem" && words >> word)
        return std::stoll(word) * sysconf(_SC_PAGESIZE);
    }
  }
  return -1;
}

int64_t read_cpu_us(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text))
    return -1;
  // The command name in field 2 may contain spaces, so count fields from its closing ')'.
  size_t paren = text.rfind(')');
  if (paren == std::string::npos)
    return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  int64_t utime = 0;
  int64_t stime = 0;
  // After ')' come state (field 3) ... utime is field 14 and stime field 15.
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14)
      utime = std::stoll(field);
    if (number == 15)
      stime = std::stoll(field);
  }
  return (utime + stime) * 1'000'000 / sysconf(_SC_CLK_TCK);
}

}  // namespace parley::bench
