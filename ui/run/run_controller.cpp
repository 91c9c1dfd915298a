#include "run/run_controller.h"

#include <QFileInfo>

#include "picture_file.h"
#include "session/run.h"
#include "util/error.h"
#include "util/memory.h"

namespace attn::ui {

namespace {

QString canonical(const QString& path) {
  const QString c = QFileInfo(path).canonicalFilePath();
  return c.isEmpty() ? QFileInfo(path).absoluteFilePath() : c;
}

// A patch's clean input; throws when there is none.
std::string clean_input(const QString& text) {
  if (text.trimmed().isEmpty())
    throw Error("patching needs a clean input: type it in the Interventions panel's Clean box (as many tokens as the text)");
  return stdstr(text);
}

}  // namespace

RunController::RunController(QObject* parent) : QObject(parent) {
  connect(&runner_, &JobRunner::progress, this, [this](int, double f, const QString& stage) { Q_EMIT progress(f, stage); });
  connect(&runner_, &JobRunner::finished, this, [this](int) { Q_EMIT finished(); });
  connect(&runner_, &JobRunner::cancelled, this, [this](int) { Q_EMIT cancelled(); });
  connect(&runner_, &JobRunner::failed, this, [this](int, const QString& m) { Q_EMIT failed(m); });
  connect(&runner_, &JobRunner::busy_changed, this, [this](bool busy) {
    if (!busy) generating_ = false;
    Q_EMIT busy_changed(busy);
  });
}

ModelPtr RunController::cached_model(const QString& dir) const {
  if (model_ && canonical(qpath(model_->dir())) == canonical(dir)) return model_;
  return nullptr;
}

void RunController::deliver_model(const JobContext& ctx, const ModelPtr& model) {
  ctx.post([this, model] {
    model_ = model;
    Q_EMIT model_loaded(model);
  });
}

void RunController::deliver_recording(const JobContext& ctx, const RecordingPtr& rec, const QString& source, const PicturePtr& picture) {
  ctx.post([this, rec, source, picture] {
    Q_EMIT recording_ready(rec, source);
    if (picture) Q_EMIT picture_ready(rec, picture);
  });
  // The model view shows the first layers' thumbnails while the rest is analysed.
  const auto partial = [this, &ctx, rec](const AnalysisPtr& a) { ctx.post([this, rec, a] { Q_EMIT analysis_ready(rec, a); }); };
  const AnalysisPtr analysis = analyze(*rec, ctx.progress_fn(0.85, 1.0), partial);
  ctx.post([this, rec, analysis] { Q_EMIT analysis_ready(rec, analysis); });
}

void RunController::load_model(const QString& dir) {
  generating_ = false;
  if (ModelPtr m = cached_model(dir)) {
    Q_EMIT model_loaded(m);
    return;
  }
  runner_.start([this, dir](JobContext& ctx) {
    ctx.report(0.0, QStringLiteral("loading %1").arg(QFileInfo(dir).fileName()));
    ModelPtr model = Model::load(fspath(dir));
    deliver_model(ctx, model);
  });
}

ModelPtr RunController::model_for(const JobContext& ctx, const QString& dir, const ModelPtr& cached) {
  if (cached) return cached;
  ctx.report(0.0, QStringLiteral("loading %1").arg(QFileInfo(dir).fileName()));
  ModelPtr model = Model::load(fspath(dir));
  deliver_model(ctx, model);
  return model;
}

void RunController::run(const RunRequest& req) {
  generating_ = false;
  ModelPtr cached = cached_model(req.model_dir);
  runner_.start([this, req, cached](JobContext& ctx) {
    const ModelPtr model = model_for(ctx, req.model_dir, cached);
    PicturePtr picture;
    QString source;
    const auto rec = run_input(ctx, *model, req, &picture, &source);
    if (rec) deliver_recording(ctx, rec, source, picture);
  });
}

void RunController::generate(const GenerationRequest& req) {
  ModelPtr cached = cached_model(req.model_dir);
  auto stop = std::make_shared<std::atomic<bool>>(false);
  stop_ = stop;
  generating_ = true;
  runner_.start([this, req, cached, stop](JobContext& ctx) {
    const ModelPtr model = model_for(ctx, req.model_dir, cached);
    GenerateRequest g;
    g.text = stdstr(req.text);
    g.max_new_tokens = req.max_new_tokens;
    g.sampling = req.sampling;
    g.options.layers = req.layers;
    if (req.f16) g.options.storage = DType::F16;
    if (req.force) g.options.memory_budget = kNoMemoryLimit;
    const ProgressFn progress = ctx.progress_fn(0.02, 0.85);
    g.options.progress = [progress, stop](double f, std::string_view stage) { return !stop->load() && progress(f, stage); };
    std::string text;
    g.on_step = [this, &ctx, &text](const GenerationStep& step) {
      text += step.chosen.token;
      ctx.post([this, shown = qstr(text)] { Q_EMIT generated_text(shown); });
    };
    const GenerateResult result = attn::generate(*model, std::move(g));
    ctx.post([this, shown = qstr(result.text)] { Q_EMIT generated_text(shown); });  // decoded, without the stop token
    QStringList tokens;
    for (const auto& t : result.recording->meta().tokens) tokens << qstr(t);
    ctx.post([this, tokens] { Q_EMIT tokens_ready(tokens, false); });
    deliver_recording(ctx, result.recording, {}, nullptr);
  });
}

void RunController::stop_generation() {
  if (generating_ && stop_) stop_->store(true);
}

bool RunController::within_budget(const JobContext& ctx, const Model& model, int tokens, RunOptions& options, const RunRequest& req) {
  options.layers = req.layers;
  if (req.f16) options.storage = DType::F16;
  if (!req.stream_to.isEmpty()) options.stream_to = fspath(req.stream_to);
  if (req.force) {
    options.memory_budget = kNoMemoryLimit;
    return true;
  }
  const uint64_t budget = memory_budget(), physical = physical_memory_bytes();
  const MemoryEstimate estimate = model.estimate_memory(tokens, options);
  if (memory_fits(estimate, budget, physical)) return true;
  MemoryOffer offer;
  offer.request = req;
  offer.model = qstr(model.name());
  offer.tokens = tokens;
  offer.needed = estimate.total();
  offer.budget = budget;
  offer.weights = estimate.weights;
  offer.physical = physical;
  offer.layers = model.layers_that_fit(tokens, options, budget);
  if (!offer.layers.empty()) {
    RunOptions fewer = options;
    fewer.layers = offer.layers;
    offer.layers_needed = model.estimate_memory(tokens, fewer).total();
  }
  if (options.storage != DType::F16) {
    RunOptions half = options;
    half.storage = DType::F16;
    offer.f16_needed = model.estimate_memory(tokens, half).total();
  }
  if (options.stream_to.empty()) {
    RunOptions streamed = options;
    streamed.stream_to = "streamed.safetensors";  // only the estimate: nothing is written
    offer.stream_needed = model.estimate_memory(tokens, streamed).total();
    RunOptions half = options;
    half.storage = DType::F16;
    offer.stream_file = model.estimate_memory(tokens, half).recording;
  }
  if (options.record_qkv || options.record_scores) {
    RunOptions plain = options;
    plain.record_qkv = plain.record_scores = false;
    offer.without_qkv_needed = model.estimate_memory(tokens, plain).total();
  }
  ctx.post([this, offer] { Q_EMIT memory_offer(offer); });
  return false;
}

RecordingPtr RunController::run_input(const JobContext& ctx, const Model& model, const RunRequest& req, PicturePtr* picture,
                                     QString* source) {
  attn::RunRequest request;
  if (!req.image.isEmpty()) {
    const QString path = QFileInfo(req.image).absoluteFilePath();
    request.image_path = fspath(path);
    if (model.takes_images()) {  // a text model refuses the picture before it is decoded
      ctx.report(0.01, QStringLiteral("decoding %1").arg(QFileInfo(path).fileName()));
      request.image = imageio::decode_image_file(request.image_path);
      if (ctx.cancelled()) throw Cancelled();
    }
  } else {
    request.text = stdstr(req.text);
    if (!req.pair.isEmpty()) request.pair = stdstr(req.pair);
    request.truncate = req.truncate;
  }
  request.options.record_qkv = request.options.record_scores = req.record_qkv;
  ctx.report(0.03, model.takes_images() ? QStringLiteral("preprocessing") : QStringLiteral("tokenizing"));
  PreparedRun run = prepare_run(model, std::move(request));
  if (!model.takes_images()) {
    QStringList tokens;
    for (const auto& t : run.token_strings) tokens << qstr(t);
    const bool truncated = run.truncated();
    ctx.post([this, tokens, truncated] { Q_EMIT tokens_ready(tokens, truncated); });
  }
  if (!within_budget(ctx, model, run.tokens, run.options, req)) return nullptr;
  run.options.progress = ctx.progress_fn(0.05, 0.85);
  RunResult result;
  if (req.ablated.empty()) {
    result = execute_run(model, run);
  } else {  // the plain run too, for the predictions before → after
    AblationRequest ablation;
    ablation.run = run.request;
    ablation.run.options = run.options;
    ablation.mode = req.ablation;
    if (req.ablation == Ablation::Patch) ablation.clean_text = clean_input(req.clean_text);
    ablation.progress = run.options.progress;
    result = std::move(run_ablation(model, ablation, req.ablated).changed);
  }
  if (model.takes_images()) {  // [CLS] ([DIST]) and one per patch, named by the run
    QStringList tokens;
    for (const auto& t : result.recording->meta().tokens) tokens << qstr(t);
    ctx.post([this, tokens] { Q_EMIT tokens_ready(tokens, false); });
    *picture = make_recording_picture(run.request.image->view(), result.recording->meta());
  }
  if (result.stream) {
    ctx.report(0.85, QStringLiteral("completing %1").arg(QFileInfo(req.stream_to).fileName()));
    *source = req.stream_to;
    return finish_stream(result);
  }
  return result.recording;
}

void RunController::sweep(const SweepRequest& req) {
  generating_ = false;
  ModelPtr cached = cached_model(req.model_dir);
  runner_.start([this, req, cached](JobContext& ctx) {
    const ModelPtr model = model_for(ctx, req.model_dir, cached);
    AblationRequest a;
    if (!req.image.isEmpty()) {
      a.run.image_path = fspath(req.image);
      a.run.image = imageio::decode_image_file(a.run.image_path);
    } else {
      a.run.text = stdstr(req.text);
      if (!req.pair.isEmpty()) a.run.pair = stdstr(req.pair);
      a.run.truncate = true;
    }
    a.mode = req.mode;
    if (req.mode == Ablation::Patch) a.clean_text = clean_input(req.clean_text);
    if (!req.target.isEmpty()) a.target.token = stdstr(req.target);
    a.target.position = req.position;
    if (req.generation) target_generation_step(*model, *req.generation, req.step, a);
    a.progress = ctx.progress_fn(0.02, 1.0);
    auto result = std::make_shared<const SweepResult>(sweep_heads(*model, a, req.unit));
    ctx.post([this, result] { Q_EMIT sweep_ready(result); });
  });
}

void RunController::open_recording(const QString& path) {
  generating_ = false;
  runner_.start([this, path](JobContext& ctx) {
    ctx.report(0.0, QStringLiteral("opening %1").arg(QFileInfo(path).fileName()));
    RecordingPtr rec = AttentionRecording::open(fspath(path));
    PicturePtr picture;
    if (patch_layout(rec->meta())) {
      ctx.report(0.05, QStringLiteral("loading the picture"));
      picture = load_recording_picture(*rec, QFileInfo(path).absolutePath());
    }
    deliver_recording(ctx, rec, path, picture);
  });
}

}  // namespace attn::ui
