// The job runner: results arrive on the GUI thread, stale runs are dropped, cancelling stops
// a running job and errors arrive as failed().
#include <gtest/gtest.h>

#include <QSignalSpy>
#include <QThread>
#include <atomic>
#include <thread>

#include "run/job_runner.h"
#include "util/error.h"

using namespace attn;
using namespace attn::ui;

TEST(JobRunner, DeliversResultsOnTheGuiThread) {
  JobRunner runner;
  QSignalSpy finished(&runner, &JobRunner::finished);
  QThread* delivered_on = nullptr;
  int value = 0;
  const int id = runner.start([&](JobContext& ctx) {
    const int v = 6 * 7;
    ctx.post([&, v] {
      delivered_on = QThread::currentThread();
      value = v;
    });
  });
  ASSERT_TRUE(finished.wait(10000));
  EXPECT_EQ(finished.first().first().toInt(), id);
  EXPECT_EQ(value, 42);
  EXPECT_EQ(delivered_on, QThread::currentThread());
  EXPECT_FALSE(runner.busy());
}

TEST(JobRunner, DropsResultsOfSupersededRuns) {
  JobRunner runner;
  QSignalSpy finished(&runner, &JobRunner::finished);
  QStringList got;
  std::atomic<bool> release{false};
  runner.start([&](JobContext& ctx) {
    while (!release && !ctx.cancelled()) std::this_thread::yield();
    ctx.post([&] { got << "old"; });  // the run is stale by now: dropped
  });
  const int second = runner.start([&](JobContext& ctx) { ctx.post([&] { got << "new"; }); });
  release = true;
  ASSERT_TRUE(finished.wait(10000));
  EXPECT_EQ(finished.count(), 1);  // only the current run reports
  EXPECT_EQ(finished.first().first().toInt(), second);
  EXPECT_EQ(got, QStringList{"new"});
}

TEST(JobRunner, CancelStopsARunningJob) {
  JobRunner runner;
  QSignalSpy cancelled(&runner, &JobRunner::cancelled);
  QSignalSpy progress(&runner, &JobRunner::progress);
  std::atomic<bool> started{false};
  runner.start([&](JobContext& ctx) {
    const ProgressFn fn = ctx.progress_fn(0.0, 1.0);
    started = true;
    for (int i = 0;; ++i) {
      report_progress(fn, 0.5, "working");  // throws Cancelled once cancelled
      std::this_thread::yield();
    }
  });
  while (!started) std::this_thread::yield();
  runner.cancel();
  ASSERT_TRUE(cancelled.wait(10000));
  EXPECT_FALSE(runner.busy());
}

TEST(JobRunner, ErrorsBecomeFailedWithTheirMessage) {
  JobRunner runner;
  QSignalSpy failed(&runner, &JobRunner::failed);
  runner.start([](JobContext&) { throw Error("model.safetensors: tensor 'wte.weight' is missing"); });
  ASSERT_TRUE(failed.wait(10000));
  EXPECT_EQ(failed.first().at(1).toString(), QStringLiteral("model.safetensors: tensor 'wte.weight' is missing"));
}
