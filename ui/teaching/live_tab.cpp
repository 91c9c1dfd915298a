#include "teaching/live_tab.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>
#include <cmath>

#include "teaching/step_panel.h"
#include "teaching/teaching_plots.h"

namespace attn::ui {

namespace {

using Part = AttentionRecording::Part;

constexpr int kShownDims = 8;  // vector entries written out before "…"

QString vector_text(const Vector& v) {
  QStringList parts;
  for (int c = 0; c < std::min<int>(int(v.size()), kShownDims); ++c) parts << step_number(v[c], 3);
  if (v.size() > kShownDims) parts << QStringLiteral("… (%1 numbers)").arg(v.size());
  return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
}

int argmax(const Vector& v) {
  int best = 0;
  for (int j = 1; j < v.size(); ++j)
    if (v[j] > v[best]) best = j;
  return best;
}

}  // namespace

LiveTab::LiveTab(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  build_controls();
  hint_ = new QLabel(this);
  hint_->setWordWrap(true);
  layout->addWidget(hint_);

  inputs_ = new GridPlot;
  output_ = new GridPlot;
  const char* headings[StepCount] = {"Query and keys", "1 · Dot products q·k", "2 · Scale by 1/√d", "3 · Causal mask", "4 · Softmax",
                                     "5 · Weighted sum of values"};
  for (int s = 0; s < StepCount; ++s) {
    QCustomPlot* plot = nullptr;
    if (s == Inputs) plot = inputs_;
    else if (s == Output) plot = output_;
    else plot = bars_[size_t(s - Dots)] = new BarPlot;
    panels_[size_t(s)] = new StepPanel(QString::fromUtf8(headings[s]), plot);
    panels_[size_t(s)]->setMinimumHeight(270);
  }
  bars(Dots)->set_axis_label(QStringLiteral("q·k"));
  bars(Scale)->set_axis_label(QStringLiteral("score"));
  bars(Mask)->set_axis_label(QStringLiteral("score"));
  bars(Softmax)->set_axis_label(QStringLiteral("weight"));

  steps_area_ = new QWidget;
  auto* grid = new QGridLayout(steps_area_);
  grid->setContentsMargins(0, 0, 0, 0);
  for (int s = 0; s < StepCount; ++s) grid->addWidget(panels_[size_t(s)], s / 2, s % 2);
  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setWidget(steps_area_);
  layout->addWidget(scroll, 1);
  set_recording(nullptr);
}

void LiveTab::build_controls() {
  auto* bar = new QHBoxLayout;
  layer_box_ = new QSpinBox(this);
  head_box_ = new QSpinBox(this);
  query_box_ = new QComboBox(this);
  query_box_->setMinimumContentsLength(16);
  query_box_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  bar->addWidget(new QLabel(tr("Layer"), this));
  bar->addWidget(layer_box_);
  bar->addSpacing(12);
  bar->addWidget(new QLabel(tr("Head"), this));
  bar->addWidget(head_box_);
  bar->addSpacing(12);
  bar->addWidget(new QLabel(tr("Query token"), this));
  bar->addWidget(query_box_);
  bar->addStretch(1);
  static_cast<QVBoxLayout*>(layout())->addLayout(bar);
  auto changed = [this] {
    if (!syncing_) select(layer_box_->value(), head_box_->value(), query_box_->currentIndex());
  };
  connect(layer_box_, qOverload<int>(&QSpinBox::valueChanged), this, changed);
  connect(head_box_, qOverload<int>(&QSpinBox::valueChanged), this, changed);
  connect(query_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, changed);
}

void LiveTab::set_recording(const RecordingPtr& recording) {
  recording_ = recording;
  ready_ = recording_ && recording_->has_qkv() && recording_->num_tokens() > 0;
  steps_area_->setEnabled(ready_);
  if (!recording_) {
    hint_->setText(tr("Run a model to see attention computed step by step for one token."));
  } else if (!ready_) {
    hint_->setText(tr("This recording has no query, key and value vectors. Run the model again with Q/K/V recording on "
                      "(the teaching mode asks for them) to see each step."));
  }  // else update_steps() writes the hint
  syncing_ = true;
  query_box_->clear();
  if (recording_) {
    const QStringList labels = token_labels(recording_->meta(), 24);
    for (int i = 0; i < labels.size(); ++i) query_box_->addItem(QStringLiteral("%1  %2").arg(i).arg(labels[i]));
  }
  syncing_ = false;
  // Follow the last token by default: in a causal model it sees every other one.
  select(layer_, head_, recording_ ? recording_->num_tokens() - 1 : 0);
}

void LiveTab::select(int layer, int head, int query) {
  if (recording_) {
    layer_ = std::clamp(layer, 0, std::max(0, recording_->num_layers() - 1));
    head_ = std::clamp(head, 0, std::max(0, recording_->num_heads() - 1));
    query_ = std::clamp(query, 0, std::max(0, recording_->num_tokens() - 1));
  }
  sync_controls();
  update_steps();
  Q_EMIT selection_changed(layer_, head_, query_);
}

void LiveTab::sync_controls() {
  syncing_ = true;
  layer_box_->setRange(0, recording_ ? std::max(0, recording_->num_layers() - 1) : 0);
  head_box_->setRange(0, recording_ ? std::max(0, recording_->num_heads() - 1) : 0);
  layer_box_->setValue(layer_);
  head_box_->setValue(head_);
  if (query_ < query_box_->count()) query_box_->setCurrentIndex(query_);
  for (QWidget* w : std::initializer_list<QWidget*>{layer_box_, head_box_, query_box_}) w->setEnabled(ready_);
  syncing_ = false;
}

BarPlot* LiveTab::bars(Step step) const { return step >= Dots && step <= Softmax ? bars_[size_t(step - Dots)] : nullptr; }

QString LiveTab::key_numbers(const Vector& values) const {
  QStringList parts;
  for (int j = 0; j < values.size(); ++j)
    parts << QStringLiteral("%1 %2").arg(token_label(recording_->meta().tokens[size_t(j)], 10), step_number(values[j]));
  return parts.join(QStringLiteral("   "));
}

void LiveTab::update_steps() {
  if (!ready_) {
    steps_ = QuerySteps{};
    for (BarPlot* b : bars_) b->set_bars(Vector(), {});
    inputs_->set_matrix(RowMatrix(), {}, {}, GridPlot::Style::Signed);
    output_->set_matrix(RowMatrix(), {}, {}, GridPlot::Style::Signed);
    for (StepPanel* p : panels_) p->set_caption(QString()), p->set_numbers(QString());
    return;
  }
  const RecordingMeta& meta = recording_->meta();
  const ConstMatrixMap Q = recording_->matrix(Part::Query, layer_, head_);
  const ConstMatrixMap K = recording_->matrix(Part::Key, layer_, head_);
  const ConstMatrixMap V = recording_->matrix(Part::Value, layer_, head_);
  const int N = int(K.rows()), d = int(K.cols());
  const StepOptions options = step_options_for(meta, layer_);  // the model's scale, cap, mask and window
  steps_ = query_steps(Q.row(query_).transpose(), K, V, query_, options);
  // Show the engine's own scores and weights (the recomputation equals them to float
  // rounding, which the hint reports), so every number on screen is the recording's.
  double diff = 0;
  if (recording_->has_scores()) {
    const Vector scores = recording_->matrix(Part::Scores, layer_, head_).row(query_).transpose();
    diff = (scores - steps_.scaled).cwiseAbs().maxCoeff();
    steps_.scaled = scores;
    for (int j = 0; j < N; ++j)
      if (steps_.masked[j] != kMasked) steps_.masked[j] = scores[j];
  }
  const Vector weights = recording_->head(layer_, head_).row(query_).transpose();
  diff = std::max(diff, double((weights - steps_.probs).cwiseAbs().maxCoeff()));
  steps_.probs = weights;
  steps_.output = (weights.transpose() * V).transpose();
  hint_->setText(tr("Pick a layer, a head and the token whose attention you want to follow. The numbers are the model's "
                    "own; recomputing every step from its query, key and value vectors (%1 numbers each) gives the "
                    "same results (largest difference %2).")
                     .arg(d)
                     .arg(step_number(diff, 2)));
  const QStringList labels = token_labels(meta, 10);
  const QString query_name = token_quoted(meta, query_);
  auto name = [&](int j) { return QStringLiteral("“%1”").arg(token_label(meta.tokens[size_t(j)], 20)); };

  // Inputs: q on top, the keys below it.
  RowMatrix qk(N + 1, d);
  qk.row(0) = Q.row(query_);
  qk.bottomRows(N) = K;
  QStringList qk_rows{QStringLiteral("q  %1").arg(labels[query_])};
  for (int j = 0; j < N; ++j) qk_rows << QStringLiteral("k  %1").arg(labels[j]);
  inputs_->set_matrix(qk, qk_rows, {}, GridPlot::Style::Signed, {1});
  panels_[Inputs]->set_caption(tr("The query %1 asks a question as a vector of %2 numbers (top row, red = positive, blue = "
                                  "negative); every token offers a key of the same length (rows below).")
                                   .arg(query_name)
                                   .arg(d));
  panels_[Inputs]->set_numbers(QStringLiteral("q = %1").arg(vector_text(Q.row(query_).transpose())));

  const int best_dot = argmax(steps_.dots);
  bars(Dots)->set_bars(steps_.dots, labels, query_);
  panels_[Dots]->set_caption(tr("Multiply the query with each key number by number and add it all up: the bigger the result, "
                                "the better the key matches. Here %1 matches best (%2).")
                                 .arg(name(best_dot), step_number(steps_.dots[best_dot])));
  panels_[Dots]->set_numbers(key_numbers(steps_.dots));

  const double root = std::sqrt(double(d));
  bars(Scale)->set_bars(steps_.scaled, labels, query_);
  QString scale_caption = options.scale_factor > 0
                              ? tr("Multiply by %1, this model's own scale (1/√query_pre_attn_scalar rather than 1/√%2), so the "
                                   "scores do not grow with the vector length.")
                                    .arg(step_number(options.scale_factor, 4))
                                    .arg(d)
                              : tr("Divide by √%1 = %2 so the scores do not grow with the vector length; otherwise softmax would "
                                   "almost always pick a single key.")
                                    .arg(d)
                                    .arg(step_number(root, 3));
  if (options.softcap > 0)
    scale_caption += tr(" Then the soft cap squashes every score into (−%1, %1): tanh(score / %1) · %1.").arg(step_number(options.softcap, 3));
  panels_[Scale]->set_caption(scale_caption);
  panels_[Scale]->set_numbers(key_numbers(steps_.scaled));

  const int hidden = meta.causal ? N - 1 - query_ : 0;
  bars(Mask)->set_bars(steps_.masked, labels, query_);
  panels_[Mask]->set_caption(!meta.causal ? tr("This model reads the whole text at once (like BERT), so no key is hidden: "
                                               "the scores pass unchanged.")
                             : hidden > 1 ? tr("A GPT-style model may not look ahead: the %1 later keys get −∞, so they will "
                                               "receive exactly zero weight.")
                                                .arg(hidden)
                             : hidden == 1 ? tr("A GPT-style model may not look ahead: the one later key gets −∞, so it will "
                                                "receive exactly zero weight.")
                                          : tr("A GPT-style model may not look ahead, but this is the last token: every key is "
                                               "in its past, nothing is masked."));
  if (const int before = options.window > 0 ? std::max(0, query_ - options.window + 1) : 0; before > 0)
    panels_[Mask]->set_caption(panels_[Mask]->caption() +
                               tr(" This is a sliding-window layer: a token sees only itself and the %1 before it, so the %2 "
                                  "earlier keys get −∞ too.")
                                   .arg(options.window - 1)
                                   .arg(before));
  panels_[Mask]->set_numbers(key_numbers(steps_.masked));

  const int best = argmax(steps_.probs);
  bars(Softmax)->set_bars(steps_.probs, labels, query_, true);
  panels_[Softmax]->set_caption(tr("Take e to the power of each score and divide by the total: the weights are between 0 and 1 "
                                   "and add up to 1. %1 gets the most, %2%.")
                                    .arg(name(best))
                                    .arg(QString::number(steps_.probs[best] * 100.0, 'f', 1)));
  panels_[Softmax]->set_numbers(key_numbers(steps_.probs));

  // Values, each row labelled with the weight it is multiplied by, and the output below.
  RowMatrix vo(N + 1, V.cols());
  vo.topRows(N) = V;
  vo.row(N) = steps_.output.transpose();
  QStringList vo_rows;
  for (int j = 0; j < N; ++j) vo_rows << QStringLiteral("%1 × v %2").arg(step_number(steps_.probs[j], 2), labels[j]);
  vo_rows << QStringLiteral("= output");
  output_->set_matrix(vo, vo_rows, {}, GridPlot::Style::Signed, {N});
  panels_[Output]->set_caption(tr("The output is the sum of the value vectors, each multiplied by its weight: Σ p·v. This is "
                                  "what the head passes on for %1.")
                                   .arg(query_name));
  panels_[Output]->set_numbers(QStringLiteral("output = %1").arg(vector_text(steps_.output)));
}

QString LiveTab::render_title() const {
  if (!ready_) return tr("Attention step by step");
  return tr("%1 · layer %2 · head %3 · query %4 — attention step by step")
      .arg(qstr(recording_->meta().model))
      .arg(layer_)
      .arg(head_)
      .arg(token_quoted(recording_->meta(), query_));
}

void LiveTab::render(QCPPainter& painter, const QSize& size) {
  QList<FigureCell> cells;
  for (StepPanel* p : panels_) cells << figure_cell(*p);
  draw_figure(painter, size, render_title(), cells, 2);
}

}  // namespace attn::ui
