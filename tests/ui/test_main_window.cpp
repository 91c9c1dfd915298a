// The main window driven like a user: choose a fixture model, run, cancel, open and save
// recordings, keyboard navigation, errors.
#include <gtest/gtest.h>

#include <QApplication>
#include <QFile>
#include <QFileDialog>
#include <QLineEdit>
#include <QKeyEvent>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTabWidget>
#include <QAction>
#include <QTemporaryDir>

#include "nn/model.h"
#include "qt_convert.h"
#include "teaching/live_tab.h"
#include "teaching/teaching_window.h"
#include "ui/ui_test_support.h"
#include "views/heatmap_view.h"
#include "views/matrix_plot.h"
#include "views/model_view.h"
#include "views/view_table.h"
#include "window/main_window.h"
#include "window/model_panel.h"
#include "window/selector_bar.h"
#include "state/view_state.h"

using namespace attn;
using namespace attn::ui;

namespace {

const QString kText = QStringLiteral("The cat sat on the mat because it was tired.");

void close_error_dialogs(QWidget& w) {
  for (auto* box : w.findChildren<QMessageBox*>(QStringLiteral("ErrorDialog"))) box->close();
}

}  // namespace

TEST(MainWindow, RunsAModelAndFillsEveryView) {
  MainWindow w;
  w.show();
  QSignalSpy loaded(w.runs(), &RunController::model_loaded);
  QSignalSpy tokens(w.runs(), &RunController::tokens_ready);
  QSignalSpy recording(w.runs(), &RunController::recording_ready);
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), kText));
  // Stages arrive in order: model, tokens, recording, analysis.
  EXPECT_GE(loaded.count(), 1);
  ASSERT_EQ(tokens.count(), 1);
  ASSERT_EQ(recording.count(), 1);
  const auto& rec = w.state()->recording();
  EXPECT_EQ(tokens.first().first().toStringList().size(), rec->num_tokens());
  EXPECT_EQ(rec->num_layers(), 2);
  EXPECT_EQ(rec->num_heads(), 3);
  EXPECT_EQ(rec->meta().text, kText.toStdString());
  EXPECT_EQ(w.model_view()->cell_count(), 2 * 3);
  // The heatmap shows the recording's numbers.
  w.state()->select(1, 2);
  w.show_view("heatmap");
  for (int i = 0; i < rec->num_tokens(); i += 3)
    for (int j = 0; j <= i; ++j) ASSERT_FLOAT_EQ(float(w.heatmap_view()->plot()->shown_value(i, j)), rec->head(1, 2)(i, j));
  EXPECT_FALSE(w.panel()->cancel_button()->isEnabled());
  EXPECT_TRUE(w.windowTitle().contains(QStringLiteral("gpt2")));
}

TEST(MainWindow, RunsSentencePairsOnBert) {
  MainWindow w;
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("bert_mlm"), QStringLiteral("the cat sat"), QStringLiteral("it was tired")));
  const auto& meta = w.state()->recording()->meta();
  EXPECT_EQ(meta.tokens.front(), "[CLS]");
  EXPECT_EQ(std::count(meta.tokens.begin(), meta.tokens.end(), "[SEP]"), 2);
  EXPECT_EQ(meta.pair, "it was tired");
}

TEST(MainWindow, CancelLeavesTheWindowUsable) {
  MainWindow w;
  w.show();
  w.choose_model(test::fixture_model("gpt2"));
  QSignalSpy cancelled(w.runs(), &RunController::cancelled);
  w.run_text(kText);
  EXPECT_TRUE(w.panel()->cancel_button()->isEnabled());
  w.cancel();  // before the worker starts the run: it must stop, not deliver
  ASSERT_TRUE(cancelled.wait(10000));
  EXPECT_FALSE(w.runs()->busy());
  EXPECT_FALSE(w.state()->recording());
  EXPECT_FALSE(w.panel()->cancel_button()->isEnabled());
  EXPECT_EQ(w.panel()->progress_bar()->value(), 0);
  // Usable: the next run completes.
  w.run_text(kText);
  ASSERT_TRUE(test::wait_for_analysis(w));
  EXPECT_EQ(w.model_view()->cell_count(), 6);
}

TEST(MainWindow, ANewerRunSupersedesAnOlderOne) {
  MainWindow w;
  w.choose_model(test::fixture_model("gpt2"));
  w.run_text(QStringLiteral("first text, which must never be shown"));
  w.run_text(QStringLiteral("second"));
  ASSERT_TRUE(test::wait_for_analysis(w));
  EXPECT_EQ(w.state()->recording()->meta().text, "second");
}

TEST(MainWindow, CorruptRecordingShowsAnErrorNamingTheFile) {
  QTemporaryDir dir;
  const QString path = dir.filePath(QStringLiteral("corrupt.safetensors"));
  QFile f(path);
  ASSERT_TRUE(f.open(QIODevice::WriteOnly));
  f.write("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all", 24);
  f.close();
  MainWindow w;
  w.show();
  QSignalSpy errors(&w, &MainWindow::error_shown);
  w.open_recording(path);
  ASSERT_TRUE(errors.wait(10000));
  const QString message = errors.first().first().toString();
  EXPECT_TRUE(message.contains(path)) << message.toStdString();
  auto boxes = w.findChildren<QMessageBox*>(QStringLiteral("ErrorDialog"));
  ASSERT_EQ(boxes.size(), 1);
  EXPECT_TRUE(boxes.first()->isVisible());
  EXPECT_EQ(boxes.first()->text(), message);
  close_error_dialogs(w);
  EXPECT_FALSE(w.runs()->busy());
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), kText));
}

TEST(MainWindow, ABadModelFolderIsReportedOnce) {
  QTemporaryDir dir;
  QFile cfg(dir.filePath(QStringLiteral("config.json")));
  ASSERT_TRUE(cfg.open(QIODevice::WriteOnly));
  cfg.write("{\"model_type\": \"gpt2\"}");
  cfg.close();
  MainWindow w;
  QSignalSpy errors(&w, &MainWindow::error_shown);
  w.choose_model(dir.path());
  ASSERT_TRUE(errors.wait(10000));
  EXPECT_TRUE(errors.first().first().toString().contains(QStringLiteral("config.json"))) << errors.first().first().toString().toStdString();
  close_error_dialogs(w);
}

TEST(MainWindow, SavedRecordingReopensExactlyWithoutTheModel) {
  QTemporaryDir dir;
  const QString path = dir.filePath(QStringLiteral("session.safetensors"));
  RecordingPtr original;
  {
    MainWindow w;
    ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), kText));
    original = w.state()->recording();
    w.state()->select(1, 2);
    w.state()->set_query(4);
    w.show_view("rollout");
    ColorSettings c;
    c.map = ColorMapId::Magma;
    c.scaling = Scaling::Power;
    c.gamma = 0.7;
    w.state()->set_colors(c);
    QSignalSpy saved(&w, &MainWindow::recording_saved);
    w.save_recording(path);
    ASSERT_TRUE(saved.wait(10000));
  }
  MainWindow w;
  w.open_recording(path);
  ASSERT_TRUE(test::wait_for_analysis(w));
  const auto& rec = w.state()->recording();
  EXPECT_EQ(rec->meta().tokens, original->meta().tokens);
  EXPECT_EQ(rec->meta().text, original->meta().text);
  EXPECT_EQ(w.panel()->text(), kText);
  for (int l = 0; l < rec->num_layers(); ++l)
    for (int h = 0; h < rec->num_heads(); ++h) EXPECT_TRUE(rec->head(l, h) == original->head(l, h)) << l << "," << h;
  EXPECT_EQ(w.state()->source(), path);
  // The view comes back as it was saved.
  EXPECT_EQ(w.state()->layer(), 1);
  EXPECT_EQ(w.state()->head(), 2);
  EXPECT_EQ(w.state()->query(), 4);
  EXPECT_EQ(w.tabs()->currentIndex(), w.tab_index("rollout"));
  EXPECT_EQ(w.state()->colors().map, ColorMapId::Magma);
  EXPECT_EQ(w.state()->colors().scaling, Scaling::Power);
  EXPECT_DOUBLE_EQ(w.state()->colors().gamma, 0.7);
  EXPECT_TRUE(w.windowTitle().contains(QStringLiteral("session.safetensors")));
}

TEST(MainWindow, OpenPathTakesModelFoldersAndRecordings) {
  MainWindow w;
  QSignalSpy loaded(w.runs(), &RunController::model_loaded);
  w.open_path(test::fixture_model("bert_mlm") + "/config.json");
  ASSERT_TRUE(loaded.wait(10000));
  EXPECT_EQ(loaded.first().first().value<ModelPtr>()->name(), "bert_mlm");
}

TEST(MainWindow, ArrowKeysMoveBetweenHeadsAndLayers) {
  MainWindow w;
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), kText));
  w.show_view("heatmap");
  w.state()->select(0, 0);
  auto press = [&](int key) {
    QKeyEvent e(QEvent::KeyPress, key, Qt::NoModifier);
    QApplication::sendEvent(w.heatmap_view()->plot(), &e);  // unhandled there: goes up to the window
  };
  press(Qt::Key_Right);
  EXPECT_EQ(w.state()->head(), 1);
  press(Qt::Key_Right);
  press(Qt::Key_Right);  // past the last head: next layer
  EXPECT_EQ(w.state()->layer(), 1);
  EXPECT_EQ(w.state()->head(), 0);
  press(Qt::Key_Up);
  EXPECT_EQ(w.state()->layer(), 0);
  press(Qt::Key_Left);
  EXPECT_EQ(w.state()->layer(), 0);
  EXPECT_EQ(w.state()->head(), 0);
}

TEST(MainWindow, ClickingAModelViewCellOpensTheHeatmap) {
  MainWindow w;
  w.resize(1300, 900);
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), kText));
  w.show_view("model");
  const QPoint p = w.model_view()->cell_rect(1, 2).center();
  QMouseEvent press(QEvent::MouseButtonPress, QPointF(p), QPointF(w.model_view()->mapToGlobal(p)), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(w.model_view(), &press);
  EXPECT_EQ(w.tabs()->currentIndex(), w.tab_index("heatmap"));
  EXPECT_EQ(w.state()->layer(), 1);
  EXPECT_EQ(w.state()->head(), 2);
  EXPECT_TRUE(w.heatmap_view()->plot()->content().title.contains(QStringLiteral("layer 1 · head 2")));
}

TEST(MainWindow, DarkThemeRecoloursPlots) {
  MainWindow w;
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), kText));
  w.set_dark(true);
  const QColor bg = w.heatmap_view()->plot()->axisRect()->backgroundBrush().color();
  EXPECT_LT(bg.lightness(), 80);
  EXPECT_GT(w.heatmap_view()->plot()->xAxis->tickLabelColor().lightness(), 170);
  EXPECT_LT(QApplication::palette().color(QPalette::Window).lightness(), 80);
  w.set_dark(false);
  EXPECT_GT(w.heatmap_view()->plot()->axisRect()->backgroundBrush().color().lightness(), 200);
}

TEST(MainWindow, TeachingActionOpensTheTeachingWindowWhichGetsRecordingsWithQkv) {
  MainWindow w;
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), kText));
  EXPECT_FALSE(w.state()->recording()->has_qkv());  // runs record Q/K/V only for the teaching window
  ASSERT_TRUE(w.teaching_action());
  EXPECT_EQ(w.teaching_action()->shortcut(), QKeySequence(QStringLiteral("Ctrl+T")));
  w.teaching_action()->trigger();
  TeachingWindow* t = w.teaching();
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->isVisible());
  EXPECT_TRUE(t->isWindow());
  // The recording had no Q/K/V: the text runs again with them and the teaching window gets it.
  ASSERT_TRUE(test::wait_for_analysis(w));
  const auto& rec = w.state()->recording();
  ASSERT_TRUE(rec->has_qkv());
  EXPECT_EQ(rec->meta().text, kText.toStdString());
  EXPECT_EQ(t->live()->recording(), rec);
  EXPECT_TRUE(t->live()->ready());
  // Every later run goes to it too; opening it again makes no second window.
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), QStringLiteral("A second sentence.")));
  EXPECT_EQ(t->live()->recording(), w.state()->recording());
  EXPECT_TRUE(w.state()->recording()->has_qkv());
  w.teaching_action()->trigger();
  EXPECT_EQ(w.teaching(), t);
  EXPECT_EQ(w.findChildren<TeachingWindow*>().size(), 1);
  // Closed, runs stop recording Q/K/V.
  t->close();
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), kText));
  EXPECT_FALSE(w.state()->recording()->has_qkv());
}

TEST(MainWindow, GuidedExampleRequestsRunTheTextAndOpenTheHead) {
  MainWindow w;
  w.show();
  w.open_teaching();
  TeachingWindow* t = w.teaching();
  ASSERT_TRUE(t);
  w.show_view("model");
  Q_EMIT t->open_example_requested(test::fixture_model("bert_mlm"), QStringLiteral("the cat sat"), QStringLiteral("it was tired"));
  Q_EMIT t->open_head_requested(1, 1);
  ASSERT_TRUE(test::wait_for_analysis(w));
  const auto& rec = w.state()->recording();
  EXPECT_EQ(rec->meta().model, "bert_mlm");
  EXPECT_EQ(rec->meta().text, "the cat sat");
  EXPECT_EQ(rec->meta().pair, "it was tired");
  EXPECT_EQ(w.state()->layer(), 1);
  EXPECT_EQ(w.state()->head(), 1);
  EXPECT_EQ(w.tabs()->currentIndex(), w.tab_index("heatmap"));
  EXPECT_EQ(t->live()->recording(), rec);
  // The request is used once: the next run keeps the user's selection.
  w.state()->select(0, 0);
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("bert_mlm"), QStringLiteral("a dog ran")));
  EXPECT_EQ(w.state()->layer(), 0);
  EXPECT_EQ(w.state()->head(), 0);
}

// A run above the memory budget is not started: a dialog offers fewer layers, running
// anyway or cancelling, and the last recording stays until the user chooses.
TEST(MainWindow, ARunAboveTheMemoryBudgetOffersFewerLayersOrCancelling) {
  MainWindow w;
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2_sharded"), QStringLiteral("short")));
  const RecordingPtr before = w.state()->recording();
  const auto model = Model::load(fspath(test::fixture_model("gpt2_sharded")));
  const int N = int(model->encode(kText.toStdString()).size());
  RunOptions two;
  two.layers = {0, 2};
  two.logits_rows = {N - 1};  // the window asks for the next token's logits
  const uint64_t budget = model->estimate_memory(N, two).total();  // room for two of the three layers
  qputenv("ATTNSCOPE_MEMORY_BUDGET", QByteArray::number(qulonglong(budget)));
  auto dialog = [&] { return w.findChild<QMessageBox*>(QStringLiteral("MemoryDialog")); };
  auto gone = [] {  // the closed dialog deletes itself
    QApplication::processEvents();
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
  };

  QSignalSpy offers(w.runs(), &RunController::memory_offer);
  w.run_text(kText);
  ASSERT_TRUE(offers.wait(10000));
  ASSERT_TRUE(test::wait_until_idle(w));
  ASSERT_TRUE(dialog());
  EXPECT_TRUE(dialog()->text().contains(QStringLiteral("more than the memory budget"))) << dialog()->text().toStdString();
  EXPECT_EQ(w.state()->recording(), before);  // nothing replaced yet
  EXPECT_FALSE(dialog()->findChild<QPushButton*>(QStringLiteral("RecordWithoutQkv")));  // no Q/K/V asked for
  // Every layer at half precision fits too: 3 × ½ layer of attention is less than 2 layers.
  auto* half_button = dialog()->findChild<QPushButton*>(QStringLiteral("RecordF16"));
  ASSERT_TRUE(half_button);
  RunOptions f16_options;
  f16_options.storage = DType::F16;
  f16_options.logits_rows = {N - 1};
  EXPECT_TRUE(half_button->text().contains(qstr(format_bytes(model->estimate_memory(N, f16_options).total())))) << half_button->text().toStdString();
  // Cancel: the window keeps its recording.
  dialog()->button(QMessageBox::Cancel)->click();
  gone();
  EXPECT_FALSE(dialog());
  EXPECT_EQ(w.state()->recording(), before);
  EXPECT_FALSE(w.runs()->busy());

  // Fewer layers: layers 0 and 2 are recorded, labelled as the model's layers.
  w.run_text(kText);
  ASSERT_TRUE(offers.wait(10000));
  ASSERT_TRUE(test::wait_until_idle(w));
  auto* fewer = dialog()->findChild<QPushButton*>(QStringLiteral("RecordFewerLayers"));
  ASSERT_TRUE(fewer);
  EXPECT_TRUE(fewer->text().contains(QStringLiteral("layers 0, 2"))) << fewer->text().toStdString();
  fewer->click();
  gone();
  ASSERT_TRUE(test::wait_for_analysis(w));
  const RecordingPtr part = w.state()->recording();
  ASSERT_EQ(part->num_layers(), 2) << w.last_error().toStdString() << " | " << w.statusBar()->currentMessage().toStdString() << " | offers " << offers.count();
  EXPECT_EQ(part->meta().model_layers, (std::vector<int>{0, 2}));
  EXPECT_EQ(w.model_view()->cell_count(), 2 * part->num_heads());
  w.state()->select(1, 0);
  EXPECT_EQ(w.selectors()->layer_box()->text(), QStringLiteral("2 (2 of 2 recorded)"));
  EXPECT_TRUE(w.state()->selection_title().contains(QStringLiteral("layer 2"))) << w.state()->selection_title().toStdString();
  RunOptions unlimited;
  unlimited.memory_budget = kNoMemoryLimit;
  const ForwardResult full = model->forward(model->encode(kText.toStdString()), unlimited);
  EXPECT_LT((part->head(1, 1) - full.recording->head(2, 1)).cwiseAbs().maxCoeff(), 1e-6f);

  // Record anyway: every layer, above the budget.
  w.run_text(kText);
  ASSERT_TRUE(offers.wait(10000));
  ASSERT_TRUE(test::wait_until_idle(w));
  dialog()->findChild<QPushButton*>(QStringLiteral("RecordAnyway"))->click();
  gone();
  ASSERT_TRUE(test::wait_for_analysis(w));
  EXPECT_EQ(w.state()->recording()->num_layers(), 3);
  EXPECT_TRUE(w.state()->recording()->meta().model_layers.empty());

  // Half precision, offered when every layer fits at F16: the recording holds F16 values.
  RunOptions half;
  half.storage = DType::F16;
  half.logits_rows = {N - 1};
  qputenv("ATTNSCOPE_MEMORY_BUDGET", QByteArray::number(qulonglong(model->estimate_memory(N, half).total())));
  w.run_text(kText);
  ASSERT_TRUE(offers.wait(10000));
  ASSERT_TRUE(test::wait_until_idle(w));
  auto* f16 = dialog()->findChild<QPushButton*>(QStringLiteral("RecordF16"));
  ASSERT_TRUE(f16);
  f16->click();
  gone();
  ASSERT_TRUE(test::wait_for_analysis(w));
  const RecordingPtr halved = w.state()->recording();
  EXPECT_EQ(halved->storage(), DType::F16);
  ASSERT_EQ(halved->num_layers(), 3);
  const RowMatrix diff = halved->head_copy(2, 1) - full.recording->head(2, 1);
  EXPECT_LT(diff.cwiseAbs().maxCoeff(), 1e-3f);
  qunsetenv("ATTNSCOPE_MEMORY_BUDGET");
}

// When not every layer fits, the dialog offers to stream the recording to a file: the run
// then holds one layer, writes the file at half precision, and shows the file.
TEST(MainWindow, ARunAboveTheMemoryBudgetCanStreamToAFile) {
  MainWindow w;
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2_sharded"), QStringLiteral("short")));
  const auto model = Model::load(fspath(test::fixture_model("gpt2_sharded")));
  const int N = int(model->encode(kText.toStdString()).size());
  RunOptions streamed;
  streamed.stream_to = "x";
  streamed.logits_rows = {N - 1};
  // Room for the streamed run only: one layer of F32 attention, less than every layer at F16.
  qputenv("ATTNSCOPE_MEMORY_BUDGET", QByteArray::number(qulonglong(model->estimate_memory(N, streamed).total())));
  auto dialog = [&] { return w.findChild<QMessageBox*>(QStringLiteral("MemoryDialog")); };
  QSignalSpy offers(w.runs(), &RunController::memory_offer);
  w.run_text(kText);
  ASSERT_TRUE(offers.wait(10000));
  ASSERT_TRUE(test::wait_until_idle(w));
  ASSERT_TRUE(dialog());
  EXPECT_FALSE(dialog()->findChild<QPushButton*>(QStringLiteral("RecordF16")));
  auto* stream = dialog()->findChild<QPushButton*>(QStringLiteral("RecordStreamed"));
  ASSERT_TRUE(stream);
  EXPECT_TRUE(stream->text().contains(qstr(format_bytes(model->estimate_memory(N, streamed).total())))) << stream->text().toStdString();
  stream->click();
  QApplication::processEvents();
  auto* files = w.findChild<QFileDialog*>(QStringLiteral("StreamFileDialog"));
  ASSERT_TRUE(files);
  QTemporaryDir dir;
  const QString path = dir.filePath(QStringLiteral("streamed.safetensors"));
  auto* name = files->findChild<QLineEdit*>(QStringLiteral("fileNameEdit"));  // as the user types it
  ASSERT_TRUE(name);
  name->setText(path);
  static_cast<QDialog*>(files)->accept();  // QFileDialog::accept, as the Save button
  ASSERT_TRUE(test::wait_for_analysis(w)) << w.last_error().toStdString();
  const RecordingPtr rec = w.state()->recording();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->storage(), DType::F16);
  ASSERT_EQ(rec->num_layers(), 3);
  EXPECT_TRUE(QFile::exists(path)) << w.windowTitle().toStdString() << " " << w.statusBar()->currentMessage().toStdString();
  const auto on_disk = AttentionRecording::open(fspath(path));
  EXPECT_EQ(on_disk->meta().tokens, rec->meta().tokens);
  RunOptions unlimited;
  unlimited.memory_budget = kNoMemoryLimit;
  const ForwardResult full = model->forward(model->encode(kText.toStdString()), unlimited);
  for (int l = 0; l < 3; ++l) EXPECT_LT((rec->head_copy(l, 1) - full.recording->head(l, 1)).cwiseAbs().maxCoeff(), 1e-3f) << l;
  qunsetenv("ATTNSCOPE_MEMORY_BUDGET");
}

// The window's tabs, View menu and number export come from the view table: one row per view.
TEST(ViewTable, TheWindowIsMadeFromTheRows) {
  MainWindow w;
  w.show();
  ASSERT_TRUE(test::run_and_wait(w, test::fixture_model("gpt2"), kText));
  const auto tabs = tab_views();
  ASSERT_EQ(w.tabs()->count(), int(tabs.size()));
  QStringList menu_titles;
  for (QAction* a : w.findChildren<QAction*>()) menu_titles << a->text();
  for (size_t i = 0; i < tabs.size(); ++i) {
    EXPECT_EQ(w.tabs()->tabText(int(i)), QString::fromLatin1(tabs[i]->title));
    EXPECT_EQ(w.tabs()->widget(int(i))->objectName(), QString::fromLatin1(tabs[i]->name));
    EXPECT_EQ(w.tabs()->isTabVisible(int(i)), tabs[i]->shows_for == ViewFor::Any) << tabs[i]->name;  // a text recording
    EXPECT_NE(as_renderable(w.tabs()->widget(int(i))), nullptr) << tabs[i]->name;
    // Ctrl+N opens the N-th tab (the overlay only for images, the timeline for generations);
    // the tabs after the ninth have none (Ctrl+0 resets the zoom).
    if (i >= 9) continue;
    const auto shortcut = QKeySequence(QStringLiteral("Ctrl+%1").arg(i + 1));
    QAction* action = nullptr;
    for (QAction* a : w.findChildren<QAction*>())
      if (a->shortcut() == shortcut) action = a;
    ASSERT_NE(action, nullptr) << tabs[i]->name;
    action->trigger();
    if (tabs[i]->shows_for == ViewFor::Any) {
      EXPECT_EQ(w.tabs()->currentIndex(), int(i)) << tabs[i]->name;
    }
  }
  // Every row names a view `attnscope export` knows, and the names are distinct.
  QStringList names = view_names();
  EXPECT_EQ(names.size(), int(view_table().size()));
  names.removeDuplicates();
  EXPECT_EQ(names.size(), int(view_table().size()));
  // The heatmap tab's numbers are the selected head's, written by its row.
  QTemporaryDir dir;
  w.state()->select(1, 2);
  w.show_view("heatmap");
  const QString npy = dir.filePath("h.npy");
  ASSERT_TRUE(w.export_matrix(npy));
  QFile f(npy);
  ASSERT_TRUE(f.open(QIODevice::ReadOnly));
  const QByteArray bytes = f.readAll();
  const int n = w.state()->recording()->num_tokens();
  ASSERT_GE(bytes.size(), n * n * 4);
  const float* values = reinterpret_cast<const float*>(bytes.constData() + bytes.size() - n * n * 4);
  const auto head = w.state()->recording()->head(1, 2);
  for (int i = 0; i < n * n; ++i) ASSERT_EQ(values[i], head.data()[i]) << i;
  // The model tab has one matrix per head: CSV is a clear error, not a file.
  w.show_view("model");
  EXPECT_FALSE(w.export_matrix(dir.filePath("m.csv")));
  EXPECT_TRUE(w.last_error().contains("one matrix per head")) << w.last_error().toStdString();
  close_error_dialogs(w);
}
