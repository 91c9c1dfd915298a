#include "views/alignment_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QVBoxLayout>
#include <algorithm>
#include <qcustomplot.h>

#include "colormap/value_mapper.h"
#include "state/theme.h"
#include "state/view_state.h"
#include "views/plot_style.h"
#include "util/error.h"

namespace attn::ui {

namespace {

QString label(const std::string& token) { return token_label(token, 18); }

// Where paint() put things, for hovering: the matrix's cells, or the lines' token boxes.
struct Geometry {
  QRectF cells;
  double cell_w = 0, cell_h = 0;
  std::vector<QRectF> targets, sources;  // lines: each token's box
};

QColor text_on(QRgb background) { return qGray(background) > 140 ? QColor(Qt::black) : QColor(Qt::white); }

void paint_matrix(QPainter& p, const QRectF& area, const Alignment& a, const ValueMapper& mapper, const Theme& t, Geometry* g) {
  const QFontMetricsF fm(p.font());
  double left = 0, top = 0;
  for (const auto& s : a.target) left = std::max(left, fm.horizontalAdvance(label(s)));
  for (const auto& s : a.source) top = std::max(top, fm.horizontalAdvance(label(s)));
  left += 8, top = std::min(top + 8, area.height() * 0.35);
  const int rows = int(a.weights.rows()), cols = int(a.weights.cols());
  const double side = std::max(2.0, std::min((area.width() - left) / std::max(1, cols), (area.height() - top) / std::max(1, rows)));
  const QRectF cells(area.left() + left, area.top() + top, side * cols, side * rows);
  for (int r = 0; r < rows; ++r) {
    p.setPen(t.foreground);
    p.drawText(QRectF(area.left(), cells.top() + r * side, left - 6, side), Qt::AlignRight | Qt::AlignVCenter, label(a.target[size_t(r)]));
    for (int c = 0; c < cols; ++c) {
      const QRgb rgb = mapper.rgb(a.weights(r, c));
      const QRectF cell(cells.left() + c * side, cells.top() + r * side, side + 0.5, side + 0.5);
      p.fillRect(cell, QColor::fromRgb(rgb));
      if (side >= fm.horizontalAdvance(QStringLiteral("0.00")) + 4) {  // the number, when it fits
        p.setPen(text_on(rgb));
        p.drawText(cell, Qt::AlignCenter, QString::number(a.weights(r, c), 'f', 2));
      }
    }
  }
  p.setPen(t.foreground);  // source tokens above their columns, upwards
  for (int c = 0; c < cols; ++c) {
    p.save();
    p.translate(cells.left() + (c + 0.5) * side + fm.height() * 0.35, cells.top() - 4);
    p.rotate(-90);
    p.drawText(QPointF(0, 0), fm.elidedText(label(a.source[size_t(c)]), Qt::ElideRight, top - 8));
    p.restore();
  }
  if (g) *g = {cells, side, side, {}, {}};
}

void paint_lines(QPainter& p, const QRectF& area, const Alignment& a, int hovered, const ValueMapper& mapper, const Theme& t, Geometry* g) {
  const QFontMetricsF fm(p.font());
  const int S = int(a.source.size()), T = int(a.target.size());
  const double row = std::clamp(area.height() / std::max(1, std::max(S, T)), 6.0, fm.height() * 2.0);
  double width = 0;
  for (const auto& s : a.source) width = std::max(width, fm.horizontalAdvance(label(s)));
  for (const auto& s : a.target) width = std::max(width, fm.horizontalAdvance(label(s)));
  width = std::min(width + 10, area.width() * 0.3);
  const double xs = area.left() + area.width() * 0.15, xt = area.right() - area.width() * 0.15 - width;
  Geometry geometry;
  for (int i = 0; i < S; ++i) geometry.sources.push_back(QRectF(xs, area.top() + i * row, width, row));
  for (int i = 0; i < T; ++i) geometry.targets.push_back(QRectF(xt, area.top() + i * row, width, row));
  const double top = std::max(1e-9, double(a.weights.maxCoeff()));
  p.setRenderHint(QPainter::Antialiasing);
  for (int r = 0; r < T; ++r) {
    if (hovered >= 0 && r != hovered) continue;
    for (int c = 0; c < S; ++c) {
      const double w = a.weights(r, c) / top;
      if (w < 0.02) continue;
      QColor line = t.accent;
      line.setAlphaF(std::clamp(hovered >= 0 ? 0.15 + 0.85 * w : 0.7 * w, 0.0, 1.0));
      p.setPen(QPen(line, hovered >= 0 ? 1 + 3 * w : 1 + 1.5 * w));
      p.drawLine(QPointF(geometry.sources[size_t(c)].right() + 4, geometry.sources[size_t(c)].center().y()),
                 QPointF(geometry.targets[size_t(r)].left() - 4, geometry.targets[size_t(r)].center().y()));
    }
  }
  for (int c = 0; c < S; ++c) {
    const QRectF& box = geometry.sources[size_t(c)];
    if (hovered >= 0) {  // the hovered token's weights on the source
      const QRgb rgb = mapper.rgb(a.weights(hovered, c));
      p.fillRect(box, QColor::fromRgb(rgb));
      p.setPen(text_on(rgb));
      p.drawText(box.translated(-width - 6, 0), Qt::AlignRight | Qt::AlignVCenter, QString::number(a.weights(hovered, c), 'f', 3));
    }
    p.setPen(hovered >= 0 ? text_on(mapper.rgb(a.weights(hovered, c))) : t.foreground);
    p.drawText(box.adjusted(4, 0, -4, 0), Qt::AlignRight | Qt::AlignVCenter, fm.elidedText(label(a.source[size_t(c)]), Qt::ElideRight, width - 8));
  }
  for (int r = 0; r < T; ++r) {
    const QRectF& box = geometry.targets[size_t(r)];
    if (r == hovered) p.fillRect(box, t.hover);
    p.setPen(r == hovered ? t.accent : t.foreground);
    p.drawText(box.adjusted(4, 0, -4, 0), Qt::AlignLeft | Qt::AlignVCenter, fm.elidedText(label(a.target[size_t(r)]), Qt::ElideRight, width - 8));
  }
  p.setPen(t.muted);
  p.drawText(QRectF(xs, area.top() - fm.height() * 1.3, width, fm.height()), Qt::AlignRight, QObject::tr("source"));
  p.drawText(QRectF(xt, area.top() - fm.height() * 1.3, width, fm.height()), Qt::AlignLeft, QObject::tr("target"));
  if (g) *g = geometry;
}

void paint_alignment(QPainter& p, const QSizeF& size, const Alignment& a, AlignmentView::Style style, int hovered, const ViewState& state,
                     const QString& title, Geometry* g) {
  const Theme& t = theme(state.dark());
  p.fillRect(QRectF(QPointF(0, 0), size), t.background);
  const QFontMetricsF fm(p.font());
  const double m = fm.height();
  QFont bold = p.font();
  bold.setBold(true);
  p.setFont(bold);
  p.setPen(t.foreground);
  p.drawText(QRectF(m, m * 0.5, size.width() - 2 * m, QFontMetricsF(bold).height()), Qt::AlignLeft | Qt::AlignVCenter,
             QFontMetricsF(bold).elidedText(title, Qt::ElideRight, size.width() - 2 * m));
  p.setFont(QFont());
  p.setFont(p.font());
  double y = m * 0.5 + QFontMetricsF(bold).height() * 1.3;
  {
    const QString rows = QObject::tr("A target token's row is the cross-attention that chose it (its query is the token before).");
    p.setPen(t.muted);
    p.drawText(QRectF(m, y, size.width() - 2 * m, m), Qt::AlignLeft | Qt::AlignVCenter,
               a.words ? QObject::tr("Words: a source word's weight is the sum over its pieces; a target word's row, the mean over its pieces. %1").arg(rows)
                       : rows);
    y += m * 1.3;
  }
  const ValueMapper mapper(state.colors(), ValueRange{0.0, std::max(1e-9, double(a.weights.maxCoeff()))});
  const QRectF area(m, y + (style == AlignmentView::Style::Lines ? m * 1.4 : 0), size.width() - 2 * m, size.height() - y - m * 1.5);
  if (style == AlignmentView::Style::Matrix) paint_matrix(p, area, a, mapper, t, g);
  else paint_lines(p, area, a, hovered, mapper, t, g);
}

}  // namespace

class AlignmentView::Canvas : public QWidget {
 public:
  explicit Canvas(AlignmentView* view) : QWidget(view), view_(view) {
    setMouseTracking(true);
    setMinimumSize(300, 240);
  }
  Geometry geometry_;

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter p(this);
    if (!view_->content_)
      return paint_placeholder(p, rect(), theme(view_->state_->dark()),
                               tr("This recording is not a translation. Choose an encoder-decoder (BART, Marian, T5) and Generate to see "
                                  "which source words each target word looked at."));
    paint_alignment(p, size(), *view_->content_, view_->style(), view_->hovered_, *view_->state_, view_->render_title(), &geometry_);
  }
  void mouseMoveEvent(QMouseEvent* e) override {
    if (view_->style() == Style::Lines) {
      int target = -1;
      for (size_t i = 0; i < geometry_.targets.size(); ++i)
        if (geometry_.targets[i].contains(e->position())) target = int(i);
      if (target >= 0 && target != view_->hovered_) view_->set_hovered_target(target);
    }
    const QString text = view_->describe_at(e->position());
    setToolTip(text);
    Q_EMIT view_->hovered(text);
  }
  void leaveEvent(QEvent*) override { view_->set_hovered_target(-1); }

 private:
  AlignmentView* view_;
};

AlignmentView::AlignmentView(ViewState* state, QWidget* parent) : QWidget(parent), state_(state) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  auto* bar = new QHBoxLayout;
  style_ = new QComboBox(this);
  style_->addItems({tr("Matrix"), tr("Lines")});
  style_->setToolTip(tr("Target × source matrix, or lines from the source (left) to the target (right)"));
  all_layers_ = new QCheckBox(tr("Mean over all layers"), this);
  all_layers_->setToolTip(tr("Average the cross-attention of every layer (the head selector still picks a head, or the mean / max)"));
  words_ = new QCheckBox(tr("Words"), this);
  words_->setToolTip(tr("Merge sub-word pieces into words: a source word sums its pieces, a target word averages them"));
  bar->addWidget(new QLabel(tr("Show"), this));
  bar->addWidget(style_);
  bar->addWidget(all_layers_);
  bar->addWidget(words_);
  bar->addStretch(1);
  layout->addLayout(bar);
  canvas_ = new Canvas(this);
  layout->addWidget(canvas_, 1);
  connect(style_, &QComboBox::currentIndexChanged, this, [this] {
    hovered_ = -1;
    canvas_->update();
  });
  connect(all_layers_, &QCheckBox::toggled, this, &AlignmentView::update_content);
  connect(words_, &QCheckBox::toggled, this, &AlignmentView::update_content);
  connect(state_, &ViewState::recording_changed, this, &AlignmentView::update_content);
  connect(state_, &ViewState::selection_changed, this, &AlignmentView::update_content);
  connect(state_, &ViewState::colors_changed, canvas_, qOverload<>(&QWidget::update));
  connect(state_, &ViewState::theme_changed, canvas_, qOverload<>(&QWidget::update));
  update_content();
}

AlignmentView::Style AlignmentView::style() const { return style_->currentIndex() == 1 ? Style::Lines : Style::Matrix; }
void AlignmentView::set_style(Style style) { style_->setCurrentIndex(style == Style::Lines ? 1 : 0); }
bool AlignmentView::all_layers() const { return all_layers_->isChecked(); }
void AlignmentView::set_all_layers(bool on) { all_layers_->setChecked(on); }
bool AlignmentView::words() const { return words_->isChecked(); }
void AlignmentView::set_words(bool on) { words_->setChecked(on); }

void AlignmentView::set_hovered_target(int target) {
  hovered_ = content_ && target < int(content_->target.size()) ? target : -1;
  canvas_->update();
}

void AlignmentView::update_content() {
  const auto& rec = state_->recording();
  content_.reset();
  if (rec && rec->meta().encoder_decoder()) {
    try {
      content_ = alignment(*rec, all_layers() ? kAllLayers : state_->layer(), state_->head(), words());
    } catch (const Error&) {  // a selection out of range while the recording changes
    }
  }
  if (content_ && hovered_ >= int(content_->target.size())) hovered_ = -1;
  canvas_->update();
}

QString AlignmentView::describe_at(const QPointF& pos) const {
  if (!content_) return {};
  const Geometry& g = canvas_->geometry_;
  const Alignment& a = *content_;
  if (style() == Style::Matrix) {
    if (!g.cells.contains(pos) || g.cell_w <= 0) return {};
    const int r = int((pos.y() - g.cells.top()) / g.cell_h), c = int((pos.x() - g.cells.left()) / g.cell_w);
    if (r < 0 || c < 0 || r >= a.weights.rows() || c >= a.weights.cols()) return {};
    return tr("target %1 “%2” → source %3 “%4”: %5")
        .arg(r).arg(label(a.target[size_t(r)])).arg(c).arg(label(a.source[size_t(c)])).arg(a.weights(r, c), 0, 'f', 4);
  }
  for (size_t r = 0; r < g.targets.size(); ++r) {
    if (!g.targets[r].contains(pos)) continue;
    Eigen::Index best = 0;
    a.weights.row(Eigen::Index(r)).maxCoeff(&best);
    return tr("target %1 “%2” looked most at source “%3” (%4)")
        .arg(r).arg(label(a.target[r])).arg(label(a.source[size_t(best)])).arg(a.weights(Eigen::Index(r), best), 0, 'f', 3);
  }
  return {};
}

QString AlignmentView::render_title() const {
  const auto& rec = state_->recording();
  if (!rec || !content_) return tr("Alignment");
  const int head = state_->head();
  const QString heads = head == kHeadMean ? tr("mean of heads") : head == kHeadMax ? tr("max of heads") : tr("head %1").arg(head);
  const QString layers = all_layers() ? tr("mean of all layers") : tr("layer %1").arg(rec->meta().model_layer(state_->layer()));
  return tr("%1 · cross-attention · %2 · %3%4").arg(qstr(rec->meta().model), layers, heads, words() ? tr(" · words") : QString());
}

QSize AlignmentView::render_size() const {
  if (!content_) return {900, 700};
  const int rows = int(std::max(content_->target.size(), content_->source.size()));
  return {1000, std::clamp(180 + rows * 26, 400, 3000)};
}

void AlignmentView::render(QCPPainter& painter, const QSize& size) {
  if (!content_) {
    painter.fillRect(QRect(QPoint(0, 0), size), theme(state_->dark()).background);
    return;
  }
  paint_alignment(painter, size, *content_, style(), hovered_, *state_, render_title(), nullptr);
}

}  // namespace attn::ui
