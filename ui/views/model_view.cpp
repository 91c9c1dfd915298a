#include "views/model_view.h"

#include <QContextMenuEvent>
#include <QMenu>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <algorithm>
#include <qcustomplot.h>

#include "colormap/value_mapper.h"
#include "state/theme.h"
#include "state/view_state.h"

namespace attn::ui {

namespace {

// A recording with sliding windows names each layer's span (window_name is "" when none slides).
bool has_windows(const RecordingMeta& meta) { return !window_name(meta, 0).isEmpty(); }

}  // namespace

ModelView::ModelView(ViewState* state, QWidget* parent) : QWidget(parent), state_(state) {
  setMouseTracking(true);
  setFocusPolicy(Qt::ClickFocus);
  setMinimumSize(200, 160);
  connect(state_, &ViewState::recording_changed, this, &ModelView::rebuild_images);
  connect(state_, &ViewState::analysis_changed, this, &ModelView::rebuild_images);
  connect(state_, &ViewState::colors_changed, this, &ModelView::rebuild_images);
  connect(state_, &ViewState::selection_changed, this, qOverload<>(&ModelView::update));
  connect(state_, &ViewState::theme_changed, this, qOverload<>(&ModelView::update));
  rebuild_images();
}

void ModelView::set_thumbs(std::optional<Thumbs> thumbs) {
  thumbs_ = std::move(thumbs);
  rebuild_images();
}

void ModelView::rebuild_images() {
  images_.clear();
  if (thumbs_) {
    images_ = thumbs_->images;
    update();
    return;
  }
  const auto& rec = state_->recording();
  // The thumbnails of the layers analysed so far (all of them once the analysis is complete).
  const auto& a = state_->latest_analysis();
  if (rec && a) {
    const Thumbnails& t = a->thumbs;
    images_.reserve(size_t(a->layers_done) * a->num_heads);
    for (int l = 0; l < a->layers_done; ++l)
      for (int h = 0; h < a->num_heads; ++h) {
        const ValueMapper mapper(state_->colors(), state_->head_range(l, h));
        QImage img(t.size, t.size, QImage::Format_RGB32);
        const float* v = t.head(l, h);
        for (int y = 0; y < t.size; ++y) {
          auto* line = reinterpret_cast<QRgb*>(img.scanLine(y));
          for (int x = 0; x < t.size; ++x) line[x] = mapper.rgb(v[y * t.size + x]);
        }
        images_.push_back(std::move(img));
      }
  }
  update();
}

ModelView::Grid ModelView::grid_for(const QSize& size) const {
  Grid g;
  const auto& rec = state_->recording();
  if (!rec) return g;
  g.layers = rec->num_layers();
  g.heads = rec->num_heads();
  g.group = kv_group_size(rec->meta());
  const int groups = g.group ? g.heads / g.group : 1;
  const QFontMetricsF fm(font());
  g.title_h = fm.height() * (render_title().contains(QLatin1Char('\n')) ? 3.4 : 2.0);  // a second line: the reading
  g.group_h = g.group ? fm.height() + 4 : 0;
  g.label_w = fm.horizontalAdvance(QStringLiteral("L00")) + 10;
  if (has_windows(rec->meta()))
    for (int l = 0; l < g.layers; ++l) g.label_w = std::max(g.label_w, fm.horizontalAdvance(row_label(l)) + 10);
  g.label_h = fm.height() + 6;
  g.legend_h = fm.height() * 2.6;
  const double w = size.width() - g.label_w - 12, h = size.height() - g.title_h - g.group_h - g.label_h - g.legend_h - 6;
  double pitch = std::max(4.0, std::min(w / g.heads, h / g.layers));
  if (groups > 1) {  // room for the gaps between groups
    g.group_gap = std::clamp(pitch * 0.3, 3.0, 12.0);
    pitch = std::max(4.0, std::min((w - (groups - 1) * g.group_gap) / g.heads, h / g.layers));
  }
  g.gap = std::clamp(pitch * 0.08, 1.0, 6.0);
  g.cell = pitch - g.gap;
  const double grid_w = g.heads * pitch - g.gap + (groups - 1) * g.group_gap;
  g.origin = QPointF(g.label_w + std::max(0.0, (w - grid_w) / 2), g.title_h + g.group_h + g.label_h);
  return g;
}

QRectF ModelView::Grid::group_rect(int g) const {
  const QRectF first = cell_rect(0, g * group), last = cell_rect(layers - 1, (g + 1) * group - 1);
  const double m = (gap + group_gap) * 0.3;  // the bands keep apart
  return QRectF(QPointF(first.left() - m, origin.y() - label_h - group_h), QPointF(last.right() + m, last.bottom() + m));
}

int ModelView::kv_group_count() const {
  const Grid g = grid_for(size());
  return g.group ? g.heads / g.group : 0;
}

QRect ModelView::kv_group_rect(int group) const { return grid_for(size()).group_rect(group).toRect(); }

QString ModelView::row_label(int layer) const {
  const auto& rec = state_->recording();
  if (!rec) return {};
  const RecordingMeta& m = rec->meta();
  const QString label = QStringLiteral("L%1").arg(m.model_layer(layer));
  if (!has_windows(m)) return label;
  return m.window(layer) > 0 ? QStringLiteral("%1 · window %2").arg(label).arg(m.window(layer)) : label + QStringLiteral(" · full");
}

QRect ModelView::cell_rect(int layer, int head) const { return grid_for(size()).cell_rect(layer, head).toRect(); }

bool ModelView::hit(const QPointF& pos, int* layer, int* head) const {
  const Grid g = grid_for(size());
  if (g.layers == 0 || images_.empty()) return false;
  const int l = int(std::floor((pos.y() - g.origin.y()) / (g.cell + g.gap)));
  int h = 0;
  while (h + 1 < g.heads && pos.x() >= g.head_x(h + 1)) ++h;
  if (l < 0 || h < 0 || l >= g.layers || h >= g.heads || !g.cell_rect(l, h).contains(pos)) return false;
  *layer = l;
  *head = h;
  return true;
}

QString ModelView::render_title() const {
  if (thumbs_) return thumbs_->title;
  const auto& rec = state_->recording();
  if (!rec) return QStringLiteral("Model view");
  return with_reading(QStringLiteral("%1 · all %2 layers × %3 heads · %4 tokens")
                          .arg(qstr(rec->meta().model))
                          .arg(rec->num_layers())
                          .arg(rec->num_heads())
                          .arg(rec->num_tokens()) + state_->ablation_note(),
                      rec->meta(), QStringLiteral("\n"));
}

QSize ModelView::render_size() const {
  const auto& rec = state_->recording();
  if (!rec) return {1000, 1000};
  const int pitch = 80;
  const RecordingMeta& m = rec->meta();
  // Room for the gaps and names of KV groups, and for the windows beside the layers.
  const int groups = kv_group_size(m) ? m.num_kv_heads : 0, windows = has_windows(m) ? 100 : 0;
  return {std::max(600, rec->num_heads() * pitch + 80 + groups * 12 + windows), rec->num_layers() * pitch + 160 + (groups ? 30 : 0)};
}

void ModelView::paint(QPainter& p, const QSize& size, bool interactive) const {
  const Theme& t = theme(state_->dark());
  p.fillRect(QRect(QPoint(0, 0), size), t.background);
  p.setPen(t.foreground);
  const auto& rec = state_->recording();
  if (!rec) {
    p.drawText(QRect(QPoint(0, 0), size), Qt::AlignCenter, QStringLiteral("Run a model or open a recording to see every head."));
    return;
  }
  const Grid g = grid_for(size);
  QFont bold = p.font();
  bold.setBold(true);
  bold.setPointSizeF(bold.pointSizeF() + 2);
  p.setFont(bold);
  p.drawText(QRectF(0, 0, size.width(), g.title_h), Qt::AlignCenter, render_title());
  p.setFont(font());
  if (g.group) {  // a band behind each group of heads sharing a key/value head, named on top
    const QFontMetricsF fm(font());
    for (int k = 0; k < g.heads / g.group; ++k) {
      const QRectF band = g.group_rect(k);
      p.setPen(Qt::NoPen);
      p.setBrush(t.grid);
      p.drawRoundedRect(band, 4, 4);
      QString name = QStringLiteral("KV group %1").arg(k);
      if (fm.horizontalAdvance(name) > band.width() - 4) name = QStringLiteral("G%1").arg(k);
      p.setPen(t.muted);
      p.drawText(QRectF(band.x(), band.y(), band.width(), g.group_h), Qt::AlignCenter, name);
    }
    p.setBrush(Qt::NoBrush);
  }
  p.setPen(t.muted);
  const bool every_label = g.cell >= QFontMetricsF(font()).horizontalAdvance(QStringLiteral("H00"));
  for (int h = 0; h < g.heads; ++h)
    if (every_label || h % 2 == 0)
      p.drawText(QRectF(g.cell_rect(0, h).x() - g.gap, g.title_h + g.group_h, g.cell + 2 * g.gap, g.label_h), Qt::AlignCenter, QStringLiteral("H%1").arg(h));
  for (int l = 0; l < g.layers; ++l) {
    const QRectF c = g.cell_rect(l, 0);
    p.drawText(QRectF(0, c.y(), g.origin.x() - 6, c.height()), Qt::AlignRight | Qt::AlignVCenter, row_label(l));
  }
  p.setRenderHint(QPainter::SmoothPixmapTransform, false);
  for (int l = 0; l < g.layers; ++l)
    for (int h = 0; h < g.heads; ++h) {
      const QRectF c = g.cell_rect(l, h);
      const size_t i = size_t(l) * g.heads + h;
      if (i < images_.size()) p.drawImage(c, images_[i]);
      else p.fillRect(c, t.grid);
    }
  if (const int done = int(images_.size()) / std::max(1, g.heads); done < g.layers) {  // the layers still being analysed
    p.setPen(t.foreground);
    const QPointF top = g.cell_rect(done, 0).topLeft();
    p.drawText(QRectF(top, QSizeF(g.heads * (g.cell + g.gap), (g.layers - done) * (g.cell + g.gap))), Qt::AlignCenter,
               done == 0 ? QStringLiteral("computing thumbnails…")
                         : QStringLiteral("computing thumbnails… (%1 of %2 layers shown)").arg(done).arg(g.layers));
  }
  p.setBrush(Qt::NoBrush);
  if (state_->head() >= 0) {
    p.setPen(QPen(t.accent, 2.5));
    p.drawRect(g.cell_rect(state_->layer(), state_->head()).adjusted(-1.5, -1.5, 1.5, 1.5));
  } else {
    p.setPen(QPen(t.accent, 2.0));
    const QRectF a = g.cell_rect(state_->layer(), 0), b = g.cell_rect(state_->layer(), g.heads - 1);
    p.drawRect(a.united(b).adjusted(-2, -2, 2, 2));
  }
  // Heads switched off (or mean-ablated, patched): a cross; dashed while only chosen for the next run.
  for (int l = 0; l < g.layers; ++l)
    for (int h = 0; h < g.heads; ++h)
      if (state_->is_ablated(l, h)) {
        const QRectF c = g.cell_rect(l, h).adjusted(1, 1, -1, -1);
        p.setPen(QPen(t.ablated, std::max(1.5, g.cell / 24), state_->was_ablated(l, h) ? Qt::SolidLine : Qt::DashLine));
        p.drawLine(c.topLeft(), c.bottomRight());
        p.drawLine(c.topRight(), c.bottomLeft());
        p.drawRect(c);
      }
  if (interactive && hover_layer_ >= 0) {
    p.setPen(QPen(t.hover, 2.0));
    p.drawRect(g.cell_rect(hover_layer_, hover_head_).adjusted(-1, -1, 1, 1));
  }
  // Colour legend: a bar from 0 to each head's own maximum (or the shared one).
  const double bar_w = std::min(260.0, size.width() * 0.4);
  const QRectF bar((size.width() - bar_w) / 2, size.height() - g.legend_h + 4, bar_w, g.legend_h * 0.28);
  const auto& table = thumbs_ ? thumbs_->legend : colormap_table(state_->colors().map);
  for (int i = 0; i < int(bar.width()); ++i)
    p.fillRect(QRectF(bar.x() + i, bar.y(), 1.5, bar.height()), QColor(table[std::min(255, i * 256 / int(bar.width()))]));
  p.setPen(t.muted);
  if (thumbs_) {
    p.drawText(QRectF(0, bar.bottom() + 2, size.width(), g.legend_h * 0.6), Qt::AlignHCenter | Qt::AlignTop, thumbs_->legend_text);
    return;
  }
  const QString top = state_->colors().shared_range && state_->analysis()
                          ? QString::number(state_->analysis()->shared_max, 'g', 3)
                          : QStringLiteral("each head's max");
  const QString scale = state_->colors().scaling == Scaling::Linear ? QString() : QStringLiteral(" (%1)").arg(scaling_name(state_->colors().scaling));
  p.drawText(QRectF(0, bar.bottom() + 2, size.width(), g.legend_h * 0.6), Qt::AlignHCenter | Qt::AlignTop,
             QStringLiteral("0 → %1%2").arg(top, scale));
}

void ModelView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  paint(p, size(), true);
}

void ModelView::render(QCPPainter& painter, const QSize& size) { paint(painter, size, false); }

void ModelView::mouseMoveEvent(QMouseEvent* event) {
  int l = -1, h = -1;
  if (!hit(event->position(), &l, &h)) l = h = -1;
  if (l != hover_layer_ || h != hover_head_) {
    hover_layer_ = l;
    hover_head_ = h;
    update();
  }
  if (l >= 0 && thumbs_ && thumbs_->tooltip) {
    QToolTip::showText(event->globalPosition().toPoint(), thumbs_->tooltip(l, h) + cell_note(l, h), this);
  } else if (l >= 0 && state_->analysis()) {
    const auto& s = state_->analysis()->stat(l, h);
    QToolTip::showText(event->globalPosition().toPoint(),
                       QStringLiteral("layer %1, head %2%7\nentropy %3 nats · mean distance %4 tokens\nspecial-token share %5 · previous-token share %6")
                           .arg(state_->recording() ? state_->recording()->meta().model_layer(l) : l).arg(h).arg(s.entropy, 0, 'f', 3).arg(s.mean_distance, 0, 'f', 2)
                           .arg(s.special_share, 0, 'f', 3).arg(s.previous_share, 0, 'f', 3).arg(cell_note(l, h)),
                       this);
  } else {
    QToolTip::hideText();
  }
}

QString ModelView::cell_note(int layer, int head) const {
  const RecordingMeta& m = state_->recording()->meta();
  QString note;
  if (const int group = kv_group_size(m)) {
    const int first = m.kv_group(head) * group;
    note += QStringLiteral(" · %1 (heads %2–%3 share its keys and values)").arg(kv_group_name(m, head)).arg(first).arg(first + group - 1);
  }
  if (const QString span = window_name(m, layer); !span.isEmpty()) note += QStringLiteral(" · ") + span;
  return note;
}

void ModelView::mousePressEvent(QMouseEvent* event) {
  int l, h;
  if (event->button() == Qt::LeftButton && hit(event->position(), &l, &h)) {
    if (event->modifiers() & Qt::ControlModifier) {  // Ctrl+click: switch the head off (or on) for the next run
      state_->toggle_ablated(l, h);
      return;
    }
    state_->select(l, h);
    Q_EMIT head_activated(l, h);
  }
}

void ModelView::contextMenuEvent(QContextMenuEvent* event) {
  int l, h;
  if (!hit(event->pos(), &l, &h)) return;
  const int shown = state_->recording()->meta().model_layer(l);
  QMenu menu(this);
  const bool off = state_->is_ablated(l, h);
  menu.addAction(off ? tr("Switch head %1.%2 back on").arg(shown).arg(h) : tr("Switch head %1.%2 off").arg(shown).arg(h),
                 [this, l, h] { state_->toggle_ablated(l, h); });
  menu.addAction(tr("Switch every head of layer %1 off").arg(shown), [this, l] {
    for (int k = 0; k < state_->recording()->num_heads(); ++k)
      if (!state_->is_ablated(l, k)) state_->toggle_ablated(l, k);
  });
  QAction* clear = menu.addAction(tr("Switch all heads back on"), [this] { state_->set_ablated({}); });
  clear->setEnabled(!state_->ablated().empty());
  menu.addSeparator();
  menu.addAction(tr("Run again with these heads changed"), [this] { Q_EMIT rerun_requested(); });
  menu.exec(event->globalPos());
}

void ModelView::leaveEvent(QEvent*) {
  hover_layer_ = hover_head_ = -1;
  update();
}

}  // namespace attn::ui
