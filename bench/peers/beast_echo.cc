// beast-echo: a WebSocket echo server on Boost.Beast, run next to parley-echo by
// bench/peers/compare.sh so that parley's figures have a well-known peer on the same machine.
//
// One thread runs one io_context. Each connection is a Session that owns its stream and buffer
// and keeps itself alive through the shared_ptr captured by its pending handler, so a session
// ends when its last handler returns without starting another operation. Only that thread
// touches a session. The server echoes every text or binary message back as one message of the
// same type and payload, and leaves permessage-deflate off, as the other peers do.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : ws_(std::move(socket)) {}

  void start() {
    // parley-echo and parley-tcp-echo also disable Nagle, so that small echoes leave at once.
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.async_accept(beast::bind_front_handler(&Session::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code error) {
    if (error)
      return;
    read_next();
  }

  void read_next() {
    ws_.async_read(buffer_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code error, std::size_t) {
    // websocket::error::closed means the peer closed, and Beast has already sent the close reply.
    if (error)
      return;
    // One async_write, and so one sendmsg, per echo: a Beast stream allows one write in flight,
    // and joining echoes would need a queue of our own that idiomatic Beast code does not have.
    ws_.text(ws_.got_text());
    ws_.async_write(buffer_.data(),
                    beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code error, std::size_t) {
    if (error)
      return;
    buffer_.consume(buffer_.size());
    read_next();
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, const tcp::endpoint& endpoint) : io_(io), acceptor_(io) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  void accept_next() {
    acceptor_.async_accept(io_,
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code error, tcp::socket socket) {
    if (error) {
      // An error such as EMFILE fails this accept only, so the server keeps listening.
      std::fprintf(stderr, "beast-echo: accept failed: %s\n", error.message().c_str());
    } else {
      std::make_shared<Session>(std::move(socket))->start();
    }
    accept_next();
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::atoi(argv[1]) <= 0 || std::atoi(argv[1]) > 65535) {
    std::fprintf(stderr, "usage: beast-echo PORT  (listens on 127.0.0.1)\n");
    return 2;
  }
  auto port = static_cast<unsigned short>(std::atoi(argv[1]));

  // A concurrency hint of 1 declares that one thread runs this io_context, so the scheduler
  // queues completions for that thread without waking others.
  asio::io_context io(1);
  try {
    std::make_shared<Listener>(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port))
        ->accept_next();
  } catch (const boost::system::system_error& error) {
    std::fprintf(stderr, "beast-echo: failed to listen on 127.0.0.1:%u: %s\n", port, error.what());
    return 1;
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](beast::error_code, int) { io.stop(); });
  io.run();
  return 0;
}
