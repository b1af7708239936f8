#pragma once
// Parsing of the Sec-WebSocket-Extensions request header (RFC 6455 §9.1):
//
//   extension-list  = 1#extension
//   extension       = extension-token *( ";" extension-param )
//   extension-param = token [ "=" ( token / quoted-string ) ]
//
// Pure functions over values: any thread may call them.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_message.h"

namespace parley::ws {

struct ExtensionParam {
  std::string name;
  // The value with quotes and escapes removed, or nullopt for a parameter without "=".
  std::optional<std::string> value;
};

// One element of the extension list: an extension the client offers, with its parameters.
struct ExtensionOffer {
  std::string name;
  std::vector<ExtensionParam> params;
  // False when the element breaks the grammar above (an empty name, a parameter without a
  // name, a quoted value that is not closed or not a token). The server declines such offers.
  bool well_formed = true;
};

// Returns the offers of every Sec-WebSocket-Extensions line of `request`, in the client's order
// of preference. Empty list elements are skipped. Extension and parameter names are lowercased,
// because §9.1 compares them case-insensitively.
std::vector<ExtensionOffer> parse_extension_offers(const net::HttpRequest& request);

// Parses one header value and appends its offers to `out`.
void parse_extension_list(std::string_view value, std::vector<ExtensionOffer>& out);

}  // namespace parley::ws
