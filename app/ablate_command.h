#pragma once
// `attnscope ablate`: switch heads off, mean-ablate or patch them and show how the prediction
// changes, or sweep every head (layer) and rank them by their effect (session/ablate.h). Also
// declares what the model-running commands share (defined in commands.cpp).
#include <vector>

#include "cli_args.h"
#include "session/ablate.h"
#include "session/run.h"

namespace attn::cli {

// The recording options (--qkv, --scores, --layers, --dtype, --force).
RunOptions run_options(const Args& a);
// Throws UsageError for --image given to a text model or --text to an image model.
void check_input_kind(const Args& a, const Model& model);
// The input (--text/--pair or --image) and run_options.
RunRequest run_request(const Args& a, const Model& model);

// The request --text/--image/--generation, --mode, --clean, --target… describe (shared with
// `export --view sweep`).
AblationRequest ablation_request(const Args& a, const Model& model);
// heads | layers (--sweep), else a UsageError.
SweepUnit sweep_unit(const std::string& name);
// Clears the progress line ablation_request's progress callback draws on a terminal.
void clear_progress();

const std::vector<OptionSpec>& ablate_options();
// The options that set up a sweep (--sweep, --mode, --clean, --target, …, --generation), as
// ablate_options() describes them: `export --view sweep` takes them too.
std::vector<OptionSpec> sweep_options();
int cmd_ablate(const Args& a);

}  // namespace attn::cli
