#pragma once

#include <string>
#include <string_view>

namespace parley::bench {

// A blocking HTTP/1.1 client over one keep-alive connection, for the account setup of the chat
// and group scenarios. It reads bodies by Content-Length only, which is what parleyd's API sends.
class HttpClient {
 public:
  HttpClient(std::string host, int port) : host_(std::move(host)), port_(port) {}
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends a request with a JSON body (empty for none). Returns the status code, or -1 with
  // `body` set to the error when the connection failed.
  int request(std::string_view method, std::string_view path, std::string_view token,
              std::string_view json, std::string& body);

 private:
  bool connect_socket(std::string& error);

  std::string host_;
  int port_;
  int fd_ = -1;
};

}  // namespace parley::bench
