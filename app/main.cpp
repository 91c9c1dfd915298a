// attnscope: the desktop application and its command line, one binary.
//   attnscope                 start the GUI (when built with it)
//   attnscope COMMAND ...     run a command-line subcommand (see --help)
#include <cstring>
#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::cout << "Usage: attnscope [COMMAND] [OPTIONS]\nSee what transformer models attend to.\n\n" << attn::cli::commands_help();
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--version") == 0) {
    std::cout << "attnscope " << ATTN_VERSION << "\n";
    return 0;
  }
  const int code = attn::cli::run_command(argc, argv);
  if (code >= 0) return code;
  if (argc >= 2 && argv[1][0] != '-') {
    std::cerr << "attnscope: unknown command '" << argv[1] << "'\n\n" << attn::cli::commands_help();
    return 2;
  }
  std::cerr << "attnscope: the GUI is not built yet; use a command.\n\n" << attn::cli::commands_help();
  return 2;
}
