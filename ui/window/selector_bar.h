#pragma once
// The toolbar every view shares: layer, head (or mean / max), colour map, scaling and colour
// range, and "Off", which switches the selected head off for the next run (ViewState::ablated).
// It mirrors the ViewState both ways.
#include <QStringList>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;
class QLabel;
class QToolButton;

namespace attn::ui {

class ViewState;

class SelectorBar : public QWidget {
  Q_OBJECT
 public:
  explicit SelectorBar(ViewState* state, QWidget* parent = nullptr);

  QSpinBox* layer_box() const { return layer_; }
  QComboBox* head_box() const { return head_; }
  QComboBox* colormap_box() const { return colormap_; }
  QToolButton* off_button() const { return off_; }
  QStringList head_names() const;  // the head box's items: "0", …, or "5 (KV group 2)", then mean, max

 private:
  void sync_from_state();
  void push_colors();

  ViewState* state_;
  QSpinBox* layer_;
  QComboBox* head_;
  QComboBox* colormap_;
  QComboBox* scaling_;
  QDoubleSpinBox* gamma_;
  QComboBox* range_;
  QToolButton* off_;
  bool syncing_ = false;
};

}  // namespace attn::ui
