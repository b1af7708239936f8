#pragma once
// Message flow between loops: submission to a conversation's owner loop, the user directory,
// and fan-out of encoded frames to every session of every recipient.
//
// Path of a chat message (each arrow is a post to another loop's inbox, so order is kept per
// conversation because each hop is FIFO from one producer):
//   session loop --submit--> owner loop --store writer (commit)--> owner loop
//     owner loop --ack--> session loop
//     owner loop --route--> directory loop of each recipient --> loops holding their sessions
//
// Threads: functions taking a LoopContext run on that context's loop; the others may be called
// from any thread (they only post).

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include "im/server.h"
#include "net/connection.h"

namespace parley::im {

// Sends a message to its conversation's owner loop, which checks authorization, stores it,
// acknowledges it to the sending session and fans it out. Any thread.
void submit_message(Server& server, Submission submission);

// Queues `frame` on every session of every user in `users`, except connection `exclude_conn`
// (0 excludes nothing). The frame is encoded once and shared. Any thread.
void route_frame(Server& server, const std::vector<int64_t>& users, net::SharedBytes frame,
                 uint64_t exclude_conn = 0);

// Sends a text frame to one session, if it is still open. Any thread.
void send_to_session(Server& server, int loop_index, uint64_t conn_id, std::string frame);
// Sends the ack or error for a submitted message to the session that sent it, which counts
// it off its messages in flight. Any thread.
void answer_submission(Server& server, int loop_index, uint64_t conn_id, std::string frame);

// Starts the timer that drops conversations unused for ten minutes from this owner loop's
// cache. Loop thread of `ctx`.
void start_conv_eviction(LoopContext& ctx);

// Drops the owner loop's cached authorization and member list of a conversation, after a
// friendship, block or membership change. Any thread.
void invalidate_conv(Server& server, const store::ConvKey& conv);

// Closes with 1008 every WebSocket opened with this token (after logout). Any thread.
void close_token_sessions(Server& server, const std::string& token_hash);

// Records a session of `user_id` opening or closing on `ctx`'s loop. Loop thread.
void session_opened(LoopContext& ctx, int64_t user_id);
void session_closed(LoopContext& ctx, int64_t user_id);

// Finds which of `users` have at least one session, and calls `done` on loop `origin_loop`
// with that set. Any thread.
void query_online(Server& server, int origin_loop, std::vector<int64_t> users,
                  std::function<void(std::unordered_set<int64_t>)> done);

}  // namespace parley::im
