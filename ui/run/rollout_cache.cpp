#include "run/rollout_cache.h"

namespace attn::ui {

QString rollout_name(const RolloutOptions& o) {
  static const char* fusion[] = {"mean", "max", "min"};
  const QString method = o.method == RolloutMethod::Flow ? QStringLiteral("attention flow") : QStringLiteral("attention rollout");
  QString t = QStringLiteral("%1 (%2 of heads").arg(method, QLatin1String(fusion[int(o.fusion)]));
  if (o.discard_ratio > 0) t += QStringLiteral(", discard %1").arg(double(o.discard_ratio));
  return t + QStringLiteral(")");
}

QString rollout_value_name(const RolloutOptions& o) { return o.method == RolloutMethod::Flow ? QStringLiteral("flow") : QStringLiteral("rollout"); }

RolloutCache::RolloutCache(QObject* parent) : QObject(parent) {
  connect(&runner_, &JobRunner::failed, this, [this](int, const QString& m) {
    computing_ = false;
    Q_EMIT failed(m);
  });
  connect(&runner_, &JobRunner::cancelled, this, [this](int) { computing_ = false; });
  connect(&runner_, &JobRunner::progress, this, [this](int, double fraction, const QString&) {
    progress_ = fraction;
    Q_EMIT progressed(fraction);
  });
}

void RolloutCache::set_recording(const RecordingPtr& recording) {
  recording_ = recording;
  drop();
}

void RolloutCache::set_options(const RolloutOptions& options) {
  if (options.fusion == options_.fusion && options.discard_ratio == options_.discard_ratio && options.first_layer == options_.first_layer &&
      options.last_layer == options_.last_layer && options.method == options_.method)
    return;
  options_ = options;
  drop();
}

void RolloutCache::drop() {
  runner_.cancel();
  computing_ = false;
  result_.reset();
  Q_EMIT changed();
}

void RolloutCache::request() {
  if (result_ || computing_ || !recording_) return;
  recompute();
}

void RolloutCache::recompute() {
  if (!recording_) return;
  computing_ = true;
  progress_ = 0.0;
  const RecordingPtr rec = recording_;
  const RolloutOptions options = options_;
  runner_.start([this, rec, options](JobContext& ctx) {
    auto result = std::make_shared<const RowMatrix>(attention_attribution(*rec, options, ctx.progress_fn(0.0, 1.0)));
    ctx.post([this, rec, result] {
      if (rec != recording_) return;
      computing_ = false;
      result_ = result;
      Q_EMIT computed();
    });
  });
}

void RolloutCache::set_result(std::shared_ptr<const RowMatrix> rollout) {
  runner_.cancel();
  computing_ = false;
  result_ = std::move(rollout);
  Q_EMIT computed();
}

}  // namespace attn::ui
