#pragma once
// `attnscope export`: renders a view of a recording (or of a fresh run) to PNG / SVG / PDF, or
// writes its numbers to CSV / NPY, headless, with the GUI's own rendering code.
#include <vector>

#include "cli_args.h"

namespace attn::cli {

const std::vector<OptionSpec>& export_options();
// Runs the command; argc/argv are the process's (Qt wants them).
int cmd_export(const Args& args, int argc, char** argv);

}  // namespace attn::cli
