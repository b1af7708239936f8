#pragma once
// The process's limit on open descriptors, which caps the number of connections.

#include <cstdint>

namespace parley::net {

// Raises the soft RLIMIT_NOFILE to the hard limit, because every connection uses a descriptor,
// and returns the resulting soft limit (0 if it cannot be read). Call it once at start-up,
// before threads start; a connection beyond the limit is closed at accept (see TcpServer).
uint64_t raise_descriptor_limit();

}  // namespace parley::net
