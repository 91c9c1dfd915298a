#pragma once
// Teaching mode, "Toy": 3–6 tokens with small Q, K, V matrices the student types into; the
// scores, weights and outputs below update at once. Switches show what scaling by 1/√d does,
// what the causal mask does, what a sharper or flatter softmax (temperature) does, and how
// two heads with their own Q and K look at the same tokens differently.
#include <QWidget>
#include <array>

#include "analysis/attention_steps.h"
#include "views/renderable.h"

class QCheckBox;
class QLabel;
class QSlider;
class QSpinBox;
class QTableWidget;
class QGroupBox;
class QPushButton;

namespace attn::ui {

class GridPlot;

class ToyTab : public QWidget, public Renderable {
  Q_OBJECT
 public:
  enum class Input { Query, Key, Value };
  static constexpr int kMinTokens = 3, kMaxTokens = 6, kMinDims = 2, kMaxDims = 4, kHeads = 2;

  explicit ToyTab(QWidget* parent = nullptr);

  void set_tokens(int n);   // 3..6
  void set_dims(int d);     // 2..4
  void set_scaling(bool on);
  void set_causal(bool on);
  void set_temperature(double t);  // rounded to the slider's steps, in [0.25, 4]
  void set_two_heads(bool on);
  void reset_values();
  // Sets one input number (as if typed); `head` selects head 2's Q or K (V is shared).
  void set_value(Input input, int head, int row, int col, double value);

  int tokens() const { return n_; }
  int dims() const { return d_; }
  bool scaling() const { return options_.scale; }
  bool causal() const { return options_.causal; }
  double temperature() const { return options_.temperature; }
  bool two_heads() const { return two_heads_; }
  // The current inputs (n × d) and results of head 0 or 1.
  RowMatrix input(Input input, int head = 0) const;
  const HeadSteps& result(int head = 0) const { return results_[size_t(head)]; }
  QTableWidget* table(Input input, int head = 0) const;
  GridPlot* weights_plot(int head = 0) const { return weights_[size_t(head)]; }
  GridPlot* scores_plot(int head = 0) const { return scores_[size_t(head)]; }
  QString explanation() const;

  QString render_title() const override;
  QSize render_size() const override { return {1300, 950}; }
  void render(QCPPainter& painter, const QSize& size) override;

 Q_SIGNALS:
  void updated();

 private:
  QWidget* build_controls();
  QWidget* build_inputs();
  QWidget* build_results();
  void fill_tables();
  void on_cell_changed(Input input, int head, int row, int col);
  void recompute();
  QStringList token_names() const;
  QStringList dim_names() const;

  int n_ = 4, d_ = 4;
  bool two_heads_ = false;
  StepOptions options_{.scale = true, .causal = false, .temperature = 1.0f};
  std::array<RowMatrix, kHeads> q_, k_;  // (kMaxTokens, kMaxDims) each; the tables show (n, d)
  RowMatrix v_;
  std::array<HeadSteps, kHeads> results_;
  std::array<QTableWidget*, kHeads> q_tables_{}, k_tables_{};
  QTableWidget* v_table_ = nullptr;
  std::array<GridPlot*, kHeads> scores_{}, weights_{}, outputs_{};
  std::array<QGroupBox*, kHeads> result_boxes_{};
  QGroupBox* head2_inputs_ = nullptr;
  QSpinBox* tokens_box_ = nullptr;
  QSpinBox* dims_box_ = nullptr;
  QPushButton* scale_button_ = nullptr;
  QPushButton* mask_button_ = nullptr;
  QPushButton* heads_button_ = nullptr;
  QSlider* temperature_slider_ = nullptr;
  QLabel* temperature_label_ = nullptr;
  QLabel* explanation_ = nullptr;
  bool filling_ = false;
};

}  // namespace attn::ui
