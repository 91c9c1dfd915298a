#pragma once
// The teaching mode: a window of three tabs — Live (the current recording's attention for one
// query, step by step), Toy (small editable Q/K/V) and Guided (textbook heads found on the
// bundled models). Each tab exports its current picture to PNG / SVG / PDF with the project's
// export code. The caller hands in recordings that hold Q/K/V (RunOptions::record_qkv).
#include <QWidget>

#include "headless/render_export.h"
#include "views/renderable.h"
#include "qt_convert.h"

class QTabWidget;
class QLabel;

namespace attn::ui {

class LiveTab;
class ToyTab;
class GuidedTab;

class TeachingWindow : public QWidget, public Renderable {
  Q_OBJECT
 public:
  enum Tab { LiveTabIndex, ToyTabIndex, GuidedTabIndex };

  explicit TeachingWindow(QWidget* parent = nullptr);

  // The Live tab's recording (needs Q/K/V; null clears), and what it shows first.
  void set_recording(const RecordingPtr& recording);
  void select(int layer, int head, int query);
  void show_tab(Tab tab);

  LiveTab* live() const { return live_; }
  ToyTab* toy() const { return toy_; }
  GuidedTab* guided() const { return guided_; }
  QTabWidget* tabs() const { return tabs_; }
  Renderable* current_renderable() const;

  // Writes the current tab's picture (.png, .svg or .pdf). Returns false and shows the
  // message in the window (and as failed()) when it cannot.
  bool export_current(const QString& path, const ImageOptions& options = {});

  QString render_title() const override;
  QSize render_size() const override;
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  // From the Guided tab: show this model's input and head in the main window.
  void open_example_requested(const QString& model_dir, const QString& text, const QString& pair);
  void open_head_requested(int layer, int head);
  void failed(const QString& message);

 private:
  void ask_export();

  QTabWidget* tabs_;
  LiveTab* live_;
  ToyTab* toy_;
  GuidedTab* guided_;
  QLabel* status_;
};

}  // namespace attn::ui
