#include "run/run_controller.h"

#include <QFileInfo>

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

void RunController::deliver_recording(const JobContext& ctx, const RecordingPtr& rec, const QString& source) {
  ctx.post([this, rec, source] { Q_EMIT recording_ready(rec, source); });
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
    if (model->takes_images())
      throw Error(model->name() + " is an image model (" + family_name(model->config().family) +
                  "): run it on a picture with 'attnscope record --image', then open the recording here");
    ctx.report(0.02, QStringLiteral("tokenizing"));
    const std::string text = stdstr(req.text), pair = stdstr(req.pair);
    const auto pair_view = req.pair.isEmpty() ? std::nullopt : std::optional<std::string_view>(pair);
    const size_t full = req.truncate ? model->tokenizer().encode(text, pair_view).size() : 0;
    const Encoding enc = model->encode(text, pair_view, req.truncate);
    QStringList tokens;
    for (size_t i = 0; i < enc.size(); ++i) tokens << qstr(model->display_token(enc.ids[i], enc.tokens[i]));
    const bool truncated = full > enc.size();
    ctx.post([this, tokens, truncated] { Q_EMIT tokens_ready(tokens, truncated); });

    RunOptions options;
    options.progress = ctx.progress_fn(0.05, 0.85);
    ForwardResult result = model->forward(enc, options);
    result.recording->meta_mutable().text = text;
    result.recording->meta_mutable().pair = pair;
    deliver_recording(ctx, result.recording, QString());
  });
}

void RunController::open_recording(const QString& path) {
  runner_.start([this, path](JobContext& ctx) {
    ctx.report(0.0, QStringLiteral("opening %1").arg(QFileInfo(path).fileName()));
    RecordingPtr rec = AttentionRecording::open(fspath(path));
    deliver_recording(ctx, rec, path);
  });
}

}  // namespace attn::ui
