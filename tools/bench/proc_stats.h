#pragma once

#include <sys/types.h>

#include <cstdint>

namespace parley::bench {

// Returns a field of /proc/PID/status given in kB ("VmRSS", "RssAnon"), in bytes, or -1.
int64_t read_status_bytes(pid_t pid, const char* field);
// Returns the kernel's slab memory (Slab in /proc/meminfo) in bytes, or -1. Socket structures
// live there, so its growth while connections open is their kernel cost.
int64_t read_slab_bytes();
// Returns the memory of all TCP socket buffers on this host ("mem" on the TCP line of
// /proc/net/sockstat, counted in pages) in bytes, or -1.
int64_t read_tcp_buffer_bytes();
// Returns utime + stime of process `pid` in microseconds from /proc/PID/stat, or -1.
int64_t read_cpu_us(pid_t pid);

}  // namespace parley::bench
