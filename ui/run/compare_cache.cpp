#include "run/compare_cache.h"

#include <QFileInfo>

namespace attn::ui {

CompareCache::CompareCache(QObject* parent) : QObject(parent) {
  connect(&runner_, &JobRunner::failed, this, [this](int, const QString& m) {
    computing_ = false;
    Q_EMIT failed(m);
  });
  connect(&runner_, &JobRunner::cancelled, this, [this](int) { computing_ = false; });
}

void CompareCache::set_a(const RecordingPtr& a) {
  a_ = a;
  drop();
}

void CompareCache::set_b(const RecordingPtr& b, const QString& source) {
  b_ = b;
  b_source_ = b ? source : QString();
  drop();
}

void CompareCache::open_b(const QString& path) {
  runner_.start([this, path](JobContext& ctx) {
    RecordingPtr rec = AttentionRecording::open(fspath(path));
    ctx.post([this, rec, path] {
      set_b(rec, QFileInfo(path).fileName());
      Q_EMIT opened();
    });
  });
}

void CompareCache::drop() {
  runner_.cancel();
  computing_ = false;
  result_.reset();
  check_ = a_ && b_ ? check_comparable(a_->meta(), b_->meta()) : CompareCheck{};
  Q_EMIT changed();
}

void CompareCache::request() {
  if (result_ || computing_ || !check_.comparable) return;
  computing_ = true;
  const RecordingPtr a = a_, b = b_;
  runner_.start([this, a, b](JobContext& ctx) {
    auto result = std::make_shared<const Comparison>(compare_recordings(*a, *b, ctx.progress_fn(0.0, 1.0)));
    ctx.post([this, a, b, result] {
      if (a != a_ || b != b_) return;
      computing_ = false;
      result_ = result;
      Q_EMIT computed();
    });
  });
}

void CompareCache::compute_now() {
  if (result_ || !check_.comparable) return;
  runner_.cancel();
  computing_ = false;
  result_ = std::make_shared<const Comparison>(compare_recordings(*a_, *b_));
  Q_EMIT computed();
}

}  // namespace attn::ui
