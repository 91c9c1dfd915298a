#pragma once
// Recording B of the compare view and its comparison with the current recording A
// (analysis/compare.h), computed once in the background when a view asks for it. A new A or B
// drops the result. GUI thread only; ViewState owns one.
#include <QObject>
#include <QString>

#include "analysis/compare.h"
#include "qt_convert.h"
#include "run/job_runner.h"

namespace attn::ui {

class CompareCache : public QObject {
  Q_OBJECT
 public:
  explicit CompareCache(QObject* parent = nullptr);

  void set_a(const RecordingPtr& a);  // ViewState calls this with each new recording
  // Recording B and where it came from (a file, or "the previous run"); null clears it.
  void set_b(const RecordingPtr& b, const QString& source);
  // Opens a recording file as B in the background (lazily, as the window opens recordings);
  // opened() follows, or failed() naming the file.
  void open_b(const QString& path);
  const RecordingPtr& a() const { return a_; }
  const RecordingPtr& b() const { return b_; }
  const QString& b_source() const { return b_source_; }
  // Whether A − B can be shown (and the tokens that differ), or why not; not comparable
  // without both recordings.
  const CompareCheck& check() const { return check_; }
  // Every head's difference, or null until computed (and while not comparable).
  const ComparisonPtr& result() const { return result_; }
  bool computing() const { return computing_; }
  // Starts computing unless the result is there, on its way, or impossible; computed() follows.
  void request();
  // Computes at once on this thread (headless export).
  void compute_now();

 Q_SIGNALS:
  void changed();   // A or B changed: the result was dropped
  void computed();  // result() is ready
  void opened();    // open_b's recording is B
  void failed(const QString& message);

 private:
  void drop();

  JobRunner runner_;
  RecordingPtr a_, b_;
  QString b_source_;
  CompareCheck check_;
  ComparisonPtr result_;
  bool computing_ = false;
};

}  // namespace attn::ui
