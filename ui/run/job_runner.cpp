#include "run/job_runner.h"

#include <QMetaObject>
#include <new>

#include "util/error.h"

namespace attn::ui {

void JobContext::report(double fraction, const QString& stage) const {
  auto state = state_;
  JobRunner* runner = runner_;
  post([runner, state, fraction, stage] { Q_EMIT runner->progress(state->id, fraction, stage); });
}

ProgressFn JobContext::progress_fn(double from, double to) const {
  return [this, from, to](double f, std::string_view stage) {
    if (cancelled()) return false;
    report(from + (to - from) * f, QString::fromUtf8(stage.data(), qsizetype(stage.size())));
    return true;
  };
}

void JobContext::post(std::function<void()> deliver) const {
  JobRunner* runner = runner_;
  auto state = state_;
  QMetaObject::invokeMethod(runner, [runner, state, fn = std::move(deliver)]() mutable { runner->deliver(state, std::move(fn)); },
                            Qt::QueuedConnection);
}

JobRunner::JobRunner(QObject* parent) : QObject(parent) {
  // One run at a time: the engine parallelises each forward pass itself (OpenMP).
  pool_.setMaxThreadCount(1);
}

JobRunner::~JobRunner() {
  if (state_) state_->cancel = true;
  pool_.waitForDone();
}

int JobRunner::start(std::function<void(JobContext&)> work) {
  if (state_) state_->cancel = true;
  auto state = std::make_shared<JobContext::State>();
  state->id = ++next_id_;
  current_ = state->id;
  state_ = state;
  if (!busy_) {
    busy_ = true;
    Q_EMIT busy_changed(true);
  }
  pool_.start([this, state, work = std::move(work)] {
    JobContext ctx(this, state);
    End how = End::Finished;
    QString message;
    try {
      if (state->cancel) throw Cancelled();
      work(ctx);
      if (state->cancel) how = End::Cancelled;
    } catch (const Cancelled&) {
      how = End::Cancelled;
    } catch (const std::bad_alloc&) {
      how = End::Failed;
      message = QStringLiteral("out of memory (try a shorter text or a smaller model)");
    } catch (const std::exception& e) {
      how = End::Failed;
      message = QString::fromStdString(e.what());
    }
    QMetaObject::invokeMethod(this, [this, state, how, message] { end(state, how, message); }, Qt::QueuedConnection);
  });
  return state->id;
}

void JobRunner::cancel() {
  if (state_) state_->cancel = true;
}

void JobRunner::deliver(const std::shared_ptr<JobContext::State>& state, std::function<void()> fn) {
  if (state->id != current_ || state->cancel) return;  // stale or cancelled: drop
  fn();
}

void JobRunner::end(const std::shared_ptr<JobContext::State>& state, End how, const QString& message) {
  if (state->id != current_) return;  // superseded: its successor reports
  state_.reset();
  busy_ = false;
  Q_EMIT busy_changed(false);
  switch (how) {
    case End::Finished: Q_EMIT finished(state->id); break;
    case End::Cancelled: Q_EMIT cancelled(state->id); break;
    case End::Failed: Q_EMIT failed(state->id, message); break;
  }
}

}  // namespace attn::ui
