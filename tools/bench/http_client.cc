#include "tools/bench/http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace parley::bench {

HttpClient::~HttpClient() {
  if (fd_ >= 0) close(fd_);
}

bool HttpClient::connect_socket(std::string& error) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(port_));
  if (fd_ < 0 || inet_pton(AF_INET, host_.c_str(), &target.sin_addr) != 1 ||
      connect(fd_, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
    error = "connecting to " + host_ + ":" + std::to_string(port_) + " failed: " +
            std::strerror(errno);
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return true;
}

int HttpClient::request(std::string_view method, std::string_view path, std::string_view token,
                        std::string_view json, std::string& body) {
  // One retry covers a keep-alive connection the server closed since the last request.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (fd_ < 0 && !connect_socket(body)) return -1;
    std::string request(method);
    request += ' ';
    request += path;
    request += " HTTP/1.1\r\nHost: " + host_ + "\r\n";
    if (!token.empty()) request += "Authorization: Bearer " + std::string(token) + "\r\n";
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) +
               "\r\n\r\n";
    request += json;
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      close(fd_);
      fd_ = -1;
      continue;
    }
    std::string input;
    size_t head_end = std::string::npos;
    char buffer[16384];
    bool closed = false;
    while ((head_end = input.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      input.append(buffer, static_cast<size_t>(n));
    }
    if (closed) {
      close(fd_);
      fd_ = -1;
      if (input.empty()) continue;
      body = "the server closed the connection in the middle of a response";
      return -1;
    }
    int status = std::atoi(input.c_str() + input.find(' ') + 1);
    size_t length = 0;
    std::string lower = input.substr(0, head_end);
    for (char& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    size_t header = lower.find("\r\ncontent-length:");
    if (header != std::string::npos) length = std::strtoul(lower.c_str() + header + 17, nullptr, 10);
    body = input.substr(head_end + 4);
    while (body.size() < length) {
      ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        close(fd_);
        fd_ = -1;
        body = "the server closed the connection in the middle of a response body";
        return -1;
      }
      body.append(buffer, static_cast<size_t>(n));
    }
    return status;
  }
  body = "sending the request failed twice";
  return -1;
}

}  // namespace parley::bench
