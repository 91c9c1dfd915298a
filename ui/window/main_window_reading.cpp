// MainWindow's reading of attention (View ▸ Reading): sinks and special tokens hidden with rows
// renormalised, pieces merged into words or sentences (analysis/reading.h). The read recording
// and its analysis are made on a worker; every view, the rollout, the statistics and the
// exports then show it. Remembered in QSettings and in a saved recording's view state.
#include <QAction>
#include <QActionGroup>
#include <QJsonDocument>
#include <QMenu>
#include <QSettings>
#include <QStatusBar>

#include "analysis/reading.h"
#include "analysis/recording_analysis.h"
#include "state/reading_json.h"
#include "state/view_state.h"
#include "window/main_window.h"
#include "window/model_panel.h"

namespace attn::ui {

namespace {

QAction* checkable(QMenu* menu, const QString& text, const char* name, QActionGroup* group = nullptr) {
  QAction* a = menu->addAction(text);
  a->setObjectName(QString::fromLatin1(name));
  a->setCheckable(true);
  if (group) group->addAction(a);
  return a;
}

}  // namespace

void MainWindow::build_reading_menu(QMenu* view) {
  reading_menu_ = view->addMenu(tr("&Reading"));
  reading_menu_->setObjectName(QStringLiteral("ReadingMenu"));
  reading_menu_->setToolTipsVisible(true);
  auto edit = [this](auto change) {
    Reading r = state_->reading();
    change(r);
    state_->set_reading(r);
  };
  QAction* special = checkable(reading_menu_, tr("Hide special tokens"), "HideSpecial");
  special->setToolTip(tr("Hide the columns of [CLS], [SEP], <s>, … and renormalise each row over the keys left"));
  connect(special, &QAction::triggered, this, [edit](bool on) { edit([on](Reading& r) { r.hide_special = on; }); });
  QAction* first = checkable(reading_menu_, tr("Hide first token"), "HideFirst");
  first->setToolTip(tr("Hide the first token's column (the usual attention sink) and renormalise each row"));
  connect(first, &QAction::triggered, this, [edit](bool on) { edit([on](Reading& r) { r.hide_first = on; }); });
  reading_menu_->addSeparator();
  auto* units = new QActionGroup(reading_menu_);
  const std::pair<ReadingUnit, QString> unit_items[] = {{ReadingUnit::Tokens, tr("Tokens")}, {ReadingUnit::Words, tr("Words")}, {ReadingUnit::Sentences, tr("Sentences")}};
  for (const auto& [unit, text] : unit_items) {
    static const char* names[] = {"ReadTokens", "ReadWords", "ReadSentences"};
    QAction* a = checkable(reading_menu_, text, names[int(unit)], units);
    connect(a, &QAction::triggered, this, [edit, unit] { edit([unit](Reading& r) { r.unit = unit; }); });
  }
  QAction* next = reading_menu_->addAction(tr("Hierarchical attention: tokens → words → sentences"));
  next->setObjectName(QStringLiteral("NextReadingLevel"));
  next->setShortcut(QKeySequence(tr("Ctrl+Shift+W")));
  connect(next, &QAction::triggered, this, [edit] { edit([](Reading& r) { r.unit = ReadingUnit((int(r.unit) + 1) % 3); }); });
  reading_menu_->addSeparator();
  auto* rules = new QActionGroup(reading_menu_);
  QAction* sum = checkable(reading_menu_, tr("Words: keys summed, queries averaged"), "RuleSumKeys", rules);
  sum->setToolTip(tr("A word's weight as a key is the sum over its pieces; its row the mean of its pieces' rows (rows keep summing to 1)"));
  connect(sum, &QAction::triggered, this, [edit] { edit([](Reading& r) { r.rule = WordRule::SumKeysMeanQueries; }); });
  QAction* mean = checkable(reading_menu_, tr("Words: keys averaged, queries summed"), "RuleMeanKeys", rules);
  connect(mean, &QAction::triggered, this, [edit] { edit([](Reading& r) { r.rule = WordRule::MeanKeysSumQueries; }); });

  reading_jobs_ = new JobRunner(this);
  connect(reading_jobs_, &JobRunner::progress, panel_, [this](int, double f, const QString& stage) { panel_->set_progress(f, stage); });
  connect(reading_jobs_, &JobRunner::failed, this, [this](int, const QString& m) { show_error(m); });
  connect(state_, &ViewState::reading_changed, this, [this] {
    sync_reading_menu();
    QSettings().setValue(QStringLiteral("view/reading"), QJsonDocument(reading_json(state_->reading())).toJson(QJsonDocument::Compact));
    read_recording();
  });
  sync_reading_menu();
}

void MainWindow::restore_reading() {
  const QByteArray saved = QSettings().value(QStringLiteral("view/reading")).toByteArray();
  state_->set_reading(reading_from_json(QJsonDocument::fromJson(saved).object()));
}

void MainWindow::sync_reading_menu() {
  const Reading& r = state_->reading();
  auto check = [this](const char* name, bool on) {
    if (auto* a = reading_menu_->findChild<QAction*>(QString::fromLatin1(name))) a->setChecked(on);
  };
  check("HideSpecial", r.hide_special);
  check("HideFirst", r.hide_first);
  check("ReadTokens", r.unit == ReadingUnit::Tokens);
  check("ReadWords", r.unit == ReadingUnit::Words);
  check("ReadSentences", r.unit == ReadingUnit::Sentences);
  check("RuleSumKeys", r.rule == WordRule::SumKeysMeanQueries);
  check("RuleMeanKeys", r.rule == WordRule::MeanKeysSumQueries);
}

void MainWindow::read_recording() {
  const RecordingPtr original = state_->original();
  const Reading reading = state_->reading();
  if (!original || (reading.plain() && state_->recording() == original)) {
    reading_jobs_->cancel();
    return;
  }
  if (const std::string why = why_not_read(*original); !why.empty() && !reading.plain()) {
    statusBar()->showMessage(tr("Reading as tokens: %1").arg(qstr(why)), 10000);
    return;
  }
  reading_jobs_->start([this, original, reading](JobContext& ctx) {
    const RecordingPtr read = read_as(original, reading, ctx.progress_fn(0.0, 0.5));
    const AnalysisPtr analysis = analyze(*read, ctx.progress_fn(0.5, 1.0));
    ctx.post([this, original, read, analysis] { state_->set_read_recording(original, read, analysis); });
  });
}

}  // namespace attn::ui
