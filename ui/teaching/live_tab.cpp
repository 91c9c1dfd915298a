#include "teaching/live_tab.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
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
  sharing_ = new GridPlot;
  norm_ = new GridPlot;
  rotate_ = new GridPlot;
  output_ = new GridPlot;
  for (int s = 0; s < StepCount; ++s) {
    QCustomPlot* plot = grid(Step(s));
    if (!plot) plot = bars_[size_t(s - Dots)] = new BarPlot;
    // Parented here from the start: a step this model has no use for never enters the layout,
    // and an orphan panel (with its plot) would outlive the tab.
    panels_[size_t(s)] = new StepPanel(QString(), plot, this);
    panels_[size_t(s)]->setMinimumHeight(270);
    panels_[size_t(s)]->hide();
  }
  bars(Dots)->set_axis_label(QStringLiteral("q·k"));
  bars(Scale)->set_axis_label(QStringLiteral("score"));
  bars(Mask)->set_axis_label(QStringLiteral("score"));
  bars(Softmax)->set_axis_label(QStringLiteral("weight"));

  steps_area_ = new QWidget;
  auto* grid = new QGridLayout(steps_area_);
  grid->setContentsMargins(0, 0, 0, 0);
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

GridPlot* LiveTab::grid(Step step) const {
  switch (step) {
    case Inputs: return inputs_;
    case Sharing: return sharing_;
    case Norm: return norm_;
    case Rotate: return rotate_;
    case Output: return output_;
    default: return nullptr;
  }
}

// The panels the recording's model takes, two to a row, numbered in order.
void LiveTab::arrange_panels() {
  const RecordingMeta* meta = recording_ ? &recording_->meta() : nullptr;
  shown_.fill(true);
  shown_[Sharing] = ready_ && meta->num_kv_heads > 0 && meta->num_kv_heads < meta->num_heads;
  shown_[Norm] = ready_ && recording_->has_raw_qk() && !meta->rotary.q_norm.empty();
  shown_[Rotate] = ready_ && recording_->has_raw_qk();
  static const char* const titles[StepCount] = {"Query and keys", "Shared keys and values", "Normalise q and k",
                                                "Turn q and k by their positions", "Dot products q·k", "Scale by 1/√d",
                                                "Causal mask", "Softmax", "Weighted sum of values"};
  int number = 0;
  for (int s = 0; s < StepCount; ++s)
    if (shown_[size_t(s)])
      panels_[size_t(s)]->set_heading(s == Inputs ? tr(titles[s]) : QStringLiteral("%1 · %2").arg(++number).arg(tr(titles[s])));
  if (shown_ == arranged_) return;
  auto* layout = static_cast<QGridLayout*>(steps_area_->layout());
  for (StepPanel* p : panels_) layout->removeWidget(p), p->hide();
  int cell = 0;
  for (int s = 0; s < StepCount; ++s) {
    if (!shown_[size_t(s)]) continue;
    layout->addWidget(panels_[size_t(s)], cell / 2, cell % 2);
    panels_[size_t(s)]->show();
    ++cell;
  }
  arranged_ = shown_;
}

QString LiveTab::key_numbers(const Vector& values) const {
  QStringList parts;
  for (int j = 0; j < values.size(); ++j)
    parts << QStringLiteral("%1 %2").arg(token_label(recording_->meta().tokens[size_t(j)], 10), step_number(values[j]));
  return parts.join(QStringLiteral("   "));
}

void LiveTab::update_steps() {
  arrange_panels();
  rotation_ = RotarySteps{};
  difference_ = 0;
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
  difference_ = diff;
  update_model_steps();
  hint_->setText(tr("Pick a layer, a head and the token whose attention you want to follow. The numbers are the model's "
                    "own; recomputing every step from its %1 vectors (%2 numbers each) gives the "
                    "same results (largest difference %3).")
                     .arg(recording_->has_raw_qk() ? tr("raw query and key projections and its value") : tr("query, key and value"))
                     .arg(d)
                     .arg(step_number(difference_, 2)));
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

void LiveTab::update_model_steps() {
  const RecordingMeta& meta = recording_->meta();
  const QStringList labels = token_labels(meta, 10);
  const QString query_name = token_quoted(meta, query_);
  const ConstMatrixMap K = recording_->matrix(Part::Key, layer_, head_);
  const int N = int(K.rows()), d = int(K.cols());

  if (shows(Sharing)) {  // the query heads of this head's key/value group
    const int group = meta.num_heads / meta.num_kv_heads, kv = meta.kv_group(head_), first = kv * group;
    RowMatrix queries(group, d);
    QStringList rows;
    double spread = 0;  // how far the group's keys and values are from this head's: 0
    for (int g = 0; g < group; ++g) {
      const int h = first + g;
      queries.row(g) = recording_->matrix(Part::Query, layer_, h).row(query_);
      rows << (h == head_ ? tr("q head %1 ◀").arg(h) : tr("q head %1").arg(h));
      for (Part p : {Part::Key, Part::Value})
        spread = std::max(spread, double((recording_->matrix(p, layer_, h) - recording_->matrix(p, layer_, head_)).cwiseAbs().maxCoeff()));
    }
    sharing_->set_matrix(queries, rows, {}, GridPlot::Style::Signed);
    panels_[Sharing]->set_caption(
        tr("This model has %1 query heads but only %2 key/value heads: heads %3–%4 share key/value head %5. They ask "
           "different questions of %6 (their queries, one row each) but compare them with the same keys and mix the same "
           "values, which saves memory and time.")
            .arg(meta.num_heads)
            .arg(meta.num_kv_heads)
            .arg(first)
            .arg(first + group - 1)
            .arg(kv)
            .arg(query_name));
    panels_[Sharing]->set_numbers(tr("keys and values of heads %1–%2: largest difference from head %3's %4")
                                      .arg(first)
                                      .arg(first + group - 1)
                                      .arg(head_)
                                      .arg(step_number(spread, 2)));
    difference_ = std::max(difference_, spread);
  }
  if (!recording_->has_raw_qk()) return;

  // The query and every key redone from their raw projections: q/k norm, then the rotation.
  const ConstMatrixMap Q = recording_->matrix(Part::Query, layer_, head_);
  const ConstMatrixMap raw_q = recording_->matrix(Part::QueryRaw, layer_, head_), raw_k = recording_->matrix(Part::KeyRaw, layer_, head_);
  rotation_ = rotary_steps(meta, layer_, false, raw_q.row(query_).transpose(), query_);
  double diff = (rotation_.rotated - Q.row(query_).transpose()).cwiseAbs().maxCoeff();
  RotarySteps key;  // the query token's own key, for the Norm panel
  for (int j = 0; j < N; ++j) {
    RotarySteps k = rotary_steps(meta, layer_, true, raw_k.row(j).transpose(), j);
    diff = std::max(diff, double((k.rotated - K.row(j).transpose()).cwiseAbs().maxCoeff()));
    if (j == query_) key = std::move(k);
  }
  difference_ = std::max(difference_, diff);

  if (shows(Norm)) {
    RowMatrix m(3, d);
    m.row(0) = rotation_.raw.transpose();
    m.row(1) = rotation_.gain.transpose();
    m.row(2) = rotation_.normed.transpose();
    norm_->set_matrix(m, {tr("raw q"), meta.rotary.norm_plus_one ? tr("gain 1 + w") : tr("gain w"), tr("q normalised")}, {},
                      GridPlot::Style::Signed, {1, 2});
    panels_[Norm]->set_caption(
        tr("Before anything else this model normalises each head's query and key: divide the raw projection by the root "
           "mean square of its numbers, then multiply every number by a learned gain (middle row). Every query and key "
           "then has a similar size, so no head's scores run away. Keys get their own gain."));
    panels_[Norm]->set_numbers(tr("rms(raw q) = %1   rms(raw k %2) = %3   eps = %4")
                                   .arg(step_number(rotation_.rms, 4), labels[query_], step_number(key.rms, 4))
                                   .arg(meta.rotary.norm_eps));
  }

  RowMatrix turned(2, d);
  turned.row(0) = rotation_.normed.transpose();
  turned.row(1) = rotation_.rotated.transpose();
  rotate_->set_matrix(turned, {tr("q before"), tr("q at position %1").arg(query_)}, {}, GridPlot::Style::Signed, {1});
  const std::vector<float>& freq = meta.rotary.frequencies(meta.window(layer_) > 0);
  const int half = int(freq.size());
  QString caption =
      tr("RoPE: channels c and c + %1 form a pair, turned like a clock hand by position × frequency: fast for the first "
         "pairs (%2 rad per token), slowly for the last (%3). Keys turn by their own positions, so q·k depends on how "
         "far apart two tokens are, not where they stand.")
          .arg(half)
          .arg(step_number(freq.front(), 3))
          .arg(step_number(freq.back(), 3));
  if (2 * half < d)
    caption += tr(" This model turns only the first %1 of each head's %2 channels; the other %3 carry no position.")
                   .arg(2 * half)
                   .arg(d)
                   .arg(d - 2 * half);
  if (!meta.rotary.local_inv_freq.empty())
    caption += meta.window(layer_) > 0 ? tr(" Sliding-window layers like this one turn by their own, faster frequencies.")
                                       : tr(" This full layer turns more slowly than the model's sliding-window layers.");
  if (meta.rotary.attention_factor != 1.0f)
    caption += tr(" Both are scaled by %1 (the attention factor of YaRN or LongRoPE, rotations stretched for long inputs).").arg(step_number(meta.rotary.attention_factor, 4));
  panels_[Rotate]->set_caption(caption);
  QStringList angles;
  for (int c = 0; c < std::min(half, 4); ++c) angles << tr("pair %1: %2 rad").arg(c).arg(step_number(rotation_.angles[c], 4));
  if (half > 4) angles << tr("… pair %1: %2 rad").arg(half - 1).arg(step_number(rotation_.angles[half - 1], 4));
  panels_[Rotate]->set_numbers(tr("angles at position %1: %2").arg(query_).arg(angles.join(QStringLiteral(", "))));
}

QSize LiveTab::render_size() const {
  const int rows = (int(std::count(shown_.begin(), shown_.end(), true)) + 1) / 2;
  return {1300, 170 + 310 * rows};
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
  for (int s = 0; s < StepCount; ++s)
    if (shown_[size_t(s)]) cells << figure_cell(*panels_[size_t(s)]);
  draw_figure(painter, size, render_title(), cells, 2);
}

}  // namespace attn::ui
