#include "views/sweep_view.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "session/ablate.h"
#include "qt_convert.h"
#include "state/theme.h"
#include "state/view_state.h"
#include "views/plot_style.h"

namespace attn::ui {

QColor diverging_color(double t) {
  // ColorBrewer RdBu (11 classes) end points and centre, interpolated linearly.
  static const QColor red(178, 24, 43), mid_red(244, 165, 130), white(247, 247, 247), mid_blue(146, 197, 222), blue(33, 102, 172);
  t = std::clamp(t, -1.0, 1.0);
  auto mix = [](const QColor& a, const QColor& b, double f) {
    return QColor::fromRgbF(float(a.redF() + (b.redF() - a.redF()) * f), float(a.greenF() + (b.greenF() - a.greenF()) * f),
                            float(a.blueF() + (b.blueF() - a.blueF()) * f));
  };
  const double a = std::abs(t);
  const QColor& far = t < 0 ? red : blue;
  const QColor& near = t < 0 ? mid_red : mid_blue;
  return a < 0.5 ? mix(white, near, a * 2) : mix(near, far, (a - 0.5) * 2);
}

namespace {

// The largest |effect|, the scale's end (at least a tiny number, so that all-zero sweeps draw).
double scale_of(const SweepResult& s) { return std::max(1e-9, double(s.effect.cwiseAbs().maxCoeff())); }

QString signed_number(double v) {
  QString t = QString::number(v, 'f', std::abs(v) >= 10 ? 1 : 2);
  if (v >= 0) t.prepend(QLatin1Char('+'));
  return t.replace(QLatin1Char('-'), QChar(0x2212));
}

}  // namespace

SweepView::SweepView(ViewState* state, QWidget* parent) : QWidget(parent), state_(state) {
  setMouseTracking(true);
  setMinimumSize(320, 240);
  connect(state_, &ViewState::sweep_changed, this, qOverload<>(&QWidget::update));
  connect(state_, &ViewState::theme_changed, this, qOverload<>(&QWidget::update));
}

QString SweepView::render_title() const {
  const auto& s = state_->sweep();
  if (!s) return tr("Ablation sweep");
  const QString what = s->mode == Ablation::Zero ? tr("each %1 switched off") : s->mode == Ablation::Mean ? tr("each %1 mean-ablated") : tr("each %1 patched from the clean input");
  return tr("%1 · %2 · change of %3").arg(qstr(s->model), what.arg(s->unit == SweepUnit::Heads ? tr("head") : tr("layer")), qstr(s->target.describe()));
}

QSize SweepView::render_size() const {
  const auto& s = state_->sweep();
  const int cols = s ? int(s->effect.cols()) : 4, rows = s ? int(s->effect.rows()) : 4;
  return {std::clamp(160 + cols * 72, 640, 1800), std::clamp(190 + rows * 46, 420, 1600)};
}

SweepView::Grid SweepView::grid_for(const QSize& size) const {
  Grid g;
  const auto& s = state_->sweep();
  if (!s) return g;
  const QFontMetricsF fm(font());
  g.rows = int(s->effect.rows());
  g.cols = int(s->effect.cols());
  g.title_h = 3.2 * fm.height();
  g.label_h = 1.6 * fm.height();
  g.label_w = fm.horizontalAdvance(QStringLiteral("layer 00")) + 12;
  g.legend_h = 3.2 * fm.height();
  const double w = size.width() - g.label_w - 16, h = size.height() - g.title_h - g.label_h - g.legend_h - 8;
  g.cell_w = std::max(4.0, std::min(w / std::max(1, g.cols), 3.0 * h / std::max(1, g.rows)));
  g.cell_h = std::max(4.0, std::min(h / std::max(1, g.rows), g.cell_w));
  g.origin = QPointF(g.label_w + (w - g.cell_w * g.cols) / 2, g.title_h + g.label_h);
  return g;
}

QRect SweepView::cell_rect(int layer, int head) const { return grid_for(size()).cell(layer, head).toAlignedRect(); }

QString SweepView::cell_text(int layer, int head) const {
  const auto& s = state_->sweep();
  return s && layer < s->effect.rows() && head < s->effect.cols() ? signed_number(s->effect(layer, head)) : QString();
}

bool SweepView::hit(const QPointF& pos, int* layer, int* head) const {
  const Grid g = grid_for(size());
  if (g.rows == 0 || g.cell_w <= 0) return false;
  const int c = int(std::floor((pos.x() - g.origin.x()) / g.cell_w)), r = int(std::floor((pos.y() - g.origin.y()) / g.cell_h));
  if (r < 0 || r >= g.rows || c < 0 || c >= g.cols) return false;
  *layer = r;
  *head = c;
  return true;
}

void SweepView::paint(QPainter& p, const QSize& size, bool interactive) const {
  const Theme& t = theme(state_->dark());
  const auto& s = state_->sweep();
  if (!s) {
    paint_placeholder(p, QRect(QPoint(0, 0), size), t,
                      tr("No sweep yet. Choose a target in the Interventions panel and press Sweep: every head is switched off "
                         "(or mean-ablated, or patched) alone, and this map shows how far the prediction moves."));
    return;
  }
  p.fillRect(QRect(QPoint(0, 0), size), t.background);
  p.setRenderHint(QPainter::Antialiasing, true);
  const Grid g = grid_for(size);
  const double scale = scale_of(*s);
  QFont bold = font();
  bold.setBold(true);
  bold.setPointSizeF(bold.pointSizeF() + 2);
  p.setFont(bold);
  p.setPen(t.foreground);
  const double line = g.title_h / 2;
  // A long title (a long model name, a generation's step) shrinks to fit, then elides.
  const QString title = render_title();
  const double room = size.width() - 16;
  while (bold.pointSizeF() > font().pointSizeF() - 1 && QFontMetricsF(bold).horizontalAdvance(title) > room)
    bold.setPointSizeF(bold.pointSizeF() - 0.5);
  p.setFont(bold);
  p.drawText(QRectF(0, 0, size.width(), line), Qt::AlignHCenter | Qt::AlignBottom, QFontMetricsF(bold).elidedText(title, Qt::ElideRight, room));
  p.setFont(font());
  p.setPen(t.muted);
  QString sub = tr("%1 = %2 unchanged").arg(qstr(s->target.describe())).arg(s->baseline, 0, 'f', 3);
  if (s->clean) sub += tr(" · %1 on the clean input").arg(*s->clean, 0, 'f', 3);
  sub += QStringLiteral(" · \"%1\"").arg(QFontMetricsF(font()).elidedText(qstr(s->text), Qt::ElideRight, size.width() * 0.4));
  p.drawText(QRectF(0, line, size.width(), line), Qt::AlignHCenter | Qt::AlignVCenter, sub);

  const bool heads = s->unit == SweepUnit::Heads;
  for (int c = 0; c < g.cols; ++c)
    p.drawText(QRectF(g.cell(0, c).x(), g.title_h, g.cell_w, g.label_h), Qt::AlignCenter, heads ? tr("head %1").arg(c) : tr("whole layer"));
  QFont small = font();
  small.setPointSizeF(std::clamp(g.cell_h / 3.2, 6.0, font().pointSizeF()));
  for (int r = 0; r < g.rows; ++r) {
    const QRectF row = g.cell(r, 0);
    p.setPen(t.muted);
    p.setFont(font());
    p.drawText(QRectF(0, row.y(), g.origin.x() - 8, row.height()), Qt::AlignRight | Qt::AlignVCenter, tr("layer %1").arg(r));
    p.setFont(small);
    for (int c = 0; c < g.cols; ++c) {
      const QRectF cell = g.cell(r, c);
      const double v = s->effect(r, c) / scale;
      p.fillRect(cell, diverging_color(v));
      if (QFontMetricsF(small).horizontalAdvance(QStringLiteral("−0.00")) < cell.width() - 4 && cell.height() > QFontMetricsF(small).height()) {
        p.setPen(std::abs(v) > 0.6 ? QColor(Qt::white) : QColor(30, 30, 30));
        p.drawText(cell, Qt::AlignCenter, cell_text(r, c));
      }
    }
  }
  p.setFont(font());
  if (interactive && hover_layer_ >= 0) {
    p.setPen(QPen(t.hover, 2.0));
    p.drawRect(g.cell(hover_layer_, hover_head_).adjusted(-1, -1, 1, 1));
  }
  // Legend: −max … 0 … +max.
  const double bar_w = std::min(320.0, size.width() * 0.5);
  const QRectF bar((size.width() - bar_w) / 2, size.height() - g.legend_h + 6, bar_w, g.legend_h * 0.25);
  for (int i = 0; i < int(bar.width()); ++i)
    p.fillRect(QRectF(bar.x() + i, bar.y(), 1.5, bar.height()), diverging_color(2.0 * i / bar.width() - 1.0));
  p.setPen(t.muted);
  const QRectF under(bar.x() - 60, bar.bottom() + 2, bar.width() + 120, g.legend_h * 0.35);
  p.drawText(under, Qt::AlignLeft | Qt::AlignTop, signed_number(-scale) + tr(" (fell)"));
  p.drawText(under, Qt::AlignHCenter | Qt::AlignTop, QStringLiteral("0"));
  p.drawText(under, Qt::AlignRight | Qt::AlignTop, signed_number(scale) + tr(" (rose)"));
}

void SweepView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  paint(p, size(), true);
}

void SweepView::render(QCPPainter& painter, const QSize& size) { paint(painter, size, false); }

void SweepView::mouseMoveEvent(QMouseEvent* event) {
  int l = -1, h = -1;
  if (!hit(event->position(), &l, &h)) l = h = -1;
  if (l != hover_layer_ || h != hover_head_) {
    hover_layer_ = l;
    hover_head_ = h;
    update();
  }
  const auto& s = state_->sweep();
  if (l < 0 || !s) {
    QToolTip::hideText();
    return;
  }
  const bool heads = s->unit == SweepUnit::Heads;
  const double e = s->effect(l, h);
  QToolTip::showText(event->globalPosition().toPoint(),
                     tr("%1 %2: %3 changes by %4 (%5 → %6)\nclick to open %7")
                         .arg(heads ? tr("head") : tr("layer"), heads ? QStringLiteral("%1.%2").arg(l).arg(h) : QString::number(l),
                              qstr(s->target.describe()), signed_number(e))
                         .arg(s->baseline, 0, 'f', 3)
                         .arg(s->baseline + e, 0, 'f', 3)
                         .arg(heads ? tr("the head") : tr("the layer")),
                     this);
}

void SweepView::mousePressEvent(QMouseEvent* event) {
  int l, h;
  if (event->button() != Qt::LeftButton || !hit(event->position(), &l, &h) || !state_->recording()) return;
  const RecordingMeta& meta = state_->recording()->meta();
  for (int r = 0; r < meta.num_layers; ++r)  // the recording's layer for model layer l, if it was recorded
    if (meta.model_layer(r) == l) {
      state_->select(r, state_->sweep()->unit == SweepUnit::Heads ? h : kHeadMean);
      Q_EMIT head_activated(r, state_->head());
      return;
    }
}

void SweepView::leaveEvent(QEvent*) {
  hover_layer_ = hover_head_ = -1;
  update();
}

}  // namespace attn::ui
