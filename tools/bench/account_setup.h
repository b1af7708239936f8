#pragma once

#include <string>
#include <vector>

#include "tools/bench/options.h"
#include "tools/bench/scenarios.h"

namespace parley::bench {

// Registers and logs in `count` new users through the HTTP API, on --setup-threads connections.
bool create_users(const Options& options, int count, std::vector<BenchUser>& users,
                  std::string& error);

// Makes users[2k] and users[2k+1] friends for every k.
bool befriend_pairs(const Options& options, const std::vector<BenchUser>& users,
                    std::string& error);

// Makes users[0] friends with every other user and creates a group of all of them, which
// users[0] owns. Returns the group id, or 0 with `error` set.
int64_t create_group(const Options& options, const std::vector<BenchUser>& users,
                     std::string& error);

}  // namespace parley::bench
