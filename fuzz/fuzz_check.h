#pragma once
// Invariant checks of the fuzz targets. They stay on in every build type (unlike assert), and
// a failed check aborts, which libFuzzer reports as a crash and saves the input for.

#include <cstdio>
#include <cstdlib>

namespace parley::fuzz {

[[noreturn]] inline void check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, condition);
  std::abort();
}

}  // namespace parley::fuzz

#define FUZZ_CHECK(condition)         \
  ((condition) ? static_cast<void>(0) \
               : ::parley::fuzz::check_failed(#condition, __FILE__, __LINE__))
