#pragma once
// Conversions between ListenAddress and the socket API, and the check that a port is free.

#include <sys/socket.h>

#include "net/tcp_server.h"

namespace parley::net {

// Fills `storage` and `length` for `address` (an IPv4 or IPv6 literal). Throws
// std::runtime_error when the host is not an IP address.
void to_sockaddr(const ListenAddress& address, sockaddr_storage& storage, socklen_t& length);

// Throws std::runtime_error ("address already in use") when another socket listens on
// `address`. Every loop binds the port with SO_REUSEPORT, which lets a second process that
// does the same share the port silently and take part of the connections. This probe binds
// without SO_REUSEPORT first, which fails while anyone listens there. Port 0 always passes.
// NOTE: another process can still bind between this check and the loops' own binds.
void check_address_free(const ListenAddress& address);

}  // namespace parley::net
