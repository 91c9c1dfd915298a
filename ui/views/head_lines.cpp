#include "views/head_lines.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <algorithm>
#include <cmath>

#include "state/theme.h"
#include "state/view_state.h"
#include "views/line_raster.h"

namespace attn::ui {

namespace {

constexpr double kRowHeight = 20.0;
constexpr double kTitleHeight = 34.0;
constexpr float kMinWeight = 0.01f;  // lines fainter than this are not drawn

}  // namespace

HeadLines::HeadLines(ViewState* state, QWidget* parent) : QWidget(parent), state_(state) {
  setMouseTracking(true);
  setFocusPolicy(Qt::ClickFocus);
  connect(state_, &ViewState::selection_changed, this, qOverload<>(&HeadLines::update));
  connect(state_, &ViewState::query_changed, this, qOverload<>(&HeadLines::update));
  connect(state_, &ViewState::theme_changed, this, qOverload<>(&HeadLines::update));
  connect(&finder_, &JobRunner::failed, this, [this](int, const QString& message) { take_found({kMinWeight, {}}, message); });
  connect(state_, &ViewState::recording_changed, this, [this] {
    hover_token_ = -1;
    strongest_key_ = {};  // a new recording may reuse the old one's address
    focused_key_ = {};
    lines_error_.clear();
    cancel_finding();
    updateGeometry();
    update();
  });
}

void HeadLines::set_heads(const std::vector<bool>& enabled) {
  enabled_ = enabled;
  update();
}

QSize HeadLines::sizeHint() const {
  const int n = state_->recording() ? state_->recording()->num_tokens() : 10;
  return {700, int(kTitleHeight + n * kRowHeight + 20)};
}

QSize HeadLines::minimumSizeHint() const { return {300, sizeHint().height()}; }

HeadLines::Geometry HeadLines::geometry(const QSize& size, bool fit, double title_h) const {
  Geometry g;
  const auto& rec = state_->recording();
  const int n = rec ? std::max(1, rec->num_tokens()) : 1;
  g.top = title_h + 6;
  g.row_h = fit ? std::min(kRowHeight * 1.5, (size.height() - g.top - 10) / n) : kRowHeight;
  const QFontMetricsF fm(font());
  double widest = 40;
  if (rec)
    for (const auto& t : rec->meta().tokens) widest = std::max(widest, fm.horizontalAdvance(token_label(t, 24)));
  g.col_w = std::min(widest + 16, size.width() * 0.3);
  const double margin = std::max(12.0, (size.width() - 2 * g.col_w - 560) / 2);  // lines at most ~560 wide
  g.left_x = margin + g.col_w;
  g.right_x = size.width() - margin - g.col_w;
  return g;
}

int HeadLines::focus_token() const { return hover_token_ >= 0 ? hover_token_ : state_->query(); }
int HeadLines::focus_side() const { return hover_token_ >= 0 ? hover_side_ : 0; }

float HeadLines::line_cutoff() const {
  const auto& rec = state_->recording();
  if (!rec) return kMinWeight;
  return strongest().cutoff;
}

HeadLines::LinesKey HeadLines::strongest_key() const { return {state_->recording().get(), state_->layer(), enabled_}; }

// The layer's strongest lines (analysis/attention_lines.h: read through a long recording's
// pyramid, no head converted), kept for the recording, layer and heads.
const StrongestLines& HeadLines::strongest(bool wait) const {
  static const StrongestLines none{kMinWeight, {}};
  const auto& rec = state_->recording();
  const LinesKey key = strongest_key();
  if (strongest_key_ == key) {
    if (finding_lines() && !(finding_key_ == key)) cancel_finding();  // back to lines already found
    return strongest_;
  }
  if (!rec) return none;
  int shown = 0;
  for (int h = 0; h < rec->num_heads(); ++h) shown += head_chosen(enabled_, h);
  const double weights = double(shown) * rec->num_tokens() * rec->num_tokens();
  if (!wait && weights >= kBackgroundWeights) {
    if (!(finding_key_ == key)) start_finding();
    return none;
  }
  strongest_key_ = key;
  strongest_ = strongest_lines(*rec, state_->layer(), enabled_, kLineBudget, kMinWeight);
  return strongest_;
}

void HeadLines::start_finding() const {
  const bool announce = !finding_lines();
  finding_key_ = strongest_key();
  lines_error_.clear();
  auto* self = const_cast<HeadLines*>(this);  // the caches are mutable; signals are not const
  const std::shared_ptr<const AttentionRecording> rec = state_->recording();
  const int layer = state_->layer();
  const std::vector<bool> heads = enabled_;
  // Only the current search delivers (JobRunner), so finding_key_ is still this one's then.
  finder_.start([self, rec, layer, heads](JobContext& ctx) {
    StrongestLines found = strongest_lines(*rec, layer, heads, kLineBudget, kMinWeight);
    ctx.post([self, found = std::move(found)]() mutable { self->take_found(std::move(found), QString()); });
  });
  if (announce) announce_finding();
}

void HeadLines::take_found(StrongestLines found, const QString& error) {
  strongest_key_ = finding_key_;  // a failure too is kept: not tried again for the same layer and heads
  strongest_ = std::move(found);
  lines_error_ = error;
  finding_key_ = {};
  tile_key_ = {};  // the tiles drawn meanwhile have no lines
  update();
  Q_EMIT finding_changed(false);
}

void HeadLines::cancel_finding() const {
  if (!finding_lines()) return;
  finder_.cancel();
  finding_key_ = {};
  announce_finding();
}

void HeadLines::announce_finding() const {
  // Queued: this may run while painting.
  auto* self = const_cast<HeadLines*>(this);
  QMetaObject::invokeMethod(self, [self] { Q_EMIT self->finding_changed(self->finding_lines()); }, Qt::QueuedConnection);
}

const std::vector<AttentionLine>& HeadLines::lines(int focus, int side, bool wait) const {
  const auto& rec = state_->recording();
  if (focus < 0 || !rec) {
    static const std::vector<AttentionLine> none;
    return rec ? strongest(wait).lines : none;
  }
  const LinesKey key{rec.get(), state_->layer(), enabled_, focus, side};
  if (!(focused_key_ == key)) {
    focused_key_ = key;
    focused_ = token_lines(*rec, state_->layer(), enabled_, focus, side, kMinWeight);
  }
  return focused_;
}

template <class Fn>
void HeadLines::for_each_line(int focus, int side, bool wait, Fn&& fn) const {
  for (const AttentionLine& l : lines(focus, side, wait)) fn(l.head, l.query, l.key, l.weight);
}

int HeadLines::visible_line_count() const {
  int count = 0;
  for_each_line(focus_token(), focus_side(), true, [&](int, int, int, float) { ++count; });
  return count;
}

void HeadLines::paint(QPainter& p, const QSize& size, bool fit, const QString& title, const QRectF& exposed) const {
  paint_lines(p, size, fit, title, exposed, nullptr);
}

void HeadLines::paint_cached(QPainter& p, const QRect& exposed) {
  const double dpr = devicePixelRatioF();
  TileKey key{state_->recording().get(), state_->layer(), focus_token(), focus_side(), enabled_, size(), state_->dark(), dpr};
  if (!(key == tile_key_)) {
    tile_key_ = std::move(key);
    tiles_.clear();
    tile_use_.clear();
  }
  const int first = std::max(0, exposed.top() / kTileHeight), last = std::max(first, exposed.bottom() / kTileHeight);
  for (int t = first; t <= last; ++t) {
    auto it = tiles_.find(t);
    if (it == tiles_.end()) {
      QImage tile(QSize(width(), kTileHeight) * dpr, QImage::Format_ARGB32_Premultiplied);
      tile.setDevicePixelRatio(dpr);
      QPainter tp(&tile);
      tp.translate(0, -t * kTileHeight);
      const RasterTarget raster{&tile, double(t * kTileHeight), dpr};
      paint_lines(tp, size(), false, QString(), QRectF(0, t * kTileHeight, width(), kTileHeight), &raster);
      tp.end();
      it = tiles_.emplace(t, std::move(tile)).first;
      if (int(tiles_.size()) > kMaxTiles) {  // forget the least recently shown
        tiles_.erase(tile_use_.back());
        tile_use_.pop_back();
      }
    } else {
      tile_use_.remove(t);
    }
    tile_use_.push_front(t);
    p.drawImage(QPointF(0, t * kTileHeight), it->second);
  }
}

void HeadLines::paint_lines(QPainter& p, const QSize& size, bool fit, const QString& title, const QRectF& exposed,
                            const RasterTarget* raster) const {
  const Theme& t = theme(state_->dark());
  const QRectF area = exposed.isNull() ? QRectF(QPointF(0, 0), QSizeF(size)) : exposed;
  p.fillRect(area, t.background);
  const auto& rec = state_->recording();
  p.setPen(t.foreground);
  if (!rec) {
    p.drawText(QRect(QPoint(0, 0), size), Qt::AlignCenter, QStringLiteral("Run a model or open a recording."));
    return;
  }
  const double title_h = title.isEmpty() ? 0.0 : kTitleHeight * (1 + title.count(QLatin1Char('\n')) * 0.6);  // a second line: the reading
  const Geometry g = geometry(size, fit, title_h);
  if (!title.isEmpty()) {
    QFont bold = font();
    bold.setBold(true);
    bold.setPointSizeF(bold.pointSizeF() + 2);
    p.setFont(bold);
    p.drawText(QRectF(0, 0, size.width(), title_h), Qt::AlignCenter, title);
  }
  QFont f = font();
  if (g.row_h < kRowHeight * 0.8) f.setPixelSize(std::max(4, int(g.row_h * 0.75)));
  p.setFont(f);

  const int focus = focus_token(), side = focus_side();
  const int H = rec->num_heads(), N = rec->num_tokens();
  const bool wait = raster == nullptr;  // an export waits for the lines; the window's tiles do not
  // Token backgrounds: the focused token, and on the other side how much each token gets.
  if (focus >= 0) {
    const double x = side == 0 ? g.left_x - g.col_w : g.right_x;
    p.fillRect(QRectF(x, g.y(focus) - g.row_h / 2, g.col_w, g.row_h), t.grid);
    for_each_line(focus, side, wait, [&](int h, int i, int j, float w) {
      QColor c = head_color(h, H);
      c.setAlphaF(std::min(1.0f, w) * 0.55f);
      const int other = side == 0 ? j : i;
      const double ox = side == 0 ? g.right_x : g.left_x - g.col_w;
      p.fillRect(QRectF(ox, g.y(other) - g.row_h / 2, g.col_w, g.row_h), c);
    });
  }
  p.setRenderHint(QPainter::Antialiasing, true);
  const double x1 = g.left_x + 4, x2 = g.right_x - 4;
  const double scale = focus >= 0 ? 1.0 : 0.85;
  // Lines are gathered by head and by opacity (kAlphaLevels steps) and drawn a bucket at a
  // time with one pen: thousands of lines then cost a few hundred pen changes. On screen
  // without a focused token the pen is one pixel wide and cosmetic, which the raster engine
  // draws directly instead of stroking a polygon per line. Each line is cut to the exposed rows
  // (in a scroll area, the visible part of a tall picture), so off-screen parts cost nothing.
  constexpr int kAlphaLevels = 64;
  std::vector<std::vector<QLineF>> buckets(size_t(H) * kAlphaLevels);
  const double top = area.top() - 2, bottom = area.bottom() + 2;
  // On screen without a focused token: one-pixel cosmetic lines (fast). Exports (fit) keep the
  // 1.5-unit pen that scales with the picture, so SVG and PDF lines print well.
  const bool hairline = focus < 0 && !fit;
  for_each_line(focus, side, wait, [&](int h, int i, int j, float w) {
    const double ya = g.y(i), yb = g.y(j);
    if (std::max(ya, yb) < top || std::min(ya, yb) > bottom) return;
    const int level = std::clamp(int(std::lround(std::min(1.0f, w) * scale * (kAlphaLevels - 1))), 0, kAlphaLevels - 1);
    if (level == 0) return;
    QLineF line(x1, ya, x2, yb);
    if (ya != yb) {  // keep the part between top and bottom
      const auto at = [&](double y) { return line.pointAt(std::clamp((y - ya) / (yb - ya), 0.0, 1.0)); };
      line = QLineF(at(std::clamp(ya, top, bottom)), at(std::clamp(yb, top, bottom)));
    }
    buckets[size_t(h) * kAlphaLevels + size_t(level)].push_back(line);
  });
  for (int h = 0; h < H; ++h)
    for (int level = 1; level < kAlphaLevels; ++level) {
      const auto& lines = buckets[size_t(h) * kAlphaLevels + size_t(level)];
      if (lines.empty()) continue;
      if (raster && hairline) {  // a tile of the window: straight into its pixels
        const auto device = [&](QPointF pt) { return QPointF(pt.x() * raster->dpr, (pt.y() - raster->top) * raster->dpr); };
        for (const QLineF& l : lines)
          draw_line_aa(*raster->image, device(l.p1()), device(l.p2()), head_color(h, H), float(level) / (kAlphaLevels - 1), 0,
                       raster->image->height());
        continue;
      }
      QColor c = head_color(h, H);
      c.setAlphaF(double(level) / (kAlphaLevels - 1));
      QPen pen(c, focus >= 0 ? 2.0 : hairline ? 1.0 : 1.5);
      pen.setCosmetic(hairline);
      p.setPen(pen);
      p.drawLines(lines.data(), int(lines.size()));
    }
  p.setPen(t.foreground);
  for (int i = 0; i < N; ++i) {
    if (g.y(i) + g.row_h < area.top() || g.y(i) - g.row_h > area.bottom()) continue;
    const QString label = token_label(rec->meta().tokens[size_t(i)], 24);
    p.drawText(QRectF(g.left_x - g.col_w, g.y(i) - g.row_h / 2, g.col_w - 6, g.row_h), Qt::AlignRight | Qt::AlignVCenter, label);
    p.drawText(QRectF(g.right_x + 6, g.y(i) - g.row_h / 2, g.col_w - 6, g.row_h), Qt::AlignLeft | Qt::AlignVCenter, label);
  }
}

void HeadLines::paintEvent(QPaintEvent* event) {
  QPainter p(this);
  paint_cached(p, event->rect());
}

bool HeadLines::token_at(const QPointF& pos, int* token, int* side) const {
  const auto& rec = state_->recording();
  if (!rec) return false;
  const Geometry g = geometry(size(), false, 0.0);
  const int i = int(std::floor((pos.y() - g.top) / g.row_h));
  if (i < 0 || i >= rec->num_tokens()) return false;
  if (pos.x() >= g.left_x - g.col_w && pos.x() <= g.left_x + 4) *side = 0;
  else if (pos.x() >= g.right_x - 4 && pos.x() <= g.right_x + g.col_w) *side = 1;
  else return false;
  *token = i;
  return true;
}

void HeadLines::mouseMoveEvent(QMouseEvent* event) {
  int token = -1, side = 0;
  if (!token_at(event->position(), &token, &side)) token = -1;
  if (token != hover_token_ || side != hover_side_) {
    hover_token_ = token;
    hover_side_ = side;
    update();
  }
}

void HeadLines::mousePressEvent(QMouseEvent* event) {
  int token, side;
  if (event->button() != Qt::LeftButton) return;
  if (token_at(event->position(), &token, &side) && side == 0) state_->set_query(state_->query() == token ? -1 : token);
  else if (!token_at(event->position(), &token, &side)) state_->set_query(-1);
}

void HeadLines::leaveEvent(QEvent*) {
  hover_token_ = -1;
  update();
}

}  // namespace attn::ui
