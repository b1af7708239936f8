#pragma once
// SQL text for statements that take a variable number of rows: a multi-row INSERT, or a
// lookup of many keys at once. A statement exists for a few chunk sizes only, the powers of two
// up to kMaxChunkRows, so a connection caches at most a handful of prepared statements per kind
// while a batch of any size still takes few round trips. Used by MysqlStore.
//
// Threads: a ChunkedSql is immutable once constructed, so any thread may read it.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace parley::store::mysql {

// The maximum number of rows in one chunk. A chunk of 256 messages binds 3,840 parameters, well
// below the limit of 65,535 per prepared statement in MySQL and MariaDB.
inline constexpr size_t kMaxChunkRows = 256;

// Returns the row count of the next chunk of a write, which must not repeat a row: the largest
// power of two that is at most `remaining` and kMaxChunkRows. `remaining` must be positive.
[[nodiscard]] size_t exact_chunk_rows(size_t remaining);

// Returns the row count of the next chunk of a read, which may repeat its last key to fill the
// chunk: the smallest power of two that is at least `remaining`, but at most kMaxChunkRows.
[[nodiscard]] size_t padded_chunk_rows(size_t remaining);

// The texts of one statement for every chunk size: `head`, then `rows` copies of `row` with
// `separator` between them, then `tail`. The four parts must be constants of the program, so
// that no text comes from input.
class ChunkedSql {
 public:
  ChunkedSql(std::string_view head, std::string_view row, std::string_view separator,
             std::string_view tail);

  // Returns the text for `rows` rows, a power of two of at most kMaxChunkRows.
  [[nodiscard]] const std::string& text(size_t rows) const;

 private:
  std::vector<std::string> texts_;  // texts_[k] has 2^k rows
};

}  // namespace parley::store::mysql
