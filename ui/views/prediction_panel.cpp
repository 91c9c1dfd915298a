#include "views/prediction_panel.h"

#include <QPainter>
#include <qcustomplot.h>

#include "session/ablate.h"
#include "session/generate.h"
#include "state/theme.h"
#include "state/view_state.h"

namespace attn::ui {

namespace {

QString percent(double p) { return p >= 0.001 ? QStringLiteral("%1 %").arg(p * 100, 0, 'f', 1) : QStringLiteral("< 0.1 %"); }

QString shown_label(const Predictions& p, const Prediction& e) {
  if (p.task == "next-token" || p.task == "fill-mask") return QStringLiteral("“%1”").arg(token_label(e.label, 24));
  return qstr(e.label);
}

}  // namespace

PredictionPanel::PredictionPanel(ViewState* state, QWidget* parent) : QWidget(parent), state_(state) {
  setMinimumHeight(80);
  connect(state_, &ViewState::recording_changed, this, &PredictionPanel::refresh);
  connect(state_, &ViewState::theme_changed, this, qOverload<>(&QWidget::update));
  refresh();
}

void PredictionPanel::refresh() {
  const auto& rec = state_->recording();
  predictions_ = rec ? read_predictions(rec->meta()) : std::nullopt;
  before_.reset();
  if (rec)
    if (const auto it = rec->meta().extra.find(kPredictionsBeforeKey); it != rec->meta().extra.end()) before_ = Predictions::from_json(it->second);
  setToolTip(predictions_ ? prediction_caption(*predictions_, rec->meta()) : QString());
  setMinimumHeight(sizeHint().height());  // every row visible in the side bar
  updateGeometry();
  update();
}

std::optional<double> PredictionPanel::before_prob(int id) const {
  if (before_)
    for (const Prediction& e : before_->top)
      if (e.id == id) return e.prob;
  return std::nullopt;
}

QString PredictionPanel::prob_text(const Prediction& e) const {
  if (!before_) return percent(e.prob);
  const auto b = before_prob(e.id);
  return (b ? percent(*b) : QStringLiteral("?")) + QStringLiteral(" → ") + percent(e.prob);
}

QStringList PredictionPanel::row_texts() const {
  QStringList out;
  if (predictions_)
    for (const Prediction& e : predictions_->top) out << shown_label(*predictions_, e) + QStringLiteral("  ") + prob_text(e);
  return out;
}

QString PredictionPanel::empty_text() const {
  const auto& rec = state_->recording();
  if (predictions_) return {};
  if (!rec) return tr("Run a model to see what it predicts.");
  if (read_generation(*rec))
    return tr("No next token: the generation ended at a stop token. The Timeline shows what was predicted at each step.");
  return tr("No prediction: the model has no prediction head, or the text has no mask token.");
}

QString PredictionPanel::caption() const {
  const auto& meta = state_->recording()->meta();
  QString c = prediction_caption(*predictions_, meta);
  if (before_) {
    const auto heads = meta.extra.find("ablated_heads");
    c += tr(" · heads %1 %2: before → after").arg(heads == meta.extra.end() ? QString() : qstr(heads->second).replace(QLatin1Char(','), QStringLiteral(", ")),
                                                    state_->ablation_word());
  }
  return c;
}

QString PredictionPanel::render_title() const {
  const auto& rec = state_->recording();
  if (!rec || !predictions_) return tr("Prediction");
  return QStringLiteral("%1 · %2").arg(qstr(rec->meta().model), caption());
}

QSize PredictionPanel::sizeHint() const {
  const double fh = QFontMetricsF(font()).height();
  const int rows = predictions_ ? int(predictions_->top.size()) : 1;
  return QSize(260, int(fh * (2.2 + rows * (before_ ? 2.0 : 1.6))) + 8);
}

void PredictionPanel::paint(QPainter& p, const QSize& size, bool figure) const {
  const Theme& t = theme(state_->dark());
  if (figure) p.fillRect(QRect(QPoint(0, 0), size), t.background);
  const QFontMetricsF fm(p.font());
  const double fh = fm.height(), margin = figure ? fh : 4;
  double y = margin;
  QFont bold = p.font();
  bold.setBold(true);
  if (figure) bold.setPointSizeF(bold.pointSizeF() + 2);
  p.setPen(t.foreground);
  if (!predictions_) {
    p.setPen(t.muted);
    p.drawText(QRectF(margin, y, size.width() - 2 * margin, size.height() - 2 * y), Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap,
               empty_text());
    return;
  }
  p.save();
  p.setFont(bold);
  const QString title = figure ? render_title() : caption();
  const QRectF title_box(margin, y, size.width() - 2 * margin, QFontMetricsF(bold).height() * (figure ? 1 : 2));
  p.drawText(title_box, Qt::AlignLeft | Qt::AlignVCenter | Qt::TextWordWrap, figure ? QFontMetricsF(bold).elidedText(title, Qt::ElideRight, title_box.width()) : title);
  y += QFontMetricsF(bold).height() * (figure ? 1.4 : 2.3);
  p.restore();
  const QFont base_font = p.font();
  QFont first_font = base_font;
  first_font.setBold(true);
  const double percent_w = fm.horizontalAdvance(before_ ? QStringLiteral("100.0 % → 100.0 %") : QStringLiteral("100.0 %")) + 6;
  double label_w = 0;  // the first row is bold: measure it so
  for (const Prediction& e : predictions_->top) label_w = std::max(label_w, QFontMetricsF(first_font).horizontalAdvance(shown_label(*predictions_, e)));
  label_w = std::min(label_w + 8, (size.width() - 2 * margin) * 0.45);
  // In a figure the rows share the height; in the side bar they are as tall as they need.
  const double rows = std::max<qsizetype>(predictions_->top.size(), 3);
  const double row_h = figure ? std::clamp((size.height() - y - margin) / rows, fh * 1.4, fh * 3.0) : fh * (before_ ? 2.0 : 1.6), bar_x = margin + label_w, bar_w = std::max(10.0, size.width() - 2 * margin - label_w - percent_w);
  for (int i = 0; i < predictions_->top.size(); ++i) {
    const Prediction& e = predictions_->top[i];
    const QRectF row(margin, y, size.width() - 2 * margin, row_h);
    p.setPen(t.foreground);
    p.setFont(i == 0 ? first_font : base_font);
    p.drawText(QRectF(row.left(), row.top(), label_w - 6, row_h), Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetricsF(p.font()).elidedText(shown_label(*predictions_, e), Qt::ElideRight, label_w - 6));
    const QRectF track(bar_x, row.top() + row_h * 0.22, bar_w, row_h * 0.56);
    p.fillRect(track, t.grid);
    if (before_) {  // before: a thin bar along the top; after: the bar below it
      const QRectF upper(track.left(), track.top(), track.width(), track.height() * 0.35);
      p.fillRect(QRectF(upper.topLeft(), QSizeF(upper.width() * std::clamp(before_prob(e.id).value_or(0.0), 0.0, 1.0), upper.height())), t.muted);
      const QRectF lower(track.left(), upper.bottom() + 1, track.width(), track.bottom() - upper.bottom() - 1);
      p.fillRect(QRectF(lower.topLeft(), QSizeF(lower.width() * std::clamp(e.prob, 0.0, 1.0), lower.height())), i == 0 ? t.accent : t.ablated);
    } else {
      p.fillRect(QRectF(track.topLeft(), QSizeF(track.width() * std::clamp(e.prob, 0.0, 1.0), track.height())), i == 0 ? t.accent : t.muted);
    }
    p.drawText(QRectF(bar_x + bar_w + 6, row.top(), percent_w, row_h), Qt::AlignLeft | Qt::AlignVCenter, prob_text(e));
    y += row_h;
  }
}

void PredictionPanel::paintEvent(QPaintEvent*) {
  QPainter p(this);
  paint(p, size(), false);
}

void PredictionPanel::render(QCPPainter& painter, const QSize& size) {
  painter.save();
  painter.setFont(font());
  paint(painter, size, true);
  painter.restore();
}

}  // namespace attn::ui
