#include "run/run_controller.h"

#include <QFileInfo>

#include "image_input.h"
#include "util/memory.h"
#include "run/predictions.h"
#include "util/error.h"

namespace attn::ui {

namespace {

QString canonical(const QString& path) {
  const QString c = QFileInfo(path).canonicalFilePath();
  return c.isEmpty() ? QFileInfo(path).absoluteFilePath() : c;
}

}  // namespace

RunController::RunController(QObject* parent) : QObject(parent) {
  connect(&runner_, &JobRunner::progress, this, [this](int, double f, const QString& stage) { Q_EMIT progress(f, stage); });
  connect(&runner_, &JobRunner::finished, this, [this](int) { Q_EMIT finished(); });
  connect(&runner_, &JobRunner::cancelled, this, [this](int) { Q_EMIT cancelled(); });
  connect(&runner_, &JobRunner::failed, this, [this](int, const QString& m) { Q_EMIT failed(m); });
  connect(&runner_, &JobRunner::busy_changed, this, &RunController::busy_changed);
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
  const AnalysisPtr analysis = analyze(*rec, ctx.progress_fn(0.85, 1.0));
  ctx.post([this, rec, analysis] { Q_EMIT analysis_ready(rec, analysis); });
}

void RunController::load_model(const QString& dir) {
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

void RunController::run(const RunRequest& req) {
  ModelPtr cached = cached_model(req.model_dir);
  runner_.start([this, req, cached](JobContext& ctx) {
    ModelPtr model = cached;
    if (!model) {
      ctx.report(0.0, QStringLiteral("loading %1").arg(QFileInfo(req.model_dir).fileName()));
      model = Model::load(fspath(req.model_dir));
      deliver_model(ctx, model);
    }
    PicturePtr picture;
    const auto rec = model->takes_images() ? run_image(ctx, *model, req, &picture) : run_text(ctx, *model, req);
    if (rec) deliver_recording(ctx, rec, QString(), picture);
  });
}

bool RunController::within_budget(const JobContext& ctx, const Model& model, int tokens, RunOptions& options, const RunRequest& req) {
  options.layers = req.layers;
  if (req.f16) options.storage = DType::F16;
  if (req.force) {
    options.memory_budget = kNoMemoryLimit;
    return true;
  }
  const uint64_t budget = memory_budget();
  const uint64_t needed = model.estimate_memory(tokens, options).total();
  if (needed <= budget) return true;
  MemoryOffer offer;
  offer.request = req;
  offer.model = qstr(model.name());
  offer.tokens = tokens;
  offer.needed = needed;
  offer.budget = budget;
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
  if (options.record_qkv || options.record_scores) {
    RunOptions plain = options;
    plain.record_qkv = plain.record_scores = false;
    offer.without_qkv_needed = model.estimate_memory(tokens, plain).total();
  }
  ctx.post([this, offer] { Q_EMIT memory_offer(offer); });
  return false;
}

std::shared_ptr<AttentionRecording> RunController::run_text(const JobContext& ctx, const Model& model, const RunRequest& req) {
  if (!req.image.isEmpty())
    throw Error(model.name() + " is a text model (" + model.config().family + "): type a text for it, or choose an image model (ViT, DeiT) for " +
                QFileInfo(req.image).fileName().toStdString());
  ctx.report(0.02, QStringLiteral("tokenizing"));
  const std::string text = stdstr(req.text), pair = stdstr(req.pair);
  const auto pair_view = req.pair.isEmpty() ? std::nullopt : std::optional<std::string_view>(pair);
  const size_t full = req.truncate ? model.tokenizer().encode(text, pair_view).size() : 0;
  const Encoding enc = model.encode(text, pair_view, req.truncate);
  QStringList tokens;
  for (size_t i = 0; i < enc.size(); ++i) tokens << qstr(model.display_token(enc.ids[i], enc.tokens[i]));
  const bool truncated = full > enc.size();
  ctx.post([this, tokens, truncated] { Q_EMIT tokens_ready(tokens, truncated); });

  RunOptions options;
  options.record_qkv = options.record_scores = req.record_qkv;
  options.progress = ctx.progress_fn(0.05, 0.85);
  const auto target = prediction_target(model, &enc);
  if (target && target->position >= 0) options.logits_rows = {target->position};
  if (!within_budget(ctx, model, int(enc.size()), options, req)) return nullptr;
  ForwardResult result = model.forward(enc, options);
  result.recording->meta_mutable().text = text;
  result.recording->meta_mutable().pair = pair;
  if (target)
    if (const std::string j = predictions_json(model, result, *target); !j.empty()) result.recording->meta_mutable().extra[kPredictionsKey] = j;
  return result.recording;
}

std::shared_ptr<AttentionRecording> RunController::run_image(const JobContext& ctx, const Model& model, const RunRequest& req,
                                                             PicturePtr* picture) {
  if (req.image.isEmpty())
    throw Error(model.name() + " is an image model (" + model.config().family +
                "): open a picture for it (Open image… or drop a PNG, JPEG or BMP file on the window)");
  const QString path = QFileInfo(req.image).absoluteFilePath();
  ctx.report(0.01, QStringLiteral("decoding %1").arg(QFileInfo(path).fileName()));
  const Rgb8Image rgb = cli::decode_image_file(fspath(path));
  if (ctx.cancelled()) throw Cancelled();
  ctx.report(0.03, QStringLiteral("preprocessing"));
  const PreprocessedImage input = model.preprocess(rgb.view());
  RunOptions options;
  options.record_qkv = options.record_scores = req.record_qkv;
  options.progress = ctx.progress_fn(0.05, 0.85);
  const int patches = (input.pixels.height / model.config().patch_size) * (input.pixels.width / model.config().patch_size);
  if (!within_budget(ctx, model, model.config().num_prefix_tokens() + patches, options, req)) return nullptr;
  ForwardResult result = model.forward_image(input, options);
  RecordingMeta& meta = result.recording->meta_mutable();
  meta.extra["image_path"] = stdstr(path);
  QStringList tokens;  // [CLS] ([DIST]) and one per patch
  for (const auto& t : meta.tokens) tokens << qstr(t);
  ctx.post([this, tokens] { Q_EMIT tokens_ready(tokens, false); });
  if (const auto target = prediction_target(model, nullptr))
    if (const std::string j = predictions_json(model, result, *target); !j.empty()) meta.extra[kPredictionsKey] = j;
  *picture = make_recording_picture(rgb.view(), meta);
  return result.recording;
}

void RunController::open_recording(const QString& path) {
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
