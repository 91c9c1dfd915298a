#pragma once
// The one way the UI runs long work (like hotspot's job tracker): each start() gets a run id
// and supersedes the previous run (which is asked to cancel); work runs on a private thread
// pool; results go back to the GUI thread as queued calls and are dropped when their run is
// no longer current or was cancelled. Errors travel as one failed(run, message) signal.
// All public functions are for the GUI thread; JobContext is for the worker.
#include <QObject>
#include <QString>
#include <QThreadPool>
#include <atomic>
#include <functional>
#include <memory>

#include "util/progress.h"

namespace attn::ui {

class JobRunner;

// What a running job sees: its id, whether it should stop, and a way to deliver results.
class JobContext {
 public:
  struct State {
    int id = 0;
    std::atomic<bool> cancel{false};
  };
  JobContext(JobRunner* runner, std::shared_ptr<State> state) : runner_(runner), state_(std::move(state)) {}

  int run_id() const { return state_->id; }
  bool cancelled() const { return state_->cancel.load(); }
  // Reports progress (queued to the GUI) in [0, 1].
  void report(double fraction, const QString& stage) const;
  // A core progress callback whose fractions map into [from, to]; it returns false (stop)
  // once the run is cancelled or superseded.
  ProgressFn progress_fn(double from, double to) const;
  // Runs `deliver` on the GUI thread if this run is still current and not cancelled then.
  void post(std::function<void()> deliver) const;

 private:
  JobRunner* runner_;
  std::shared_ptr<State> state_;
};

class JobRunner : public QObject {
  Q_OBJECT
 public:
  explicit JobRunner(QObject* parent = nullptr);
  ~JobRunner() override;  // cancels the current run and waits for the worker to return

  // Starts `work` on the worker thread and returns its run id. Exceptions it throws become
  // failed() (attn::Error, std::exception, out of memory) or cancelled() (attn::Cancelled).
  int start(std::function<void(JobContext&)> work);
  // Asks the current run to stop; cancelled() follows when the worker has returned.
  void cancel();
  bool busy() const { return busy_; }
  int current_run() const { return current_; }

 Q_SIGNALS:
  void progress(int run, double fraction, const QString& stage);
  void finished(int run);
  void cancelled(int run);
  void failed(int run, const QString& message);
  void busy_changed(bool busy);

 private:
  friend class JobContext;
  enum class End { Finished, Cancelled, Failed };
  void deliver(const std::shared_ptr<JobContext::State>& state, std::function<void()> fn);
  void end(const std::shared_ptr<JobContext::State>& state, End how, const QString& message);

  QThreadPool pool_;
  int next_id_ = 0;
  int current_ = 0;
  bool busy_ = false;
  std::shared_ptr<JobContext::State> state_;
};

}  // namespace attn::ui
