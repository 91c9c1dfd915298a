#include "views/timeline_view.h"

#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QSlider>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <qcustomplot.h>

#include "colormap/value_mapper.h"
#include "state/theme.h"
#include "state/view_state.h"
#include "views/plot_style.h"

namespace attn::ui {

namespace {

QString percent(double p) { return p >= 0.001 ? QStringLiteral("%1 %").arg(p * 100, 0, 'f', 1) : QStringLiteral("< 0.1 %"); }

QString quoted(const std::string& token) { return QStringLiteral("“%1”").arg(token_label(token, 24)); }

QString row_name(int row, int heads) {
  if (row < heads) return QObject::tr("head %1").arg(row);
  return row == heads ? QObject::tr("mean") : QObject::tr("max");
}

// Where paint() put the strip, for hovering.
struct StripGeometry {
  QRectF cells;  // the cells' area
  int rows = 0, cols = 0;
  double row_height = 0, gap = 0, col_width = 0;
  int heads = 0;
  // The (row, key) under `p`, or (-1, -1).
  std::pair<int, int> cell_at(const QPointF& p) const {
    if (!cells.contains(p) || cols == 0) return {-1, -1};
    double y = p.y() - cells.top();
    int row = int(y / row_height);
    if (row >= heads) {  // below the gap before mean / max
      y -= gap;
      row = y < heads * row_height ? -1 : int(y / row_height);
    }
    const int col = int((p.x() - cells.left()) / col_width);
    if (row < 0 || row >= rows || col < 0 || col >= cols) return {-1, -1};
    return {row, col};
  }
};

QColor text_on(QRgb background) { return qGray(background) > 140 ? QColor(Qt::black) : QColor(Qt::white); }

// Draws the step into (0, 0, size).
void paint_step(QPainter& p, const QSizeF& size, const TimelineStep& s, const ViewState& state, const QString& title, StripGeometry* geometry) {
  const Theme& t = theme(state.dark());
  p.fillRect(QRectF(QPointF(0, 0), size), t.background);
  const QFontMetricsF fm(p.font());
  const double fh = fm.height(), m = fh;
  QFont bold = p.font();
  bold.setBold(true);
  const QFontMetricsF bfm(bold);
  double y = m * 0.6;
  p.setPen(t.foreground);
  p.setFont(bold);
  p.drawText(QRectF(m, y, size.width() - 2 * m, bfm.height()), Qt::AlignLeft | Qt::AlignVCenter,
             bfm.elidedText(title, Qt::ElideRight, size.width() - 2 * m));
  p.setFont(QFont());
  p.setFont(p.font());
  y += bfm.height() * 1.6;

  // Left: the token chosen and the candidates.
  const double left_w = std::min(340.0, size.width() * 0.3);
  double ly = y;
  p.setFont(bold);
  p.drawText(QRectF(m, ly, left_w, bfm.height()), Qt::AlignLeft | Qt::AlignVCenter, QObject::tr("Candidates at step %1").arg(s.step + 1));
  ly += bfm.height() * 1.4;
  p.setFont(QFont());
  const double label_w = left_w * 0.45, bar_w = left_w - label_w - fm.horizontalAdvance(QStringLiteral(" 100.0 %")) - 4;
  bool chosen_listed = false;
  double top_prob = s.chosen.chosen.prob;  // bars relative to the most probable token shown
  for (const CandidateToken& c : s.chosen.candidates) top_prob = std::max(top_prob, c.prob);
  auto candidate_row = [&](const CandidateToken& c, bool chosen) {
    p.setPen(chosen ? t.accent : t.foreground);
    p.drawText(QRectF(m, ly, label_w - 4, fh), Qt::AlignLeft | Qt::AlignVCenter, fm.elidedText(quoted(c.token), Qt::ElideRight, label_w - 4));
    const QRectF bar(m + label_w, ly + fh * 0.2, std::max(1.0, bar_w * c.prob / std::max(1e-12, top_prob)), fh * 0.6);
    p.fillRect(bar, chosen ? t.accent : t.muted);
    p.setPen(t.foreground);
    p.drawText(QRectF(bar.right() + 4, ly, left_w, fh), Qt::AlignLeft | Qt::AlignVCenter, percent(c.prob));
    ly += fh * 1.3;
  };
  for (const CandidateToken& c : s.chosen.candidates) {
    const bool chosen = c.id == s.chosen.chosen.id;
    chosen_listed = chosen_listed || chosen;
    candidate_row(c, chosen);
  }
  if (!chosen_listed) {  // sampled from below the top candidates
    ly += fh * 0.3;
    p.setPen(t.muted);
    p.drawText(QRectF(m, ly, left_w, fh), Qt::AlignLeft | Qt::AlignVCenter, QObject::tr("sampled:"));
    ly += fh * 1.1;
    candidate_row(s.chosen.chosen, true);
  }

  // Right: the producing row of every head, then the layer's mean and max.
  const double x0 = m + left_w + m, right = size.width() - m;
  const int heads = int(s.rows.rows()) - 2, cols = int(s.rows.cols());
  double names_w = 0;
  for (int r = 0; r < heads + 2; ++r) names_w = std::max(names_w, fm.horizontalAdvance(row_name(r, heads)));
  names_w += 8;
  p.setPen(t.foreground);
  p.setFont(bold);
  p.drawText(QRectF(x0, y, right - x0, bfm.height()), Qt::AlignLeft | Qt::AlignVCenter,
             bfm.elidedText((s.over_source ? QObject::tr("Cross-attention of target token %1 (%2) to the source, which chose %3")
                                           : QObject::tr("Attention of token %1 (%2), which chose %3"))
                                .arg(s.position).arg(quoted(s.query_token)).arg(quoted(s.chosen.chosen.token)),
                            Qt::ElideRight, right - x0));
  p.setFont(QFont());
  double sy = y + bfm.height() * 1.4;
  const double row_h = std::clamp((size.height() * 0.42) / (heads + 3), fh * 0.6, fh * 1.6), gap = row_h * 0.4;
  const QRectF cells(x0 + names_w, sy, std::max(1.0, right - x0 - names_w), (heads + 2) * row_h + gap);
  const double cw = cells.width() / std::max(1, cols);
  const ValueMapper mapper(state.colors(), ValueRange{0.0, std::max(1e-9, double(s.rows.maxCoeff()))});
  for (int r = 0; r < heads + 2; ++r) {
    const double ry = sy + r * row_h + (r >= heads ? gap : 0);
    p.setPen(r == s.selected_row ? t.accent : t.muted);
    p.drawText(QRectF(x0, ry, names_w - 6, row_h), Qt::AlignRight | Qt::AlignVCenter, row_name(r, heads));
    for (int c = 0; c < cols; ++c)
      p.fillRect(QRectF(cells.left() + c * cw, ry, cw + 0.5, row_h - 1), QColor::fromRgb(mapper.rgb(s.rows(r, c))));
    if (r == s.selected_row) {
      p.setPen(QPen(t.accent, 2));
      p.setBrush(Qt::NoBrush);
      p.drawRect(QRectF(cells.left(), ry, cells.width(), row_h - 1));
    }
  }
  if (s.prompt_length < cols) {  // where the generated tokens begin
    const double x = cells.left() + s.prompt_length * cw;
    p.setPen(QPen(t.foreground, 2));
    p.drawLine(QPointF(x, cells.top() - fh * 0.3), QPointF(x, cells.bottom() + fh * 0.2));
  }
  if (geometry) *geometry = {cells, heads + 2, cols, row_h, gap, cw, heads};
  sy = cells.bottom() + fh * 0.3;
  p.setPen(t.muted);  // the keys' tokens when each fits under its column, else the ends of the sequence
  double widest = 0;
  for (const std::string& token : s.tokens) widest = std::max(widest, fm.horizontalAdvance(token_label(token, 10)));
  if (widest + 4 <= cw) {
    for (int c = 0; c < cols; ++c)
      p.drawText(QRectF(cells.left() + c * cw, sy, cw, fh), Qt::AlignCenter, token_label(s.tokens[size_t(c)], 10));
  } else {
    p.drawText(QRectF(cells.left(), sy, cells.width(), fh), Qt::AlignLeft | Qt::AlignVCenter, QObject::tr("token 0"));
    p.drawText(QRectF(cells.left(), sy, cells.width(), fh), Qt::AlignRight | Qt::AlignVCenter, QObject::tr("token %1").arg(cols - 1));
  }
  sy += fh * 1.3;
  // The colour scale.
  const QRectF scale(cells.left(), sy + fh * 0.2, std::min(220.0, cells.width() * 0.4), fh * 0.6);
  for (int i = 0; i < int(scale.width()); ++i)
    p.fillRect(QRectF(scale.left() + i, scale.top(), 1.5, scale.height()),
               QColor::fromRgb(mapper.rgb(mapper.range().lo + (mapper.range().hi - mapper.range().lo) * i / std::max(1.0, scale.width() - 1))));
  p.drawText(QRectF(x0, sy, names_w - 6, fh), Qt::AlignRight | Qt::AlignVCenter, QStringLiteral("0"));
  p.drawText(QRectF(scale.right() + 6, sy, 200, fh), Qt::AlignLeft | Qt::AlignVCenter,
             QObject::tr("%1 (weight)").arg(mapper.range().hi, 0, 'g', 3));
  sy += fh * 1.8;

  // The text itself, shaded by the selected row's weights, the chosen token after it.
  p.setFont(bold);
  p.setPen(t.foreground);
  p.drawText(QRectF(x0, sy, right - x0, bfm.height()), Qt::AlignLeft | Qt::AlignVCenter,
             s.over_source ? QObject::tr("The source, shaded by %1's cross-attention weights").arg(row_name(s.selected_row, heads))
                           : QObject::tr("The text, shaded by %1's weights (generated tokens underlined)").arg(row_name(s.selected_row, heads)));
  p.setFont(QFont());
  sy += bfm.height() * 1.4;
  struct Box {
    QString text;
    int token;  // -1: the chosen one
    QRectF rect;
  };
  std::vector<Box> boxes;
  double bx = x0, by = 0;
  const double line_h = fh * 1.35;
  auto place = [&](const QString& text, int token) {
    const double w = fm.horizontalAdvance(text) + 6;
    if (bx + w > right && bx > x0) {
      bx = x0;
      by += line_h;
    }
    boxes.push_back({text, token, QRectF(bx, by, std::min(w, right - x0), fh * 1.2)});
    bx += w + 2;
  };
  for (int i = 0; i < cols; ++i) place(token_label(s.tokens[size_t(i)], 24), i);
  if (!s.over_source) place(token_label(s.chosen.chosen.token, 24), -1);
  const double room = size.height() - m - sy;
  const double shift = std::max(0.0, by + line_h - room);  // too long: the end shows, the start scrolls away
  for (const Box& b : boxes) {
    QRectF r = b.rect.translated(0, sy - shift);
    if (r.top() < sy) continue;
    if (b.token < 0) {
      p.setPen(QPen(t.accent, 2, Qt::DashLine));
      p.setBrush(Qt::NoBrush);
      p.drawRect(r);
      p.setPen(t.accent);
    } else {
      const QRgb rgb = mapper.rgb(s.rows(s.selected_row, b.token));
      p.fillRect(r, QColor::fromRgb(rgb));
      if (b.token >= s.prompt_length) {  // generated earlier: underlined
        p.setPen(QPen(t.foreground, 2));
        p.drawLine(QPointF(r.left(), r.bottom() + 2), QPointF(r.right(), r.bottom() + 2));
      }
      p.setPen(text_on(rgb));
    }
    p.drawText(r, Qt::AlignCenter, b.text);
  }
  if (shift > 0) {
    p.setPen(t.muted);
    p.drawText(QRectF(x0, sy - fh, right - x0, fh), Qt::AlignRight | Qt::AlignVCenter, QObject::tr("(earlier text above)"));
  }
}

}  // namespace

std::optional<TimelineStep> timeline_step(const ViewState& state, int t) {
  const auto& rec = state.recording();
  if (!rec) return std::nullopt;
  const auto info = read_generation(*rec);
  if (!info || info->steps.empty()) return std::nullopt;
  TimelineStep s;
  s.steps = int(info->steps.size());
  s.step = std::clamp(t, 0, s.steps - 1);
  s.prompt_length = info->prompt_length;
  s.position = info->prompt_length - 1 + s.step;
  s.chosen = info->steps[size_t(s.step)];
  const auto& meta = rec->meta();
  s.query_token = meta.tokens[size_t(s.position)];
  s.over_source = meta.encoder_decoder();
  if (s.over_source) {
    s.tokens = meta.source_tokens;
    s.prompt_length = int(s.tokens.size());  // nothing in the source was generated
  } else {
    s.tokens.assign(meta.tokens.begin(), meta.tokens.begin() + s.position + 1);
  }
  const auto part = s.over_source ? AttentionRecording::Part::CrossAttention : AttentionRecording::Part::Attention;
  const int H = rec->num_heads(), layer = state.layer(), K = int(s.tokens.size());
  s.model_layer = meta.model_layer(layer);
  s.rows = RowMatrix::Zero(H + 2, K);
  for (int h = 0; h < H; ++h) {
    s.rows.row(h) = rec->block(part, layer, h, s.position, s.position + 1, 0, K);
    s.rows.row(H) += s.rows.row(h) / float(H);
  }
  s.rows.row(H + 1) = s.rows.topRows(H).colwise().maxCoeff();
  s.selected_row = state.head() >= 0 ? std::min(state.head(), H - 1) : state.head() == kHeadMean ? H : H + 1;
  return s;
}

// The drawing, which hovers.
class TimelineView::Canvas : public QWidget {
 public:
  explicit Canvas(TimelineView* view) : QWidget(view), view_(view) {
    setMouseTracking(true);
    setMinimumSize(400, 260);
  }
  StripGeometry geometry_;

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    if (!view_->content_)
      return paint_placeholder(p, rect(), theme(view_->state_->dark()),
                               tr("This recording is not a generation. Generate text (Generate in the side panel, or attnscope generate) "
                                  "to step through the tokens it chose."));
    paint_step(p, size(), *view_->content_, *view_->state_, view_->render_title(), &geometry_);
  }
  void mouseMoveEvent(QMouseEvent* e) override {
    const QString text = view_->describe_at(e->position());
    setToolTip(text);
    Q_EMIT view_->hovered(text);
  }

 private:
  TimelineView* view_;
};

TimelineView::TimelineView(ViewState* state, QWidget* parent) : QWidget(parent), state_(state) {
  setFocusPolicy(Qt::StrongFocus);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  auto* bar = new QHBoxLayout;
  prev_ = new QToolButton(this);
  prev_->setArrowType(Qt::LeftArrow);
  prev_->setToolTip(tr("Previous token (←)"));
  next_ = new QToolButton(this);
  next_->setArrowType(Qt::RightArrow);
  next_->setToolTip(tr("Next token (→)"));
  play_ = new QToolButton(this);
  play_->setText(tr("Play"));
  play_->setCheckable(true);
  play_->setToolTip(tr("Step through the tokens (Space)"));
  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setToolTip(tr("The generated token to show"));
  label_ = new QLabel(this);
  label_->setMinimumWidth(120);
  bar->addWidget(prev_);
  bar->addWidget(play_);
  bar->addWidget(next_);
  bar->addWidget(slider_, 1);
  bar->addWidget(label_);
  layout->addLayout(bar);
  canvas_ = new Canvas(this);
  layout->addWidget(canvas_, 1);
  timer_ = new QTimer(this);
  timer_->setInterval(700);

  connect(prev_, &QToolButton::clicked, this, [this] { set_step(step_ - 1); });
  connect(next_, &QToolButton::clicked, this, [this] { set_step(step_ + 1); });
  connect(play_, &QToolButton::toggled, this, &TimelineView::set_playing);
  connect(slider_, &QSlider::valueChanged, this, [this](int v) { set_step(v); });
  connect(timer_, &QTimer::timeout, this, [this] {
    if (step_ + 1 >= steps()) return set_playing(false);
    set_step(step_ + 1);
  });
  connect(state_, &ViewState::recording_changed, this, &TimelineView::refresh);
  connect(state_, &ViewState::selection_changed, this, &TimelineView::update_content);
  connect(state_, &ViewState::colors_changed, canvas_, qOverload<>(&QWidget::update));
  connect(state_, &ViewState::theme_changed, canvas_, qOverload<>(&QWidget::update));
  refresh();
}

int TimelineView::steps() const { return info_ ? int(info_->steps.size()) : 0; }

void TimelineView::refresh() {
  info_ = state_->recording() ? read_generation(*state_->recording()) : std::nullopt;
  const int n = steps();
  for (QWidget* w : {static_cast<QWidget*>(prev_), static_cast<QWidget*>(next_), static_cast<QWidget*>(play_), static_cast<QWidget*>(slider_)})
    w->setEnabled(n > 0);
  {
    const QSignalBlocker block(slider_);
    slider_->setRange(0, std::max(0, n - 1));
  }
  step_ = -1;
  set_step(n > 0 ? 0 : -1);
  if (n == 0) update_content();
}

void TimelineView::set_step(int t) {
  const int n = steps();
  if (t < 0) t = n - 1;
  t = std::clamp(t, 0, std::max(0, n - 1));
  if (t == step_ && content_) return;
  step_ = t;
  {
    const QSignalBlocker block(slider_);
    slider_->setValue(t);
  }
  label_->setText(n > 0 ? tr("token %1 of %2").arg(t + 1).arg(n) : tr("no generation"));
  update_content();
  if (n > 0 && content_) state_->set_query(content_->position);  // the other views show the same row
  Q_EMIT step_changed(t);
}

void TimelineView::update_content() {
  content_ = info_ ? timeline_step(*state_, step_) : std::nullopt;
  canvas_->update();
}

bool TimelineView::playing() const { return timer_->isActive(); }

void TimelineView::set_playing(bool play) {
  if (play && steps() > 0) {
    if (step_ + 1 >= steps()) set_step(0);  // from the start again
    timer_->start();
  } else {
    timer_->stop();
  }
  const QSignalBlocker block(play_);
  play_->setChecked(timer_->isActive());
  play_->setText(timer_->isActive() ? tr("Pause") : tr("Play"));
}

QString TimelineView::describe_at(const QPointF& pos) const {
  if (!content_) return {};
  const auto [row, col] = canvas_->geometry_.cell_at(pos);
  if (row < 0) return {};
  const int heads = int(content_->rows.rows()) - 2;
  return (content_->over_source ? tr("%1 · target token %2 %3 → source token %4 %5: %6") : tr("%1 · token %2 %3 → token %4 %5: %6"))
      .arg(row_name(row, heads))
      .arg(content_->position)
      .arg(quoted(content_->query_token))
      .arg(col)
      .arg(quoted(content_->tokens[size_t(col)]))
      .arg(content_->rows(row, col), 0, 'f', 4);
}

QString TimelineView::render_title() const {
  const auto& rec = state_->recording();
  if (!rec || !content_) return tr("Timeline");
  return with_reading(tr("%1 · layer %2 · token %3 of %4: %5 (%6)")
                          .arg(qstr(rec->meta().model))
                          .arg(content_->model_layer)
                          .arg(content_->step + 1)
                          .arg(content_->steps)
                          .arg(quoted(content_->chosen.chosen.token), percent(content_->chosen.chosen.prob)),
                      rec->meta());
}

void TimelineView::render(QCPPainter& painter, const QSize& size) {
  if (!content_) {
    painter.fillRect(QRect(QPoint(0, 0), size), theme(state_->dark()).background);
    return;
  }
  paint_step(painter, size, *content_, *state_, render_title(), nullptr);
}

void TimelineView::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Left: set_step(step_ - 1); break;
    case Qt::Key_Right: set_step(step_ + 1); break;
    case Qt::Key_Home: set_step(0); break;
    case Qt::Key_End: set_step(-1); break;
    case Qt::Key_Space: set_playing(!playing()); break;
    default: QWidget::keyPressEvent(event); return;
  }
  event->accept();
}

}  // namespace attn::ui
