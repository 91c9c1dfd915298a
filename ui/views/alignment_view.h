#pragma once
// Alignment (translations): the decoder's cross-attention to the source, as a target × source
// matrix or as BertViz-style lines from the source (left) to the target (right), for the
// selected head or the layer's mean / max, or the mean over every layer. Hover a cell, or a
// target token in the lines, to see which source tokens it looked at and how much. Words:
// sub-word pieces merged (a source word sums its pieces, a target word averages them; the view
// says so). Draws itself for export.
#include <QWidget>
#include <optional>

#include "analysis/alignment.h"
#include "views/renderable.h"

class QCheckBox;
class QComboBox;

namespace attn::ui {

class ViewState;

class AlignmentView : public QWidget, public Renderable {
  Q_OBJECT
 public:
  enum class Style { Matrix, Lines };
  explicit AlignmentView(ViewState* state, QWidget* parent = nullptr);

  Style style() const;
  void set_style(Style style);
  bool all_layers() const;
  void set_all_layers(bool on);
  bool words() const;
  void set_words(bool on);
  // What is shown (nullopt: not a translation).
  const std::optional<Alignment>& content() const { return content_; }
  // The target token (row) hovered in the lines, or -1.
  int hovered_target() const { return hovered_; }
  void set_hovered_target(int target);
  // What lies under `pos` (widget coordinates of the drawing): a cell, or a target token.
  QString describe_at(const QPointF& pos) const;

  QString render_title() const override;
  QSize render_size() const override;
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void hovered(const QString& text);

 private:
  class Canvas;
  void update_content();

  ViewState* state_;
  QComboBox* style_;
  QCheckBox* all_layers_;
  QCheckBox* words_;
  Canvas* canvas_;
  std::optional<Alignment> content_;
  int hovered_ = -1;
};

}  // namespace attn::ui
