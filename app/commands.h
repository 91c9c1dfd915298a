#pragma once
// The attnscope subcommands. Each returns the process exit code: 0 on success, 1 when the
// work failed (the message is on stderr), 2 for a usage error.
#include <string>

namespace attn::cli {

// Runs argv[1] as a subcommand; returns -1 when argv[1] is not one.
int run_command(int argc, char** argv);
// Names of the subcommands, for the top-level help.
std::string commands_help();

}  // namespace attn::cli
