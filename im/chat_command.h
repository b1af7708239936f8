#pragma once
// Decoding of the chat WebSocket's commands: one JSON text frame becomes one checked command,
// or the error to send back. Pure functions with no I/O, so any thread may call them.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "store/types.h"

namespace parley::im {

// cmd 0: the client checks that the connection is alive. The reply is {"cmd":0}.
struct PingCommand {};

// cmd 10 (direct) or 11 (group): a message to store and deliver. `message` has sender, dst,
// conv, cid, media, content, url, pic, memo and amount set. The store assigns id, seq and ts.
struct SendCommand {
  store::Message message;
};

// cmd 30: when `by_conv`, the messages of `conv` with seq above `after`; otherwise the user's
// messages in every conversation with ts (Unix ms) above `after`.
struct SyncCommand {
  bool by_conv = false;
  store::ConvKey conv;
  int64_t after = 0;
};

// cmd 40: the user has read `conv` up to `seq`.
struct ReadCommand {
  store::ConvKey conv;
  int64_t seq = 0;
};

// cmd 41: the user is typing to the user `dst`.
struct TypingCommand {
  int64_t dst = 0;
};

// cmd 42: the user takes back the message `id`.
struct RecallCommand {
  int64_t id = 0;
};

// A frame that is not a valid command. The session replies with error_frame(cid, code,
// message). `cid` is the frame's cid when decoding got far enough to read a valid one.
struct CommandError {
  std::string cid;
  std::string code;  // "invalid_argument" or "too_large"
  std::string message;
};

using ChatCommand = std::variant<CommandError, PingCommand, SendCommand, SyncCommand, ReadCommand,
                                 TypingCommand, RecallCommand>;

// Decodes one text frame sent by the user `user_id`. Checks the JSON syntax, the types and
// limits of every field the command uses, and the rules that need only the user's id (a direct
// message or a typing notice to oneself is invalid). Whether the user may write to or read a
// conversation is the store's business, checked when the command runs.
ChatCommand decode_chat_command(std::string_view text, int64_t user_id);

}  // namespace parley::im
