#pragma once

#include <sys/types.h>

#include <cstdint>

namespace parley::bench {

// Returns VmRSS of process `pid` in bytes from /proc/PID/status, or -1.
int64_t read_rss_bytes(pid_t pid);
// Returns utime + stime of process `pid` in microseconds from /proc/PID/stat, or -1.
int64_t read_cpu_us(pid_t pid);

}  // namespace parley::bench
