#pragma once
// Loads models, runs them (on text, or on a picture for image models) and opens recordings
// through one JobRunner, delivering results in stages: model → tokens → progress per layer →
// recording (with the picture of an image recording) → analysis → finished. A newer
// request supersedes an older one; every failure arrives as failed(message), naming the file
// and the problem (attn::Error's message).
#include <QObject>
#include <QString>
#include <QStringList>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "image/picture.h"
#include "nn/model.h"
#include "session/ablate.h"
#include "session/generate.h"
#include "qt_convert.h"
#include "analysis/recording_analysis.h"
#include "run/job_runner.h"

namespace attn::ui {

using ModelPtr = std::shared_ptr<const Model>;

struct RunRequest {
  QString model_dir;
  QString text;
  QString pair;           // empty: none
  QString image;          // image models: the picture file (PNG, JPEG, BMP) instead of text
  bool truncate = true;   // cut input longer than the model's positions
  bool record_qkv = false;  // also record per-head Q/K/V and scores (teaching mode)
  std::vector<int> layers;  // model layers to record; empty = all
  bool force = false;       // run even above the memory budget
  bool f16 = false;         // hold the recording at half precision (half the memory)
  QString stream_to;        // write the recording to this file layer by layer (one layer in memory)
  // Heads (model layers) to switch off, mean-ablate or patch from `clean_text`: the run then
  // also runs the input plainly, and the recording keeps its predictions (before → after).
  std::vector<HeadRef> ablated;
  Ablation ablation = Ablation::Zero;
  QString clean_text;
};

// An ablation sweep (session/ablate.h) of a text or picture.
struct SweepRequest {
  QString model_dir;
  QString text, pair, image;
  Ablation mode = Ablation::Zero;
  QString clean_text;   // a patch's clean input
  SweepUnit unit = SweepUnit::Heads;
  QString target;       // a token or label; empty: the top prediction
  int position = -1;    // -1: the prediction's position
  // Or a generation's step (session/ablate.h target_generation_step): its prefix is the input,
  // its chosen token the target; text, pair, image and target are then ignored.
  RecordingPtr generation;
  int step = -1;
};

using SweepPtr = std::shared_ptr<const SweepResult>;

// Text generated after a prompt (session/generate.h), recorded for the timeline.
struct GenerationRequest {
  QString model_dir;
  QString text;  // the prompt
  int max_new_tokens = 20;
  Sampling sampling;
  std::vector<int> layers;  // model layers to record; empty = all
  bool force = false;       // run even above the memory budget
  bool f16 = false;         // hold the recording at half precision
};

// A run the memory guard stopped before it started, and the smaller runs that would fit:
// the window asks the user which to do (or to cancel).
struct MemoryOffer {
  RunRequest request;
  QString model;
  int tokens = 0;
  uint64_t needed = 0, budget = 0;   // bytes
  uint64_t weights = 0;              // the model's weights, mapped from disk (not in `needed`)
  uint64_t physical = 0;             // this machine's memory; 0 when unknown
  std::vector<int> layers;           // the most layers that fit; empty when not even one does
  uint64_t layers_needed = 0;
  uint64_t without_qkv_needed = 0;   // when the request records Q/K/V: the run without them
  uint64_t f16_needed = 0;           // every layer held at half precision; 0 when already asked
  uint64_t stream_needed = 0;        // streamed to a file: memory for one layer; 0 when already asked
  uint64_t stream_file = 0;          // and the file's size at half precision
  // Whether a run needing `bytes` fits: within the budget, and with the weights within memory.
  bool fits(uint64_t bytes) const { return bytes > 0 && memory_fits({.recording = bytes, .weights = weights}, budget, physical); }
};

class RunController : public QObject {
  Q_OBJECT
 public:
  explicit RunController(QObject* parent = nullptr);

  void load_model(const QString& dir);
  void run(const RunRequest& request);  // loads the model first when it is not the loaded one
  // Generates (loading the model first when needed); the recording arrives as a run's. Above
  // the memory budget it fails, saying what to change.
  void generate(const GenerationRequest& request);
  // Stops a generation early, keeping the tokens made so far (cancel() keeps nothing).
  void stop_generation();
  bool generating() const { return generating_; }
  void open_recording(const QString& path);
  // Changes every head (or layer) alone and measures the target (loading the model first when
  // needed); the result arrives as sweep_ready.
  void sweep(const SweepRequest& request);
  void cancel() { runner_.cancel(); }
  bool busy() const { return runner_.busy(); }
  const ModelPtr& model() const { return model_; }
  JobRunner& runner() { return runner_; }

 Q_SIGNALS:
  void model_loaded(const attn::ui::ModelPtr& model);
  void tokens_ready(const QStringList& tokens, bool truncated);
  void progress(double fraction, const QString& stage);
  // A generation's text so far (the prompt not included), after each token.
  void generated_text(const QString& text);
  // `source`: the recording file, or empty for a fresh run.
  void recording_ready(const attn::ui::RecordingPtr& recording, const QString& source);
  // Right after recording_ready, for image recordings: the picture the model saw (or why it
  // is missing, for a recording whose picture cannot be found).
  void picture_ready(const attn::ui::RecordingPtr& recording, const attn::ui::PicturePtr& picture);
  void analysis_ready(const attn::ui::RecordingPtr& recording, const attn::AnalysisPtr& analysis);
  void sweep_ready(const attn::ui::SweepPtr& sweep);
  void finished();
  void cancelled();
  void failed(const QString& message);
  // The run needs more memory than the budget (util/memory.h): nothing was run.
  void memory_offer(const attn::ui::MemoryOffer& offer);
  void busy_changed(bool busy);

 private:
  ModelPtr cached_model(const QString& dir) const;
  void deliver_model(const JobContext& ctx, const ModelPtr& model);
  void deliver_recording(const JobContext& ctx, const RecordingPtr& rec, const QString& source, const PicturePtr& picture);
  // Applies the request's layers and force to `options`; when the run would exceed the
  // memory budget, posts memory_offer and returns false.
  bool within_budget(const JobContext& ctx, const Model& model, int tokens, RunOptions& options, const RunRequest& req);
  // The worker's part of a run, through the core's pipeline (session/run.h): text, or a
  // picture file decoded here; null when the memory guard stopped it. A streamed run's
  // recording is its file, opened, and `source` names it.
  RecordingPtr run_input(const JobContext& ctx, const Model& model, const RunRequest& req, PicturePtr* picture, QString* source);

  // The model of `dir`, loaded on the worker (and delivered) when it is not the cached one.
  ModelPtr model_for(const JobContext& ctx, const QString& dir, const ModelPtr& cached);

  JobRunner runner_;
  ModelPtr model_;
  bool generating_ = false;
  std::shared_ptr<std::atomic<bool>> stop_;  // the current generation's "stop, keep what you have"
};

}  // namespace attn::ui

Q_DECLARE_METATYPE(attn::ui::ModelPtr)
Q_DECLARE_METATYPE(attn::ui::MemoryOffer)
Q_DECLARE_METATYPE(attn::AnalysisPtr)
Q_DECLARE_METATYPE(attn::ui::SweepPtr)
