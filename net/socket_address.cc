#include "net/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace parley::net {

void to_sockaddr(const ListenAddress& address, sockaddr_storage& storage, socklen_t& length) {
  storage = {};
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  if (inet_pton(AF_INET, address.host.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(address.port);
    length = sizeof(sockaddr_in);
    return;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET6, address.host.c_str(), &in6->sin6_addr) != 1) {
    throw std::runtime_error("invalid listen address " + address.host);
  }
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(address.port);
  length = sizeof(sockaddr_in6);
}

void check_address_free(const ListenAddress& address) {
  if (address.port == 0) {
    return;
  }
  sockaddr_storage storage;
  socklen_t length = 0;
  to_sockaddr(address, storage, length);
  int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  // SO_REUSEADDR lets the probe pass over connections of an earlier run left in TIME_WAIT,
  // but Linux still rejects it while a socket listens on the port.
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int result = ::bind(fd, reinterpret_cast<sockaddr*>(&storage), length);
  int error = errno;
  ::close(fd);
  if (result != 0) {
    std::string where = address.host + ":" + std::to_string(address.port);
    if (error == EADDRINUSE) {
      throw std::runtime_error("bind " + where +
                               ": address already in use (is another server running there?)");
    }
    throw std::runtime_error("bind " + where + ": " + std::strerror(error));
  }
}

}  // namespace parley::net
