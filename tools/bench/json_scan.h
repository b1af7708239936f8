#pragma once

// Field lookups in the server's flat JSON frames, enough for the load generator to find cmd,
// cid and content without a full parser on the hot path. The first occurrence of the key wins,
// which is the top-level one in the frames the scenarios read (acks, deliveries and errors).

#include <charconv>
#include <cstdint>
#include <string_view>

namespace parley::bench {

// Returns the position just after `"key"` and the colon, or npos.
inline size_t find_json_value(std::string_view json, std::string_view key) {
  size_t pos = 0;
  while ((pos = json.find(key, pos)) != std::string_view::npos) {
    size_t end = pos + key.size();
    if (pos > 0 && json[pos - 1] == '"' && end < json.size() && json[end] == '"') {
      size_t i = end + 1;
      while (i < json.size() && (json[i] == ' ' || json[i] == ':')) ++i;
      return i;
    }
    pos = end;
  }
  return std::string_view::npos;
}

inline bool find_json_int(std::string_view json, std::string_view key, int64_t& value) {
  size_t pos = find_json_value(json, key);
  if (pos == std::string_view::npos) return false;
  auto [ptr, ec] = std::from_chars(json.data() + pos, json.data() + json.size(), value);
  return ec == std::errc();
}

// Returns the raw characters of a string value, escapes left as they are.
inline bool find_json_string(std::string_view json, std::string_view key, std::string_view& value) {
  size_t pos = find_json_value(json, key);
  if (pos == std::string_view::npos || pos >= json.size() || json[pos] != '"') return false;
  size_t end = pos + 1;
  while (end < json.size() && json[end] != '"') end += json[end] == '\\' ? 2 : 1;
  if (end >= json.size()) return false;
  value = json.substr(pos + 1, end - pos - 1);
  return true;
}

}  // namespace parley::bench
