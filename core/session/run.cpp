#include "session/run.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "util/error.h"

namespace attn {

namespace {

PreparedRun prepare_text(const Model& model, PreparedRun run) {
  const RunRequest& req = run.request;
  if (req.image || !req.image_path.empty())
    throw Error(model.name() + " is a text model (" + model.config().family + "): type a text for it, or choose an image model (ViT, DeiT) for " +
                req.image_path.filename().string());
  if (req.ids) {
    const Tokenizer& tokenizer = model.tokenizer();
    for (int32_t id : *req.ids)
      if (id < 0 || id >= tokenizer.vocab_size())
        throw Error("token id " + std::to_string(id) + " is outside " + model.name() + "'s vocabulary (0-" + std::to_string(tokenizer.vocab_size() - 1) + ")");
    run.encoding = tokenizer.encode_ids(*req.ids);
    run.full_tokens = run.encoding.size();
    if (run.encoding.size() > size_t(model.config().max_positions))
      throw Error("the input has " + std::to_string(run.encoding.size()) + " tokens but " + model.name() + " has only " +
                  std::to_string(model.config().max_positions) + " positions");
  } else {
    const auto pair = req.pair ? std::optional<std::string_view>(*req.pair) : std::nullopt;
    run.encoding = model.encode(req.text, pair, req.truncate, &run.full_tokens);
  }
  run.tokens = int(run.encoding.size());
  if (run.tokens == 0) throw Error(kEmptyInput);
  for (size_t i = 0; i < run.encoding.size(); ++i)
    run.token_strings.push_back(model.display_token(run.encoding.ids[i], run.encoding.tokens[i]));
  run.target = prediction_target(model, &run.encoding);
  return run;
}

PreparedRun prepare_image(const Model& model, PreparedRun run) {
  const RunRequest& req = run.request;
  if (!req.image)
    throw Error(model.name() + " is an image model (" + model.config().family +
                "): open a picture for it (Open image… or drop a PNG, JPEG or BMP file on the window; --image FILE on the command line)");
  run.image = model.preprocess(req.image->view());
  const int p = model.config().patch_size;
  run.tokens = model.config().num_prefix_tokens() + (run.image->pixels.height / p) * (run.image->pixels.width / p);
  run.full_tokens = size_t(run.tokens);
  run.target = prediction_target(model, nullptr);
  return run;
}

}  // namespace

PreparedRun prepare_run(const Model& model, RunRequest request) {
  PreparedRun run;
  run.request = std::move(request);
  run = model.takes_images() ? prepare_image(model, std::move(run)) : prepare_text(model, std::move(run));
  run.options = run.request.options;
  const bool classifier = model.config().head == HeadKind::SequenceClassification || model.takes_images();
  if (run.request.keep_logits && !classifier) run.options.all_logits = true;
  if (run.target && run.target->position >= 0 && !run.options.all_logits) {
    auto& rows = run.options.logits_rows;
    if (std::find(rows.begin(), rows.end(), run.target->position) == rows.end()) rows.insert(rows.begin(), run.target->position);
  }
  return run;
}

RunResult execute_run(const Model& model, const PreparedRun& run) {
  const RunRequest& req = run.request;
  ForwardResult fwd = run.image ? model.forward_image(*run.image, run.options) : model.forward(run.encoding, run.options);
  RunResult out;
  out.recording = std::move(fwd.recording);
  out.stream = std::move(fwd.stream);
  out.truncated = run.truncated();
  RecordingMeta& meta = out.recording->meta_mutable();
  if (run.image) {
    std::error_code ec;
    const auto abs = std::filesystem::absolute(req.image_path, ec);
    if (!req.image_path.empty()) meta.extra["image_path"] = (ec ? req.image_path : abs.lexically_normal()).string();
  } else {
    meta.text = req.text;
    if (req.pair) meta.pair = *req.pair;
  }
  if (run.target && req.top_k > 0 && fwd.logits.rows() > 0) {
    // The target's row: the first kept row at its position.
    int row = 0;
    for (size_t i = 0; i < fwd.logits_rows.size(); ++i)
      if (fwd.logits_rows[i] == run.target->position) {
        row = int(i);
        break;
      }
    out.predictions = top_predictions(model, fwd.logits.middleRows(row, 1), *run.target, req.top_k);
    if (!out.predictions->top.empty()) meta.extra[kPredictionsKey] = out.predictions->to_json();
  }
  if (req.keep_logits && fwd.logits.size() > 0) {
    if (!run.options.all_logits) meta.extra["logits_rows"] = nlohmann::json(fwd.logits_rows).dump();
    out.recording->set_logits(fwd.logits);
  }
  out.logits = std::move(fwd.logits);
  out.logits_rows = std::move(fwd.logits_rows);
  out.hidden = std::move(fwd.hidden);
  return out;
}

RunResult run_model(const Model& model, RunRequest request) { return execute_run(model, prepare_run(model, std::move(request))); }

std::shared_ptr<const AttentionRecording> finish_stream(RunResult& result) {
  if (!result.stream) throw Error("internal error: this run did not stream its recording");
  result.stream->finish(*result.recording);
  const auto path = result.stream->path();
  result.stream.reset();
  return AttentionRecording::open(path);
}

}  // namespace attn
