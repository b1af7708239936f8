#pragma once
// The process's limit on open descriptors, which caps the number of connections.
//
// Threads: raise_descriptor_limit() and set_connection_capacity() are for start-up, before the
// loops run. acquire_connection_slot() and release_connection_slot() may be called from any
// thread (the loops' TcpServers do).

#include <cstdint>

namespace parley::net {

// Raises the soft RLIMIT_NOFILE to the hard limit, because every connection uses a descriptor,
// and returns the resulting soft limit (0 if it cannot be read).
uint64_t raise_descriptor_limit();

// Descriptors kept free for everything that is not a connection: listeners, epoll and eventfd
// descriptors, database files and sockets, uploaded and downloaded files, logs.
inline constexpr uint64_t kReservedDescriptors = 64;

// Sets how many connections the whole process may have open. At that count TcpServer closes
// each new connection at once. The default is no cap. Servers set the descriptor limit minus
// kReservedDescriptors, so that connections alone cannot use up the descriptors.
void set_connection_capacity(uint64_t connections);
uint64_t connection_capacity();

// Counts one more open connection and returns true, or returns false at the capacity.
bool acquire_connection_slot();
void release_connection_slot();

}  // namespace parley::net
