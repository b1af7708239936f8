// parley-tcp-echo: a bare epoll TCP echo server on one thread, the ceiling that parley-bench's
// tcp scenario measures the WebSocket echo servers against. It writes each read back at once and
// queues only what the socket does not take.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

constexpr const char* kUsage = R"(Usage: parley-tcp-echo [--port PORT]

A single-threaded TCP echo server on 127.0.0.1, the baseline for parley-bench's tcp scenario.

Options:
  --port PORT   port to listen on (default 9002)
  --help        print this help and exit
)";

// Parses a whole decimal port number from 1 to 65535.
bool parse_port(std::string_view text, int& port) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535) {
    return false;
  }
  port = value;
  return true;
}

struct Client {
  std::string pending;  // bytes read but not yet written back
};

// Writes as much of `pending` as the socket takes. Returns false on a write error.
bool drain(int fd, Client& client) {
  size_t offset = 0;
  while (offset < client.pending.size()) {
    ssize_t n = write(fd, client.pending.data() + offset, client.pending.size() - offset);
    if (n > 0) {
      offset += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  client.pending.erase(0, offset);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 9002;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (std::strcmp(argv[i], "--port") != 0) {
      std::fprintf(stderr, "parley-tcp-echo: unknown option %s (see --help)\n", argv[i]);
      return 2;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "parley-tcp-echo: --port needs a value (see --help)\n");
      return 2;
    }
    if (!parse_port(argv[++i], port)) {
      std::fprintf(stderr, "parley-tcp-echo: --port must be 1 to 65535, got '%s'\n", argv[i]);
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener, 4096) != 0) {
    std::fprintf(stderr, "parley-tcp-echo: listening on 127.0.0.1:%d failed: %s\n", port,
                 std::strerror(errno));
    return 1;
  }
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listener;
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event);
  std::fprintf(stderr, "parley-tcp-echo: listening on 127.0.0.1:%d\n", port);

  std::unordered_map<int, Client> clients;
  epoll_event events[512];
  static char buffer[1 << 16];
  for (;;) {
    int ready = epoll_wait(epoll_fd, events, 512, -1);
    for (int i = 0; i < ready; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        int client;
        while ((client = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event client_event{};
          client_event.events = EPOLLIN | EPOLLOUT | EPOLLET;
          client_event.data.fd = client;
          epoll_ctl(epoll_fd, EPOLL_CTL_ADD, client, &client_event);
          clients[client];
        }
        continue;
      }
      Client& client = clients[fd];
      bool alive = drain(fd, client);
      // Everything read in this wakeup goes back in as few writes as the socket allows.
      while (alive) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n > 0) {
          client.pending.append(buffer, static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          if (errno == EINTR) continue;
          break;
        }
        alive = false;
      }
      if (alive) alive = drain(fd, client);
      if (!alive) {
        close(fd);
        clients.erase(fd);
      }
    }
  }
}
