#include "views/qk_scatter_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "record/raw_export.h"
#include "state/theme.h"
#include "state/view_state.h"
#include "util/error.h"
#include "views/plot_style.h"

namespace attn::ui {

namespace {

constexpr int kLabelledKeys = 5;  // the heaviest keys of the selected query get their token written
const QString kLinksLayer = QStringLiteral("links");

QString percent(double share) { return QString::number(100.0 * share, 'f', 1) + QStringLiteral(" %"); }

}  // namespace

std::string qk_scatter_missing(const ViewState& state) {
  if (!state.recording()) return "nothing recorded yet";
  if (const std::string why = qk_missing(*state.recording()); !why.empty()) return why;
  if (state.head() < 0) return "the query/key space is one head's: choose a head (--head N), not the layer's mean or max";
  return {};
}

QkScatterView::QkScatterView(ViewState* state, QWidget* parent) : QWidget(parent), state_(state), plot_(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 0);
  auto* bar = new QHBoxLayout;
  rerun_ = new QPushButton(tr("Run again with Q/K/V"), this);
  rerun_->setToolTip(tr("Runs the current input again, recording each head's query, key and value vectors"));
  bar->addWidget(rerun_);
  bar->addStretch(1);
  auto* hint = new QLabel(tr("Hover a point for its token; click a query to see the keys it attends to."), this);
  hint->setEnabled(false);
  bar->addWidget(hint);
  layout->addLayout(bar);
  layout->addWidget(plot_, 1);

  const QFont base = font();
  title_ = new QCPTextElement(plot_, QString(), QFont(base.family(), base.pointSize() + 2, QFont::Bold));
  caption_ = new QCPTextElement(plot_, QString(), QFont(base.family(), base.pointSize() - 1));
  plot_->plotLayout()->insertRow(0);
  plot_->plotLayout()->addElement(0, 0, title_);
  plot_->legend->setVisible(true);  // in the axis rect's top right corner
  plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  plot_->plotLayout()->addElement(2, 0, caption_);
  plot_->plotLayout()->setRowStretchFactor(2, 0.001);
  plot_->addLayer(kLinksLayer, plot_->layer(QStringLiteral("main")), QCustomPlot::limBelow);
  queries_ = plot_->addGraph();
  keys_ = plot_->addGraph();
  marker_ = plot_->addGraph();
  marker_->removeFromLegend();
  for (QCPGraph* g : {queries_, keys_, marker_}) g->setLineStyle(QCPGraph::lsNone);
  message_ = new QCPItemText(plot_);
  message_->position->setType(QCPItemPosition::ptAxisRectRatio);
  message_->position->setCoords(0.5, 0.5);
  message_->setClipToAxisRect(false);
  message_->setTextAlignment(Qt::AlignCenter);
  plot_->setMouseTracking(true);

  connect(rerun_, &QPushButton::clicked, this, &QkScatterView::qkv_requested);
  connect(state_, &ViewState::recording_changed, this, &QkScatterView::rebuild);
  connect(state_, &ViewState::selection_changed, this, &QkScatterView::rebuild);
  connect(state_, &ViewState::theme_changed, this, &QkScatterView::rebuild);
  connect(state_, &ViewState::query_changed, this, &QkScatterView::update_links);
  connect(plot_, &QCustomPlot::afterLayout, this, &QkScatterView::fit_ranges);
  connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
    if (event->button() != Qt::LeftButton || !projection_) return;
    int token;
    bool key;
    if (!nearest_point(event->position(), &token, &key)) state_->set_query(-1);
    else if (!key) state_->set_query(token);
  });
  connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
    int token;
    bool key;
    if (!nearest_point(event->position(), &token, &key)) {
      QToolTip::hideText();
      return;
    }
    const QString text = (key ? tr("key %1: %2") : tr("query %1: %2")).arg(token).arg(token_text(token));
    QToolTip::showText(event->globalPosition().toPoint(), text, plot_);
    Q_EMIT hovered(text);
  });
  rebuild();
}

QString QkScatterView::token_text(int token) const {
  const auto& tokens = state_->recording()->meta().tokens;
  return token >= 0 && token < int(tokens.size()) ? QStringLiteral("“%1”").arg(qstr(tokens[size_t(token)])) : QString();
}

QString QkScatterView::render_title() const {
  return state_->recording() ? tr("Query/key space · %1").arg(state_->selection_title()) : tr("Query/key space");
}

QString QkScatterView::caption() const {
  if (!projection_) return {};
  const QkProjection& p = *projection_;
  const bool rotary = !state_->recording()->meta().rotary.empty();
  return tr("Keys translated so that their mean is the queries' mean, queries × %1 and keys ÷ %1 for equal spreads (after AttentionViz):\n"
            "neither changes any attention weight. PCA of the %2%3 vectors; the two axes hold %4 of their variance.\n"
            "Click a query: lines to the keys it gives ≥ %5 (width and opacity by weight).")
      .arg(p.scale, 0, 'g', 3)
      .arg(2 * p.queries.rows())
      .arg(rotary ? tr(" rotated (RoPE)") : QString())
      .arg(percent(p.explained[0] + p.explained[1]))
      .arg(kMinLinkWeight);
}

// Shows `why` (wrapped) in place of the points, the axes and legend hidden; "" shows them.
void QkScatterView::show_message(const QString& why) {
  QString wrapped;
  int line = 0;
  for (const QString& word : why.split(QLatin1Char(' '))) {
    if (line > 0 && line + word.size() > 90) wrapped += QLatin1Char('\n'), line = 0;
    else if (line > 0) wrapped += QLatin1Char(' '), ++line;
    wrapped += word;
    line += int(word.size());
  }
  message_->setText(wrapped);
  message_->setVisible(!why.isEmpty());
  for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
    axis->setVisible(why.isEmpty());
    axis->grid()->setVisible(why.isEmpty());
  }
  plot_->legend->setVisible(why.isEmpty());
}

void QkScatterView::rebuild() {
  const Theme& t = theme(state_->dark());
  projection_.reset();
  const std::string why = qk_scatter_missing(*state_);
  const auto& rec = state_->recording();
  rerun_->setVisible(rec && !rec->has_qkv());
  if (why.empty()) {
    try {
      projection_ = project_qk(*rec, state_->layer(), state_->head());
    } catch (const Error& e) {
      show_message(qstr(e.what()));
    }
  }
  for (QCPGraph* g : {queries_, keys_, marker_}) g->data()->clear();
  if (projection_) {
    show_message({});
    for (int i = 0; i < int(projection_->queries.rows()); ++i) {
      queries_->addData(projection_->queries(i, 0), projection_->queries(i, 1));
      keys_->addData(projection_->keys(i, 0), projection_->keys(i, 1));
    }
    plot_->xAxis->setLabel(tr("first principal axis (%1 of the variance)").arg(percent(projection_->explained[0])));
    plot_->yAxis->setLabel(tr("second principal axis (%1)").arg(percent(projection_->explained[1])));
  } else {
    if (!why.empty()) show_message(qstr(why));
    plot_->xAxis->setLabel({});
    plot_->yAxis->setLabel({});
  }
  const int n = projection_ ? int(projection_->queries.rows()) : 0;
  queries_->setName(tr("queries (%1)").arg(n));
  keys_->setName(tr("keys (%1)").arg(n));
  queries_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, t.query, t.query, 8));
  QColor key_fill = t.key;
  key_fill.setAlpha(200);
  keys_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, QPen(t.key, 1.5), key_fill, 7));
  marker_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(t.foreground, 2), Qt::NoBrush, 16));
  title_->setText(render_title());
  caption_->setText(caption());
  style_plot(plot_, t);
  QColor legend_fill = t.background;
  legend_fill.setAlpha(220);
  plot_->legend->setBrush(legend_fill);
  plot_->legend->setBorderPen(QPen(t.grid));
  message_->setColor(t.muted);
  update_links();
}

void QkScatterView::update_links() {
  for (int i = plot_->itemCount() - 1; i >= 0; --i)
    if (plot_->item(i) != message_) plot_->removeItem(i);
  marker_->data()->clear();
  links_ = 0;
  const int q = state_->query();
  if (projection_ && q >= 0 && q < projection_->queries.rows()) {
    const Theme& t = theme(state_->dark());
    const QPointF from(projection_->queries(q, 0), projection_->queries(q, 1));
    marker_->addData(from.x(), from.y());
    const auto keys = attended_keys(*state_->recording(), state_->layer(), state_->head(), q, kMinLinkWeight);
    const QFont small(font().family(), font().pointSize() - 1);
    auto label = [&](const QPointF& at, const QString& text, const QColor& colour, int pad) {
      auto* item = new QCPItemText(plot_);
      item->position->setCoords(at);
      item->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
      item->setPadding(QMargins(pad, 0, 0, pad / 2));
      item->setFont(small);
      item->setColor(colour);
      item->setText(text);
    };
    for (size_t i = 0; i < keys.size(); ++i) {
      const QPointF to(projection_->keys(keys[i].key, 0), projection_->keys(keys[i].key, 1));
      auto* line = new QCPItemLine(plot_);
      line->setLayer(kLinksLayer);
      line->start->setCoords(from);
      line->end->setCoords(to);
      QColor c = t.foreground;
      c.setAlphaF(0.15 + 0.85 * keys[i].weight);
      line->setPen(QPen(c, 0.5 + 5.0 * keys[i].weight, Qt::SolidLine, Qt::RoundCap));
      if (int(i) < kLabelledKeys) label(to, QStringLiteral("%1 %2").arg(token_text(keys[i].key)).arg(keys[i].weight, 0, 'f', 2), t.key.darker(t.dark ? 100 : 130), 6);
      ++links_;
    }
    label(from, token_text(q), t.query.darker(t.dark ? 100 : 130), 10);  // clear of the ring
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void QkScatterView::fit_ranges() {
  if (!projection_) {
    plot_->xAxis->setRange(-1, 1);
    plot_->yAxis->setRange(-1, 1);
    return;
  }
  const auto& p = *projection_;
  const double x0 = std::min(p.queries.col(0).minCoeff(), p.keys.col(0).minCoeff()), x1 = std::max(p.queries.col(0).maxCoeff(), p.keys.col(0).maxCoeff());
  const double y0 = std::min(p.queries.col(1).minCoeff(), p.keys.col(1).minCoeff()), y1 = std::max(p.queries.col(1).maxCoeff(), p.keys.col(1).maxCoeff());
  const QRect r = plot_->axisRect()->rect();
  if (r.width() <= 0 || r.height() <= 0) return;
  // One data unit is as many pixels across as up; 8 % room around the points.
  const double per_pixel = std::max({(x1 - x0) / r.width(), (y1 - y0) / r.height(), 1e-9}) * 1.16;
  plot_->xAxis->setRange((x0 + x1) / 2 - per_pixel * r.width() / 2, (x0 + x1) / 2 + per_pixel * r.width() / 2);
  plot_->yAxis->setRange((y0 + y1) / 2 - per_pixel * r.height() / 2, (y0 + y1) / 2 + per_pixel * r.height() / 2);
}

bool QkScatterView::nearest_point(const QPointF& pixel, int* token, bool* key) const {
  if (!projection_) return false;
  double best = 8.0 * 8.0;  // within 8 px
  bool found = false;
  for (bool k : {false, true}) {
    const RowMatrix& m = k ? projection_->keys : projection_->queries;
    for (int i = 0; i < int(m.rows()); ++i) {
      const QPointF p(plot_->xAxis->coordToPixel(m(i, 0)), plot_->yAxis->coordToPixel(m(i, 1)));
      const double d = QPointF::dotProduct(p - pixel, p - pixel);
      if (d < best) best = d, *token = i, *key = k, found = true;
    }
  }
  return found;
}

QPoint QkScatterView::point_pixel(int token, bool key) const {
  if (!projection_) return {};
  const RowMatrix& m = key ? projection_->keys : projection_->queries;
  return QPoint(int(std::lround(plot_->xAxis->coordToPixel(m(token, 0)))), int(std::lround(plot_->yAxis->coordToPixel(m(token, 1)))));
}

void QkScatterView::render(QCPPainter& painter, const QSize& size) {
  const QRect old = plot_->viewport();
  plot_->setViewport(QRect(QPoint(0, 0), size));
  for (auto phase : {QCPLayoutElement::upPreparation, QCPLayoutElement::upMargins, QCPLayoutElement::upLayout}) plot_->plotLayout()->update(phase);
  fit_ranges();
  plot_->toPainter(&painter, size.width(), size.height());
  plot_->setViewport(old);
  for (auto phase : {QCPLayoutElement::upPreparation, QCPLayoutElement::upMargins, QCPLayoutElement::upLayout}) plot_->plotLayout()->update(phase);
  fit_ranges();
}

QStringList write_qk_points(const ViewState& state, const QString& out, bool csv) {
  if (const std::string why = qk_scatter_missing(state); !why.empty()) throw Error(out.toStdString() + ": " + why);
  const QkProjection p = project_qk(*state.recording(), state.layer(), state.head());
  const auto& tokens = state.recording()->meta().tokens;
  const int n = int(p.queries.rows());
  if (csv) {
    std::vector<std::vector<std::string>> rows;
    for (bool key : {false, true})
      for (int i = 0; i < n; ++i) {
        const RowMatrix& m = key ? p.keys : p.queries;
        rows.push_back({key ? "key" : "query", std::to_string(i), i < int(tokens.size()) ? tokens[size_t(i)] : std::string(),
                        QString::number(m(i, 0), 'g', 9).toStdString(), QString::number(m(i, 1), 'g', 9).toStdString()});
      }
    write_csv(fspath(out), {"role", "token_index", "token", "x", "y"}, rows);
  } else {
    RowMatrix both(2 * n, 2);
    both << p.queries, p.keys;
    write_npy(fspath(out), both.data(), {2, n, 2});
  }
  return {out};
}

}  // namespace attn::ui
