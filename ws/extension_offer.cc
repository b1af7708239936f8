#include "ws/extension_offer.h"

#include <cctype>

namespace parley::ws {
namespace {

// tchar of RFC 7230 §3.2.6.
bool is_token_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
    return true;
  }
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    if (!is_token_char(c)) {
      return false;
    }
  }
  return true;
}

std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return lower;
}

// Splits `text` at every `separator` outside a quoted-string. An unclosed quote runs to the
// end, and the caller then finds the last piece malformed.
std::vector<std::string_view> split_outside_quotes(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted && c == '\\') {
      ++i;  // quoted-pair: the next byte is literal
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == separator) {
      pieces.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  pieces.push_back(text.substr(start));
  return pieces;
}

// Unquotes a quoted-string value. §9.1 requires the unquoted value to be a token as well.
std::optional<std::string> parse_param_value(std::string_view raw) {
  if (raw.empty() || raw.front() != '"') {
    return is_token(raw) ? std::optional<std::string>(raw) : std::nullopt;
  }
  if (raw.size() < 2 || raw.back() != '"') {
    return std::nullopt;
  }
  std::string value;
  const std::string_view inner = raw.substr(1, raw.size() - 2);
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '\\') {
      if (++i == inner.size()) {
        return std::nullopt;
      }
    } else if (inner[i] == '"') {
      return std::nullopt;
    }
    value.push_back(inner[i]);
  }
  return is_token(value) ? std::optional<std::string>(std::move(value)) : std::nullopt;
}

ExtensionOffer parse_offer(std::string_view element) {
  ExtensionOffer offer;
  const std::vector<std::string_view> parts = split_outside_quotes(element, ';');
  const std::string_view name = net::detail::trim_ows(parts[0]);
  offer.well_formed = is_token(name);
  offer.name = to_lower(name);
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string_view part = net::detail::trim_ows(parts[i]);
    const size_t equals = part.find('=');
    const std::string_view param_name = net::detail::trim_ows(part.substr(0, equals));
    if (!is_token(param_name)) {
      offer.well_formed = false;
      continue;
    }
    ExtensionParam param{.name = to_lower(param_name), .value = std::nullopt};
    if (equals != std::string_view::npos) {
      param.value = parse_param_value(net::detail::trim_ows(part.substr(equals + 1)));
      if (!param.value) {
        offer.well_formed = false;
      }
    }
    offer.params.push_back(std::move(param));
  }
  return offer;
}

}  // namespace

void parse_extension_list(std::string_view value, std::vector<ExtensionOffer>& out) {
  for (std::string_view element : split_outside_quotes(value, ',')) {
    if (net::detail::trim_ows(element).empty()) {
      continue;
    }
    out.push_back(parse_offer(element));
  }
}

std::vector<ExtensionOffer> parse_extension_offers(const net::HttpRequest& request) {
  std::vector<ExtensionOffer> offers;
  for (const auto& [name, value] : request.headers) {
    if (name == "sec-websocket-extensions") {
      parse_extension_list(value, offers);
    }
  }
  return offers;
}

}  // namespace parley::ws
