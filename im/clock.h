#pragma once
// Wall-clock time in Unix milliseconds, the unit of every `ts` in the protocol.

#include <chrono>
#include <cstdint>

namespace parley::im {

inline int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace parley::im
