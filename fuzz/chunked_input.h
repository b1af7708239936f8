#pragma once
// The input layout of the fuzz targets whose parsers receive bytes in pieces. One input gives
// both the bytes and the points where the network cuts them, so that a target can compare a
// delivery in pieces with a delivery of everything at once.
//
//   byte 0            low 4 bits: how many chunk sizes follow (0-15); high 4 bits: a variant
//                     number (0-15) that the target uses to pick its limits
//   next count bytes  chunk sizes minus one (1-256)
//   the rest          the payload
//
// The payload is cut into chunks of the given sizes, taken in turn and repeated, and the last
// chunk is what remains. With no sizes the payload arrives as one chunk.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace parley::fuzz {

struct ChunkedInput {
  unsigned variant = 0;
  std::string_view payload;
  std::vector<std::string_view> chunks;  // views into `payload`, in order, covering all of it
};

inline ChunkedInput read_chunked_input(const uint8_t* data, size_t size) {
  ChunkedInput input;
  if (size == 0) {
    return input;
  }
  const size_t count = std::min<size_t>(data[0] & 0x0F, size - 1);
  input.variant = data[0] >> 4;
  const uint8_t* sizes = data + 1;
  input.payload =
      std::string_view(reinterpret_cast<const char*>(data + 1 + count), size - 1 - count);
  if (count == 0) {
    input.chunks.push_back(input.payload);
    return input;
  }
  size_t pos = 0;
  for (size_t i = 0; pos < input.payload.size(); i = (i + 1) % count) {
    const size_t chunk_size = size_t{sizes[i]} + 1;
    input.chunks.push_back(input.payload.substr(pos, chunk_size));
    pos += chunk_size;
  }
  return input;
}

}  // namespace parley::fuzz
