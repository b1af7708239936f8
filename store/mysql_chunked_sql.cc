#include "store/mysql_chunked_sql.h"

#include <algorithm>
#include <bit>

#include "store/store.h"

namespace parley::store::mysql {

size_t exact_chunk_rows(size_t remaining) {
  return std::bit_floor(std::min(remaining, kMaxChunkRows));
}

size_t padded_chunk_rows(size_t remaining) {
  return std::min(std::bit_ceil(remaining), kMaxChunkRows);
}

ChunkedSql::ChunkedSql(std::string_view head, std::string_view row, std::string_view separator,
                       std::string_view tail) {
  for (size_t rows = 1; rows <= kMaxChunkRows; rows *= 2) {
    std::string text(head);
    for (size_t i = 0; i < rows; ++i) {
      if (i > 0) {
        text += separator;
      }
      text += row;
    }
    text += tail;
    texts_.push_back(std::move(text));
  }
}

const std::string& ChunkedSql::text(size_t rows) const {
  if (!std::has_single_bit(rows) || rows > kMaxChunkRows) {
    throw StoreError("a chunked SQL statement was requested for " + std::to_string(rows) +
                     " rows, which is not a power of two up to " + std::to_string(kMaxChunkRows));
  }
  return texts_[static_cast<size_t>(std::countr_zero(rows))];
}

}  // namespace parley::store::mysql
