#pragma once
// The AttnScope main window: model panel and prediction panel (left), shared layer / head /
// colour selectors, the views as tabs (the overlay tab only for image recordings), menus,
// drag and drop (model folders, recordings, pictures), settings, and the teaching window.
// Long work runs through the RunController (and a JobRunner for saving); every error reaches
// show_error(), which puts it in the status bar and in one non-blocking message box.
#include <QMainWindow>
#include <QStringList>
#include <memory>
#include <optional>
#include <vector>

#include "headless/render_export.h"
#include "run/run_controller.h"

class QTabWidget;
class QLabel;
class QAction;
class QMenu;

namespace attn::ui {

class ViewState;
class ModelPanel;
class SelectorBar;
class ModelView;
class HeatmapView;
class HeadView;
class RolloutView;
class StatsView;
class OverlayView;
class PredictionPanel;
class TeachingWindow;
class Renderable;
class ExportAllHeads;
class InterventionPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Entry points shared by menus, the command line, drag and drop and tests.
  void choose_model(const QString& dir);  // selects and loads it in the background
  void run();                             // the panel's text with the chosen model
  void run_text(const QString& text, const QString& pair = {});
  void run_image(const QString& path);    // the chosen (image) model on a picture file
  void generate();                        // continue the panel's text with the chosen language model
  // A picture from a drop, the command line or "Open image…": runs the chosen image model on
  // it, or the first bundled image model when the chosen model takes text.
  void open_picture(const QString& path);
  // Every head (or layer) changed alone, as the Interventions panel says; the Sweep tab shows it.
  void sweep();
  void cancel();  // while generating: stop, keeping the tokens so far
  void open_recording(const QString& path);
  // The compare view's recording B: a recording file (opened in the background), or the
  // recording shown before the current one (the previous run); then shows the compare view.
  void compare_with_recording(const QString& path);
  void compare_with_previous();
  const RecordingPtr& previous_recording() const { return previous_; }
  void save_recording(const QString& path);
  void open_path(const QString& path);  // a model folder, a recording file or a picture
  bool export_view(const QString& path, const ImageOptions& options);  // the current tab
  bool export_renderable(Renderable& view, const QString& path, const ImageOptions& options);
  bool export_matrix(const QString& path);                           // .csv or .npy
  bool export_recording_npy(const QString& dir);
  void set_dark(bool dark);
  // Shows the tab of the view named `name` (views/view_table.h), if it is visible (the overlay
  // only for image recordings).
  void show_view(const QString& name);
  // The tab index of a view, or -1; the view widget of a tab, or null.
  int tab_index(const QString& name) const;
  QWidget* view(const QString& name) const;
  // View ▸ Teaching mode…: opens (or raises) the teaching window. While it is open, runs
  // record Q/K/V; when the current recording has none, its input is run again with them.
  void open_teaching();

  ViewState* state() const { return state_; }
  RunController* runs() const { return runs_; }
  ModelPanel* panel() const { return panel_; }
  SelectorBar* selectors() const { return selectors_; }
  QTabWidget* tabs() const { return tabs_; }
  ModelView* model_view() const;
  HeatmapView* heatmap_view() const;
  HeadView* head_view() const;
  RolloutView* rollout_view() const;
  StatsView* stats_view() const;
  OverlayView* overlay_view() const;
  PredictionPanel* prediction_panel() const { return prediction_panel_; }
  InterventionPanel* interventions() const { return interventions_; }
  TeachingWindow* teaching() const { return teaching_; }  // null until first opened
  QAction* teaching_action() const { return teaching_action_; }
  Renderable* current_renderable() const;
  const QString& last_error() const { return last_error_; }

 public Q_SLOTS:
  // Every error reaches the user here: the status bar and one non-blocking message box.
  void show_error(const QString& message);
  void show_heatmap();  // the heatmap tab, for a head chosen elsewhere

 Q_SIGNALS:
  void error_shown(const QString& message);
  void recording_saved(const QString& path);

 private Q_SLOTS:
  // A view asked for Q/K/V (the query/key space): its input again with them, or why not.
  void request_qkv();

 protected:
  void closeEvent(QCloseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void build_views();
  void build_menus();  // main_window_menus.cpp
  // View ▸ Reading (main_window_reading.cpp): its actions, their checks, the remembered
  // reading, and the worker that derives the read recording and its analysis.
  void build_reading_menu(QMenu* view);
  void sync_reading_menu();
  void restore_reading();
  void read_recording();
  void connect_runs();
  void restore_settings();
  void save_settings() const;
  void on_recording(const RecordingPtr& recording, const QString& source);
  // The memory guard stopped a run: a dialog ("MemoryDialog") offers fewer layers, no Q/K/V,
  // running anyway, or cancelling; the window and its last recording stay as they were.
  void offer_memory_choice(const MemoryOffer& offer);
  // Asks where to stream `request`'s recording (a window-modal file dialog named
  // "StreamFileDialog"), then runs it streamed at half precision.
  void ask_stream_file(RunRequest request);
  bool teaching_open() const;
  // The heads chosen to change (ViewState::ablated) and how, from the Interventions panel.
  void add_interventions(RunRequest& req) const;
  // Whether runs record Q/K/V: while the teaching window is open or a view that shows them
  // (ViewSpec::needs_qkv) is the current tab.
  bool wants_qkv() const;
  // Runs the current recording's input again with Q/K/V; false when this window cannot (a
  // recording of another model than the chosen one).
  bool rerun_with_qkv();
  void refresh_models();
  void add_recent(const QString& dir);
  void update_title();
  void update_summary();
  // Tells the Interventions panel which generation step a sweep would measure (none for a plain run).
  void update_sweep_step();
  // The view (selection, tab, colours) stored in saved recordings, and its restoring.
  std::string saved_view() const;
  void restore_view(const AttentionRecording& recording);
  // Menu actions (main_window_menus.cpp).
  void ask_open_model();
  void ask_open_recording();
  void ask_compare_recording();
  void ask_save_recording();
  void ask_export_view();
  void ask_export(Renderable* view, const QString& what);
  void ask_open_picture();
  void ask_export_matrix();
  void ask_export_recording_npy();
  void ask_export_all_heads();
  void show_shortcuts();
  void show_about();
  QString suggested_name(const QString& suffix) const;

  ViewState* state_;
  RunController* runs_;
  JobRunner* io_;
  ModelPanel* panel_;
  SelectorBar* selectors_;
  QTabWidget* tabs_;
  std::vector<QWidget*> views_;  // one per tab, in tab_views() order
  PredictionPanel* prediction_panel_;
  InterventionPanel* interventions_;
  TeachingWindow* teaching_ = nullptr;
  QAction* teaching_action_ = nullptr;
  RecordingPtr previous_;  // the recording shown before the current one (Compare with previous run)
  std::optional<std::pair<int, int>> pending_head_;  // a head to show when the next recording arrives
  bool fresh_model_ = false;  // a model was just loaded: its first translation shows the alignment head it names
  QLabel* hover_label_;
  QLabel* summary_label_;
  QMenu* recent_menu_ = nullptr;
  QMenu* reading_menu_ = nullptr;
  JobRunner* reading_jobs_ = nullptr;
  QAction* dark_action_ = nullptr;
  QAction* cancel_action_ = nullptr;
  std::unique_ptr<ExportAllHeads> export_all_;
  QStringList recent_;
  QString last_error_;
  QString last_dir_;
  qint64 run_started_ = 0;
};

}  // namespace attn::ui
