#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "net/http_message.h"
#include "ws/upgrade.h"

namespace parley::ws {
namespace {

net::HttpRequest request_offering(std::vector<std::string> protocol_lines) {
  net::HttpRequest request;
  request.method = "GET";
  request.path = "/";
  for (std::string& line : protocol_lines) {
    request.headers.emplace_back("sec-websocket-protocol", std::move(line));
  }
  return request;
}

}  // namespace

TEST_CASE("offered subprotocols in client order") {
  const net::HttpRequest request = request_offering({"chat, superchat", "v2.json"});
  const std::vector<std::string_view> offered = offered_subprotocols(request);
  REQUIRE(offered.size() == 3);
  CHECK(offered[0] == "chat");
  CHECK(offered[1] == "superchat");
  CHECK(offered[2] == "v2.json");
}

TEST_CASE("offered subprotocols skip empty elements") {
  const net::HttpRequest request = request_offering({" , chat ,,  ", ""});
  const std::vector<std::string_view> offered = offered_subprotocols(request);
  REQUIRE(offered.size() == 1);
  CHECK(offered[0] == "chat");
}

TEST_CASE("no subprotocol offered") {
  const net::HttpRequest request = request_offering({});
  CHECK(offered_subprotocols(request).empty());
  CHECK(select_subprotocol(request, {"chat"}).empty());
}

TEST_CASE("subprotocol selected in client order") {
  const net::HttpRequest request = request_offering({"superchat, chat"});
  CHECK(select_subprotocol(request, {"chat", "superchat"}) == "superchat");
  CHECK(select_subprotocol(request, {"chat"}) == "chat");
}

TEST_CASE("subprotocol not supported") {
  const net::HttpRequest request = request_offering({"superchat"});
  CHECK(select_subprotocol(request, {"chat"}).empty());
  CHECK(select_subprotocol(request, {}).empty());
}

TEST_CASE("subprotocol names case-sensitive") {
  const net::HttpRequest request = request_offering({"Chat"});
  CHECK(select_subprotocol(request, {"chat"}).empty());
  CHECK(select_subprotocol(request, {"Chat"}) == "Chat");
}

TEST_CASE("subprotocol header line") {
  CHECK(subprotocol_header("chat") == "Sec-WebSocket-Protocol: chat\r\n");
  CHECK(subprotocol_header("").empty());
}

}  // namespace parley::ws
