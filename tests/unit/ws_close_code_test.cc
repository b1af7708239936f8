#include <doctest/doctest.h>

#include <cstdint>

#include "ws/close_code.h"

namespace parley::ws {

TEST_CASE("received close code validity over the whole range") {
  for (uint32_t code = 0; code <= 0xFFFF; ++code) {
    const bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                       (code >= 3000 && code <= 4999);
    if (is_valid_received_close_code(static_cast<uint16_t>(code)) != valid) {
      CAPTURE(code);
      CHECK(is_valid_received_close_code(static_cast<uint16_t>(code)) == valid);
    }
  }
}

TEST_CASE("received close code boundaries") {
  CHECK_FALSE(is_valid_received_close_code(0));
  CHECK_FALSE(is_valid_received_close_code(999));
  CHECK(is_valid_received_close_code(1000));
  CHECK(is_valid_received_close_code(1003));
  CHECK_FALSE(is_valid_received_close_code(1004));
  CHECK_FALSE(is_valid_received_close_code(1005));
  CHECK_FALSE(is_valid_received_close_code(1006));
  CHECK(is_valid_received_close_code(1007));
  CHECK(is_valid_received_close_code(1014));
  CHECK_FALSE(is_valid_received_close_code(1015));
  CHECK_FALSE(is_valid_received_close_code(1016));
  CHECK_FALSE(is_valid_received_close_code(2999));
  CHECK(is_valid_received_close_code(3000));
  CHECK(is_valid_received_close_code(4999));
  CHECK_FALSE(is_valid_received_close_code(5000));
  CHECK_FALSE(is_valid_received_close_code(65535));
}

TEST_CASE("close code names") {
  CHECK(close_code_name(1000) == "normal closure");
  CHECK(close_code_name(to_uint(CloseCode::kMessageTooBig)) == "message too big");
  CHECK(close_code_name(4000) == "unknown");
}

}  // namespace parley::ws
