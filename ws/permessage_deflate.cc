#include "ws/permessage_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <new>
#include <set>

namespace parley::ws {
namespace {

// The empty stored block that ends every flushed message (RFC 7692 §7.2.1).
constexpr char kFlushTail[] = {'\x00', '\x00', '\xff', '\xff'};
// The output grows by at most this much per inflate call.
constexpr size_t kInflateChunk = 16 * 1024;
// zlib's raw deflate cannot use a 256-byte window, so the inflater reads 8-bit windows with 9.
constexpr int kMinZlibWindowBits = 9;

// Parses a window size: a decimal 8-15 without leading zeros (RFC 7692 §7.1.2).
std::optional<int> parse_window_bits(const std::optional<std::string>& value) {
  if (!value || value->empty() || value->size() > 2 || (*value)[0] == '0') {
    return std::nullopt;
  }
  int bits = 0;
  for (char c : *value) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    bits = bits * 10 + (c - '0');
  }
  if (bits < 8 || bits > 15) {
    return std::nullopt;
  }
  return bits;
}

// Returns the agreed parameters of one offer, or nullopt to decline it.
std::optional<DeflateParams> accept_offer(const ExtensionOffer& offer,
                                          const DeflateOptions& options) {
  if (offer.name != kPermessageDeflate || !offer.well_formed) {
    return std::nullopt;
  }
  DeflateParams params;
  std::set<std::string_view> seen;
  for (const ExtensionParam& param : offer.params) {
    // RFC 7692 §7: an offer with a repeated parameter is declined.
    if (!seen.insert(param.name).second) {
      return std::nullopt;
    }
    if (param.name == "server_no_context_takeover" || param.name == "client_no_context_takeover") {
      if (param.value) {
        return std::nullopt;
      }
      (param.name[0] == 's' ? params.server_no_context_takeover
                            : params.client_no_context_takeover) = true;
    } else if (param.name == "server_max_window_bits") {
      const std::optional<int> bits = parse_window_bits(param.value);
      if (!bits || *bits < kMinZlibWindowBits) {
        return std::nullopt;
      }
      params.server_max_window_bits = *bits;
      params.send_server_max_window_bits = true;
    } else if (param.name == "client_max_window_bits") {
      // Without a value the client only says that it supports the parameter (§7.1.2.2).
      int offered = 15;
      if (param.value) {
        const std::optional<int> bits = parse_window_bits(param.value);
        if (!bits) {
          return std::nullopt;
        }
        offered = *bits;
      }
      params.client_max_window_bits = std::min(offered, options.client_max_window_bits);
      params.send_client_max_window_bits = params.client_max_window_bits < 15;
    } else {
      return std::nullopt;  // RFC 7692 §7: an unknown parameter declines the offer
    }
  }
  return params;
}

void check_zlib_init(int rc) {
  if (rc == Z_MEM_ERROR) {
    throw std::bad_alloc();
  }
  // Z_STREAM_ERROR or Z_VERSION_ERROR: parameters or library that this code never passes.
  if (rc != Z_OK) {
    throw std::logic_error("zlib stream initialisation failed");
  }
}

// Reserves room for `size` bytes without letting the vector's growth policy go past `limit`.
void reserve_within(std::vector<char>& out, size_t size, size_t limit) {
  if (size > out.capacity()) {
    out.reserve(std::min(limit, std::max(size, 2 * out.capacity())));
  }
}

// Returns this thread's output buffer of kInflateChunk bytes for inflate(). Resizing the output
// vector by a chunk instead would zero 16 KiB on every feed() and finish(). The buffer is left
// uninitialised because zlib only writes to it.
char* inflate_scratch() {
  thread_local std::unique_ptr<char[]> scratch;
  if (!scratch) {
    scratch = std::make_unique_for_overwrite<char[]>(kInflateChunk);
  }
  return scratch.get();
}

}  // namespace

std::optional<DeflateParams> negotiate_permessage_deflate(const std::vector<ExtensionOffer>& offers,
                                                          const DeflateOptions& options) {
  if (!options.enabled) {
    return std::nullopt;
  }
  for (const ExtensionOffer& offer : offers) {
    if (std::optional<DeflateParams> params = accept_offer(offer, options)) {
      return params;
    }
  }
  return std::nullopt;
}

std::optional<DeflateParams> negotiate_permessage_deflate(const net::HttpRequest& request,
                                                          const DeflateOptions& options) {
  if (!options.enabled) {
    return std::nullopt;
  }
  return negotiate_permessage_deflate(parse_extension_offers(request), options);
}

std::string deflate_response_header(const DeflateParams& params) {
  std::string line = "Sec-WebSocket-Extensions: ";
  line.append(kPermessageDeflate);
  if (params.server_no_context_takeover) {
    line.append("; server_no_context_takeover");
  }
  if (params.client_no_context_takeover) {
    line.append("; client_no_context_takeover");
  }
  if (params.send_server_max_window_bits) {
    line.append("; server_max_window_bits=" + std::to_string(params.server_max_window_bits));
  }
  if (params.send_client_max_window_bits) {
    line.append("; client_max_window_bits=" + std::to_string(params.client_max_window_bits));
  }
  line.append("\r\n");
  return line;
}

Inflater::Inflater(const DeflateParams& params)
    : window_bits_(std::max(params.client_max_window_bits, kMinZlibWindowBits)),
      reset_after_message_(params.client_no_context_takeover) {}

Inflater::~Inflater() {
  if (stream_) {
    inflateEnd(stream_.get());
  }
}

InflateStatus Inflater::feed(std::string_view input, std::vector<char>& out, size_t limit) {
  if (!stream_) {
    auto stream = std::make_unique<z_stream_s>();
    check_zlib_init(inflateInit2(stream.get(), -window_bits_));
    stream_ = std::move(stream);
  }
  // avail_in is 32 bits wide.
  while (!input.empty() && !final_block_seen_) {
    const size_t piece = std::min<size_t>(input.size(), UINT_MAX);
    const InflateStatus status = run(input.substr(0, piece), out, limit);
    if (status != InflateStatus::kOk) {
      return status;
    }
    input.remove_prefix(piece);
  }
  return InflateStatus::kOk;
}

InflateStatus Inflater::finish(std::vector<char>& out, size_t limit) {
  InflateStatus status = InflateStatus::kOk;
  if (final_block_seen_) {
    // The stream already ended, and a fresh one would read the tail as a stored block header
    // that lacks its last byte, which breaks the next message.
    final_block_seen_ = false;
  } else {
    status = feed(std::string_view(kFlushTail, sizeof kFlushTail), out, limit);
  }
  if (status == InflateStatus::kOk && reset_after_message_) {
    inflateReset(stream_.get());
  }
  return status;
}

void Inflater::restart_after_final_block() {
  z_stream_s& z = *stream_;
  final_block_seen_ = true;
  if (reset_after_message_) {
    inflateReset(&z);
    return;
  }
  // inflateReset() empties the window, but RFC 7692 §7.2.2 has the next message decompressed
  // with the window of this one, so it is copied out and set back as a dictionary.
  auto window = std::make_unique_for_overwrite<Bytef[]>(size_t{1} << window_bits_);
  uInt length = 0;
  inflateGetDictionary(&z, window.get(), &length);
  inflateReset(&z);
  // zlib 1.2.13 keeps its window buffer across inflateReset(), so on a raw stream this call
  // allocates nothing and does not fail. Were it to fail, a fresh window is the fallback, and a
  // next message that refers back is rejected as invalid data.
  if (length > 0 && inflateSetDictionary(&z, window.get(), length) != Z_OK) {
    inflateReset(&z);
  }
}

InflateStatus Inflater::run(std::string_view input, std::vector<char>& out, size_t limit) {
  z_stream_s& z = *stream_;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  z.avail_in = static_cast<uInt>(input.size());
  for (;;) {
    const size_t room = limit - out.size();
    if (room == 0) {
      // The output is full: one more byte of output means the message is too big.
      unsigned char probe = 0;
      z.next_out = &probe;
      z.avail_out = 1;
      const int rc = inflate(&z, Z_SYNC_FLUSH);
      if (z.avail_out == 0) {
        return InflateStatus::kTooBig;
      }
      if (rc == Z_STREAM_END) {
        restart_after_final_block();
        return InflateStatus::kOk;
      }
      if (rc == Z_BUF_ERROR || (rc == Z_OK && z.avail_in == 0)) {
        return InflateStatus::kOk;
      }
      if (rc != Z_OK) {
        return InflateStatus::kInvalid;
      }
      continue;  // input consumed without output, such as a block header
    }

    // At most `room` bytes of output, so the limit check stays exact.
    const size_t chunk = std::min(room, kInflateChunk);
    char* scratch = inflate_scratch();
    z.next_out = reinterpret_cast<Bytef*>(scratch);
    z.avail_out = static_cast<uInt>(chunk);
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    const size_t produced = chunk - z.avail_out;
    reserve_within(out, out.size() + produced, limit);
    out.insert(out.end(), scratch, scratch + produced);
    if (rc == Z_STREAM_END) {
      restart_after_final_block();
      return InflateStatus::kOk;
    }
    if (rc == Z_BUF_ERROR) {
      return InflateStatus::kOk;  // no progress possible until more input comes
    }
    if (rc != Z_OK) {
      return InflateStatus::kInvalid;
    }
    if (z.avail_in == 0 && z.avail_out != 0) {
      return InflateStatus::kOk;
    }
  }
}

Deflater::Deflater(const DeflateParams& params)
    : window_bits_(std::min(kServerWindowBits, params.server_max_window_bits)),
      reset_after_message_(params.server_no_context_takeover) {}

Deflater::~Deflater() {
  if (stream_) {
    deflateEnd(stream_.get());
  }
}

std::string Deflater::compress(std::string_view payload) {
  if (!stream_) {
    auto stream = std::make_unique<z_stream_s>();
    check_zlib_init(deflateInit2(stream.get(), Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits_,
                                 kDeflateMemLevel, Z_DEFAULT_STRATEGY));
    stream_ = std::move(stream);
  }
  z_stream_s& z = *stream_;
  // deflateBound() covers Z_FINISH. A sync flush adds an empty stored block of 5 bytes, and
  // pending bits of earlier messages do not carry over, since each ended with a flush.
  std::vector<char> buffer(deflateBound(&z, static_cast<uLong>(payload.size())) + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  z.avail_in = static_cast<uInt>(payload.size());
  size_t produced = 0;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buffer.data() + produced);
    z.avail_out = static_cast<uInt>(buffer.size() - produced);
    const int rc = deflate(&z, Z_SYNC_FLUSH);
    produced = buffer.size() - z.avail_out;
    // Z_BUF_ERROR only means that no progress was possible, which a full buffer explains.
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      throw std::logic_error("deflate failed on a valid stream");
    }
    if (z.avail_out != 0) {
      break;
    }
    buffer.resize(buffer.size() + buffer.size() / 2);
  }
  if (produced >= sizeof kFlushTail &&
      std::memcmp(buffer.data() + produced - sizeof kFlushTail, kFlushTail, sizeof kFlushTail) == 0) {
    produced -= sizeof kFlushTail;
  }
  std::string out(buffer.data(), produced);
  if (reset_after_message_) {
    deflateReset(&z);
  }
  return out;
}

}  // namespace parley::ws
