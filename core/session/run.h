#pragma once
// The one run pipeline. Every caller — the window's worker, `attnscope record`, `predict` and
// `export`, the teaching mode's guided examples — runs a model on an input here: the input is
// tokenized (or a picture preprocessed) once, the rows a prediction needs are picked, the
// memory guard is asked, the model runs with the request's hook, and the predictions and
// the input are written into the recording's metadata. Synchronous; progress and cancel go
// through RunOptions::progress.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/image_types.h"
#include "image/preprocess.h"
#include "nn/model.h"
#include "record/recording_stream.h"
#include "session/predictions.h"

namespace attn {

struct RunRequest {
  // Text models: the text and, for BERT-style pairs, a second sentence.
  std::string text;
  std::optional<std::string> pair;
  // Or the input as token ids, special tokens included (the text is then only noted).
  std::optional<std::vector<int32_t>> ids;
  bool truncate = false;  // keep the first tokens of input longer than the model's positions
  // Image models: the decoded picture (imageio/ decodes files) and where it came from.
  std::optional<Rgb8Image> image;
  std::filesystem::path image_path;
  // What to record, the memory budget, the head mask, the caller's hook, progress.
  RunOptions options;
  // Keep the logits in the recording (every position's for LMs; `logits_rows` metadata
  // names the rows when not all are kept).
  bool keep_logits = false;
  int top_k = 5;  // predictions kept; 0 = none
};

// A run after tokenizing (or preprocessing), before the forward pass: enough to show the
// tokens and to ask the memory guard (Model::estimate_memory with `options`).
struct PreparedRun {
  RunRequest request;
  Encoding encoding;                        // text models
  std::optional<PreprocessedImage> image;   // image models
  int tokens = 0;                           // what the model will see
  size_t full_tokens = 0;                   // before truncation
  std::vector<std::string> token_strings;   // as views show them
  std::optional<PredictionTarget> target;   // what the predictions are about
  RunOptions options;                       // the request's, with the prediction's logits row

  bool truncated() const { return full_tokens > size_t(tokens); }
};

struct RunResult {
  std::shared_ptr<AttentionRecording> recording;  // streamed runs: the metadata only
  std::shared_ptr<RecordingStream> stream;        // RunOptions::stream_to's file, until finish_stream
  std::optional<Predictions> predictions;
  RowMatrix logits;              // as ForwardResult
  std::vector<int> logits_rows;
  std::vector<RowMatrix> hidden; // when options.record_hidden
  bool truncated = false;
};

// Tokenizes the text (once) or preprocesses the picture. Throws attn::Error for the wrong
// kind of input (text for an image model, a picture for a text model), empty pictures and
// text too long without `truncate`.
PreparedRun prepare_run(const Model& model, RunRequest request);
// The forward pass of a prepared run (the memory guard first), the predictions, and the
// input in the recording's metadata.
RunResult execute_run(const Model& model, const PreparedRun& run);
// Both.
RunResult run_model(const Model& model, RunRequest request);
// A streamed run (RunOptions::stream_to): completes its file with the metadata and logits the
// run added and opens it (mapped, lazily), for views. Throws attn::Error naming the file.
std::shared_ptr<const AttentionRecording> finish_stream(RunResult& result);

}  // namespace attn
