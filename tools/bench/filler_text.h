#pragma once

// Payload filler for the echo, chat and group scenarios. The compression that --deflate
// measures depends on it: 'x' repeated compresses to almost nothing, and the word text
// compresses about as much as English chat text.

#include <cstddef>
#include <cstdint>
#include <string>

#include "tools/bench/options.h"

namespace parley::bench {

// Appends `count` bytes of `fill` to `out`. For Fill::kText, `seed` picks where in the word
// text the bytes start, so that messages differ. Any thread may call it.
void append_filler(std::string& out, size_t count, Fill fill, uint64_t seed);

}  // namespace parley::bench
