#include "teaching/toy_tab.h"

#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

#include "teaching/step_panel.h"
#include "teaching/teaching_plots.h"

namespace attn::ui {

namespace {

const char* const kTokenNames[ToyTab::kMaxTokens] = {"the", "cat", "sat", "on", "the", "mat"};

// The starting numbers (6 tokens × 4 dims). Head 1 is built so that each token's query
// matches the key of the token before it (a previous-token head); head 2's queries all match
// the key of the first "the" best (a head that parks on the first token). The values are
// nearly one-hot, so an output row shows which tokens it mixed.
const float kQ1[6][4] = {{0, 0, 0, 2}, {1, 0, 0, 1}, {0, 2, 0, 0}, {0, 0, 2, 0}, {2, 0, 0, 0}, {1, 0, 0, 1}};
const float kK1[6][4] = {{1, 0, 0, 1}, {0, 2, 0, 0}, {0, 0, 2, 0}, {2, 0, 0, 0}, {1, 0, 0, 1}, {0, 1, 1, 0}};
const float kQ2[6][4] = {{1, 1, 0, 0}, {1, 0, 0, 0}, {2, 0, 0, 1}, {1, 0, 1, 0}, {1, 1, 0, 1}, {2, 0, 0, 0}};
const float kK2[6][4] = {{2, 1, 0, 0}, {0, 0, 1, 0}, {0, 1, 0, 1}, {0, 0, 0, 1}, {1, 0, 0, 0}, {1, 0, 1, 0}};
const float kV[6][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}, {0, 1, 1, 0}};

RowMatrix from_table(const float (&t)[6][4]) {
  RowMatrix m(ToyTab::kMaxTokens, ToyTab::kMaxDims);
  for (int i = 0; i < ToyTab::kMaxTokens; ++i)
    for (int j = 0; j < ToyTab::kMaxDims; ++j) m(i, j) = t[i][j];
  return m;
}

QString cell_text(float v) { return QString::number(double(v), 'g', 4); }

constexpr int kSliderSteps = 20;  // T = 2^(−s/10): s in [−20, 20] → T in [4, 0.25]

int argmax_row(const RowMatrix& m, int row) {
  int best = 0;
  for (int j = 1; j < m.cols(); ++j)
    if (m(row, j) > m(row, best)) best = j;
  return best;
}

QString percent(double p) { return QString::number(p * 100.0, 'f', 0) + QLatin1Char('%'); }

}  // namespace

ToyTab::ToyTab(QWidget* parent) : QWidget(parent) {
  auto* outer = new QVBoxLayout(this);
  outer->addWidget(build_controls());
  auto* body = new QWidget;
  auto* layout = new QVBoxLayout(body);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(build_inputs());
  explanation_ = new QLabel(body);
  explanation_->setWordWrap(true);
  explanation_->setTextFormat(Qt::PlainText);
  layout->addWidget(build_results());
  layout->addWidget(explanation_);
  layout->addStretch(1);
  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setWidget(body);
  outer->addWidget(scroll, 1);
  reset_values();
}

QWidget* ToyTab::build_controls() {
  auto* bar = new QWidget(this);
  auto* h = new QHBoxLayout(bar);
  h->setContentsMargins(0, 0, 0, 0);
  tokens_box_ = new QSpinBox(bar);
  tokens_box_->setRange(kMinTokens, kMaxTokens);
  tokens_box_->setValue(n_);
  dims_box_ = new QSpinBox(bar);
  dims_box_->setRange(kMinDims, kMaxDims);
  dims_box_->setValue(d_);
  scale_button_ = new QPushButton(tr("Scale by 1/√d"), bar);
  scale_button_->setCheckable(true);
  scale_button_->setChecked(true);
  scale_button_->setToolTip(tr("What scaling does: divide the dot products by √d before softmax"));
  mask_button_ = new QPushButton(tr("Causal mask"), bar);
  mask_button_->setCheckable(true);
  mask_button_->setToolTip(tr("What the mask does: hide every later token (−∞ before softmax)"));
  temperature_slider_ = new QSlider(Qt::Horizontal, bar);
  temperature_slider_->setRange(-kSliderSteps, kSliderSteps);
  temperature_slider_->setValue(0);
  temperature_slider_->setMinimumWidth(140);
  temperature_slider_->setToolTip(tr("Divide the scores by a temperature T before softmax: left flatter (T > 1), right sharper (T < 1)"));
  temperature_label_ = new QLabel(bar);
  temperature_label_->setMinimumWidth(temperature_label_->fontMetrics().horizontalAdvance(QStringLiteral("T = 0.00")));
  heads_button_ = new QPushButton(tr("Two heads"), bar);
  heads_button_->setCheckable(true);
  heads_button_->setToolTip(tr("Add a second head with its own queries and keys"));
  auto* reset = new QPushButton(tr("Reset numbers"), bar);

  h->addWidget(new QLabel(tr("Tokens"), bar));
  h->addWidget(tokens_box_);
  h->addWidget(new QLabel(tr("Numbers per vector (d)"), bar));
  h->addWidget(dims_box_);
  h->addSpacing(12);
  h->addWidget(scale_button_);
  h->addWidget(mask_button_);
  h->addSpacing(12);
  h->addWidget(new QLabel(tr("flatter"), bar));
  h->addWidget(temperature_slider_);
  h->addWidget(new QLabel(tr("sharper"), bar));
  h->addWidget(temperature_label_);
  h->addSpacing(12);
  h->addWidget(heads_button_);
  h->addStretch(1);
  h->addWidget(reset);

  connect(tokens_box_, qOverload<int>(&QSpinBox::valueChanged), this, &ToyTab::set_tokens);
  connect(dims_box_, qOverload<int>(&QSpinBox::valueChanged), this, &ToyTab::set_dims);
  connect(scale_button_, &QPushButton::toggled, this, &ToyTab::set_scaling);
  connect(mask_button_, &QPushButton::toggled, this, &ToyTab::set_causal);
  connect(heads_button_, &QPushButton::toggled, this, &ToyTab::set_two_heads);
  connect(temperature_slider_, &QSlider::valueChanged, this, [this](int s) {
    options_.temperature = float(std::pow(2.0, -s / 10.0));
    recompute();
  });
  connect(reset, &QPushButton::clicked, this, &ToyTab::reset_values);
  return bar;
}

QWidget* ToyTab::build_inputs() {
  auto* row = new QWidget(this);
  auto* h = new QHBoxLayout(row);
  h->setContentsMargins(0, 0, 0, 0);
  auto make_table = [this](Input input, int head) {
    auto* t = new QTableWidget(this);
    t->horizontalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    t->horizontalHeader()->setDefaultSectionSize(48);
    t->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    t->verticalHeader()->setDefaultSectionSize(24);
    t->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    t->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    t->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    connect(t, &QTableWidget::itemChanged, this, [this, input, head](QTableWidgetItem* item) {
      if (!filling_) on_cell_changed(input, head, item->row(), item->column());
    });
    return t;
  };
  auto titled = [](QWidget* parent, const QString& title, QTableWidget* table) {
    auto* w = new QWidget(parent);
    auto* v = new QVBoxLayout(w);
    v->setContentsMargins(0, 0, 0, 0);
    v->addWidget(new QLabel(title, w));
    v->addWidget(table);
    v->addStretch(1);
    return w;
  };
  QGroupBox* head_boxes[kHeads];
  for (int hd = 0; hd < kHeads; ++hd) {
    q_tables_[size_t(hd)] = make_table(Input::Query, hd);
    k_tables_[size_t(hd)] = make_table(Input::Key, hd);
    head_boxes[hd] = new QGroupBox(tr("Head %1: queries and keys").arg(hd + 1), row);
    auto* g = new QHBoxLayout(head_boxes[hd]);
    g->addWidget(titled(head_boxes[hd], tr("Q (what each token looks for)"), q_tables_[size_t(hd)]));
    g->addWidget(titled(head_boxes[hd], tr("K (what each token offers)"), k_tables_[size_t(hd)]));
  }
  v_table_ = make_table(Input::Value, 0);
  auto* vbox = new QGroupBox(tr("Values (shared by both heads)"), row);
  auto* vg = new QHBoxLayout(vbox);
  vg->addWidget(titled(vbox, tr("V (what each token passes on)"), v_table_));
  head2_inputs_ = head_boxes[1];
  h->addWidget(head_boxes[0]);
  h->addWidget(vbox);
  h->addWidget(head_boxes[1]);
  h->addStretch(1);
  head2_inputs_->setVisible(false);
  return row;
}

QWidget* ToyTab::build_results() {
  auto* col = new QWidget(this);
  auto* v = new QVBoxLayout(col);
  v->setContentsMargins(0, 0, 0, 0);
  for (int hd = 0; hd < kHeads; ++hd) {
    auto* box = new QGroupBox(tr("Head %1").arg(hd + 1), col);
    auto* h = new QHBoxLayout(box);
    scores_[size_t(hd)] = new GridPlot(box);
    weights_[size_t(hd)] = new GridPlot(box);
    outputs_[size_t(hd)] = new GridPlot(box);
    for (GridPlot* p : {scores_[size_t(hd)], weights_[size_t(hd)], outputs_[size_t(hd)]}) {
      p->setMinimumSize(240, 300);
      p->setMaximumHeight(360);
      h->addWidget(p, 1);
    }
    scores_[size_t(hd)]->set_axis_labels(tr("query"), tr("key"));
    weights_[size_t(hd)]->set_axis_labels(tr("query"), tr("key"));
    outputs_[size_t(hd)]->set_axis_labels(tr("token"), tr("dimension"));
    result_boxes_[size_t(hd)] = box;
    v->addWidget(box);
  }
  result_boxes_[1]->setVisible(false);
  return col;
}

void ToyTab::reset_values() {
  q_ = {from_table(kQ1), from_table(kQ2)};
  k_ = {from_table(kK1), from_table(kK2)};
  v_ = from_table(kV);
  fill_tables();
  recompute();
}

void ToyTab::set_tokens(int n) {
  n_ = std::clamp(n, int(kMinTokens), int(kMaxTokens));
  if (tokens_box_->value() != n_) tokens_box_->setValue(n_);
  fill_tables();
  recompute();
}

void ToyTab::set_dims(int d) {
  d_ = std::clamp(d, int(kMinDims), int(kMaxDims));
  if (dims_box_->value() != d_) dims_box_->setValue(d_);
  fill_tables();
  recompute();
}

void ToyTab::set_scaling(bool on) {
  options_.scale = on;
  if (scale_button_->isChecked() != on) scale_button_->setChecked(on);
  recompute();
}

void ToyTab::set_causal(bool on) {
  options_.causal = on;
  if (mask_button_->isChecked() != on) mask_button_->setChecked(on);
  recompute();
}

void ToyTab::set_temperature(double t) {
  const int s = std::clamp(int(std::lround(-10.0 * std::log2(std::max(t, 1e-6)))), -kSliderSteps, kSliderSteps);
  if (temperature_slider_->value() != s) temperature_slider_->setValue(s);  // recomputes
  else recompute();
}

void ToyTab::set_two_heads(bool on) {
  two_heads_ = on;
  if (heads_button_->isChecked() != on) heads_button_->setChecked(on);
  head2_inputs_->setVisible(on);
  result_boxes_[1]->setVisible(on);
  recompute();
}

void ToyTab::set_value(Input input, int head, int row, int col, double value) {
  QTableWidget* t = table(input, head);
  if (row < 0 || col < 0 || row >= t->rowCount() || col >= t->columnCount()) return;
  t->item(row, col)->setText(cell_text(float(value)));  // itemChanged → on_cell_changed
}

QTableWidget* ToyTab::table(Input input, int head) const {
  switch (input) {
    case Input::Query: return q_tables_[size_t(head)];
    case Input::Key: return k_tables_[size_t(head)];
    case Input::Value: return v_table_;
  }
  return nullptr;
}

RowMatrix ToyTab::input(Input input, int head) const {
  switch (input) {
    case Input::Query: return q_[size_t(head)].topLeftCorner(n_, d_);
    case Input::Key: return k_[size_t(head)].topLeftCorner(n_, d_);
    case Input::Value: return v_.topLeftCorner(n_, d_);
  }
  return {};
}

QStringList ToyTab::token_names() const {
  QStringList out;
  for (int i = 0; i < n_; ++i) out << QString::fromLatin1(kTokenNames[i]);
  return out;
}

QStringList ToyTab::dim_names() const {
  QStringList out;
  for (int c = 0; c < d_; ++c) out << QString::number(c + 1);
  return out;
}

void ToyTab::fill_tables() {
  filling_ = true;
  auto fill = [&](QTableWidget* t, const RowMatrix& m) {
    t->setRowCount(n_);
    t->setColumnCount(d_);
    t->setVerticalHeaderLabels(token_names());
    t->setHorizontalHeaderLabels(dim_names());
    for (int i = 0; i < n_; ++i)
      for (int j = 0; j < d_; ++j) {
        auto* item = new QTableWidgetItem(cell_text(m(i, j)));
        item->setTextAlignment(Qt::AlignCenter);
        t->setItem(i, j, item);
      }
  };
  for (int hd = 0; hd < kHeads; ++hd) {
    fill(q_tables_[size_t(hd)], q_[size_t(hd)]);
    fill(k_tables_[size_t(hd)], k_[size_t(hd)]);
  }
  fill(v_table_, v_);
  filling_ = false;
}

void ToyTab::on_cell_changed(Input input, int head, int row, int col) {
  RowMatrix& m = input == Input::Query ? q_[size_t(head)] : input == Input::Key ? k_[size_t(head)] : v_;
  QTableWidgetItem* item = table(input, head)->item(row, col);
  QString text = item->text().trimmed();
  text.replace(QChar(0x2212), QLatin1Char('-')).replace(QLatin1Char(','), QLatin1Char('.'));
  bool ok = false;
  const double value = text.toDouble(&ok);
  if (!ok || !std::isfinite(value) || std::abs(value) > 1e6) {
    filling_ = true;
    item->setText(cell_text(m(row, col)));  // not a number: put the old one back
    item->setToolTip(tr("Type a number, e.g. 1.5 or -2"));
    filling_ = false;
    return;
  }
  m(row, col) = float(value);
  recompute();
}

void ToyTab::recompute() {
  temperature_label_->setText(QStringLiteral("T = %1").arg(options_.temperature, 0, 'f', 2));
  const QStringList tokens = token_names(), dims = dim_names();
  const RowMatrix V = input(Input::Value);
  const int heads = two_heads_ ? 2 : 1;
  for (int hd = 0; hd < kHeads; ++hd) {
    HeadSteps& r = results_[size_t(hd)];
    r = head_steps(input(Input::Query, hd), input(Input::Key, hd), V, options_);
    if (hd >= heads) continue;
    QString score_title = QStringLiteral("Scores: q·k");
    if (options_.scale) score_title += QStringLiteral(" ÷ √%1").arg(d_);
    if (options_.temperature != 1.0f) score_title += QStringLiteral(" ÷ T");
    scores_[size_t(hd)]->set_title(score_title);
    scores_[size_t(hd)]->set_matrix(r.masked, tokens, tokens, GridPlot::Style::Signed);
    weights_[size_t(hd)]->set_title(QStringLiteral("Weights = softmax (rows add up to 1)"));
    weights_[size_t(hd)]->set_matrix(r.probs, tokens, tokens, GridPlot::Style::Probability);
    outputs_[size_t(hd)]->set_title(QStringLiteral("Output = weights · V"));
    outputs_[size_t(hd)]->set_matrix(r.output, tokens, dims, GridPlot::Style::Signed);
  }
  explanation_->setText(explanation());
  Q_EMIT updated();
}

QString ToyTab::explanation() const {
  const int last = n_ - 1;
  const QString who = QStringLiteral("“%1”").arg(QString::fromLatin1(kTokenNames[last]));
  const RowMatrix Q = input(Input::Query), K = input(Input::Key), V = input(Input::Value);
  const HeadSteps& r = results_[0];
  const int best = argmax_row(r.probs, last);
  auto name = [](int j) { return QStringLiteral("“%1”").arg(QString::fromLatin1(kTokenNames[j])); };
  QStringList s;
  s << tr("Read a row: the token on the left shares out 100% of its attention over the keys along the bottom. "
          "%1 gives the most to %2 (%3).")
           .arg(who, name(best), percent(r.probs(last, best)));
  StepOptions other = options_;
  other.scale = !options_.scale;
  const double alt = head_steps(Q, K, V, other).probs.row(last).maxCoeff(), now = r.probs.row(last).maxCoeff();
  if (options_.scale)
    s << tr("Scaling divides every dot product by √%1 = %2; without it the scores are bigger and softmax sharper: "
            "the strongest weight in the row of %3 would be %4 instead of %5.")
             .arg(d_)
             .arg(step_number(std::sqrt(double(d_)), 3))
             .arg(who, percent(alt), percent(now));
  else
    s << tr("Scaling is off: the raw dot products go into softmax. Dividing by √%1 would soften the strongest weight in "
            "the row of %2 from %3 to %4.")
             .arg(d_)
             .arg(who, percent(now), percent(alt));
  s << (options_.causal ? tr("The causal mask sets every later key to −∞ (grey), so each token only sees itself and earlier "
                             "tokens; the first token can only look at itself.")
                        : tr("No mask: every token sees every token, also later ones (like BERT). Switch the causal mask on to "
                             "hide the future, as GPT does."));
  if (options_.temperature != 1.0f)
    s << tr("Temperature T = %1 divides the scores before softmax: %2.")
             .arg(options_.temperature, 0, 'f', 2)
             .arg(options_.temperature < 1 ? tr("below 1 the strongest key takes even more") : tr("above 1 the weights even out"));
  if (two_heads_) {
    const HeadSteps& r2 = results_[1];
    const int best2 = argmax_row(r2.probs, last);
    s << tr("Two heads read the same tokens with different queries and keys: in head 1 %1 looks most at %2 (%3), in "
            "head 2 at %4 (%5). A model concatenates both outputs.")
             .arg(who, name(best), percent(r.probs(last, best)), name(best2), percent(r2.probs(last, best2)));
  }
  return s.join(QLatin1Char(' '));
}

QString ToyTab::render_title() const { return tr("Attention with %1 tokens — toy example").arg(n_); }

void ToyTab::render(QCPPainter& painter, const QSize& size) {
  const QStringList tokens = token_names(), dims = dim_names();
  // The inputs as pictures (the tables are widgets): temporary plots, drawn and dropped.
  std::vector<std::unique_ptr<GridPlot>> temp;
  auto input_cell = [&](const QString& heading, const RowMatrix& m) {
    temp.push_back(std::make_unique<GridPlot>());
    temp.back()->set_matrix(m, tokens, dims, GridPlot::Style::Signed);
    temp.back()->set_axis_labels(tr("token"), tr("dimension"));
    FigureCell c;
    c.heading = heading;
    c.draw = plot_drawer(temp.back().get());
    c.weight = 0.8;
    return c;
  };
  auto plot_cell = [](const QString& heading, GridPlot* p) {
    FigureCell c;
    c.heading = heading;
    c.draw = plot_drawer(p);
    return c;
  };
  QList<FigureCell> cells;
  const int heads = two_heads_ ? 2 : 1;
  for (int hd = 0; hd < heads; ++hd) {
    const QString prefix = heads > 1 ? tr("Head %1 · ").arg(hd + 1) : QString();
    cells << input_cell(prefix + tr("Q (queries)"), input(Input::Query, hd)) << input_cell(prefix + tr("K (keys)"), input(Input::Key, hd))
          << input_cell(tr("V (values)"), input(Input::Value));
    // The plots carry their own titles.
    const QString head = heads > 1 ? tr("Head %1").arg(hd + 1) : QString();
    cells << plot_cell(head, scores_[size_t(hd)]) << plot_cell(head, weights_[size_t(hd)]) << plot_cell(head, outputs_[size_t(hd)]);
  }
  QString title = render_title();
  QStringList flags;
  flags << (options_.scale ? tr("scaled by 1/√%1").arg(d_) : tr("not scaled"));
  flags << (options_.causal ? tr("causal mask") : tr("no mask"));
  flags << QStringLiteral("T = %1").arg(options_.temperature, 0, 'f', 2);
  draw_figure(painter, size, title + QStringLiteral(" (") + flags.join(QStringLiteral(", ")) + QLatin1Char(')'), cells, 3, explanation());
}

}  // namespace attn::ui
