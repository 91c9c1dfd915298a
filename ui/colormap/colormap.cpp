#include "colormap/colormap.h"

#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

namespace attn::ui {

namespace {

#include "colormap/colormap_tables.inc"

QVector<QRgb> from_floats(const float (&t)[256][3]) {
  QVector<QRgb> out(256);
  for (int i = 0; i < 256; ++i)
    out[i] = qRgb(int(std::lround(t[i][0] * 255.0f)), int(std::lround(t[i][1] * 255.0f)), int(std::lround(t[i][2] * 255.0f)));
  return out;
}

QVector<QRgb> grey() {
  QVector<QRgb> out(256);
  for (int i = 0; i < 256; ++i) out[i] = qRgb(i, i, i);
  return out;
}

// ColorBrewer's RdBu (Cynthia Brewer, Apache-2.0), 11 classes, reversed (blue first) and
// interpolated linearly to 256 entries, as matplotlib's RdBu_r.
QVector<QRgb> diverging() {
  static const QRgb stops[] = {0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7, 0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b, 0x67001f};
  QVector<QRgb> out(256);
  for (int i = 0; i < 256; ++i) {
    const double x = i / 255.0 * 10.0;
    const int k = std::min(9, int(x));
    const double f = x - k;
    auto mix = [&](int shift) { return int(std::lround(((stops[k] >> shift) & 0xff) * (1 - f) + ((stops[k + 1] >> shift) & 0xff) * f)); };
    out[i] = qRgb(mix(16), mix(8), mix(0));
  }
  return out;
}

}  // namespace

const QVector<QRgb>& colormap_table(ColorMapId id) {
  static const QVector<QRgb> tables[] = {from_floats(k_viridis), from_floats(k_magma), from_floats(k_inferno), from_floats(k_cividis),
                                         grey(), diverging()};
  return tables[int(id)];
}

QList<ColorMapId> all_colormaps() {
  return {ColorMapId::Viridis, ColorMapId::Magma, ColorMapId::Inferno, ColorMapId::Cividis, ColorMapId::Grey};
}

QString colormap_name(ColorMapId id) {
  switch (id) {
    case ColorMapId::Viridis: return QStringLiteral("viridis");
    case ColorMapId::Magma: return QStringLiteral("magma");
    case ColorMapId::Inferno: return QStringLiteral("inferno");
    case ColorMapId::Cividis: return QStringLiteral("cividis");
    case ColorMapId::Grey: return QStringLiteral("grey");
    case ColorMapId::Diverging: return QStringLiteral("rdbu");
  }
  return {};
}

QStringList colormap_names() {
  QStringList out;
  for (auto id : all_colormaps()) out << colormap_name(id);
  return out;
}

std::optional<ColorMapId> colormap_from_name(const QString& name) {
  const QString n = name.trimmed().toLower();
  if (n == QLatin1String("gray") || n == QLatin1String("greys")) return ColorMapId::Grey;
  for (auto id : all_colormaps())
    if (colormap_name(id) == n) return id;
  return std::nullopt;
}

QString scaling_name(Scaling s) {
  switch (s) {
    case Scaling::Linear: return QStringLiteral("linear");
    case Scaling::Log: return QStringLiteral("log");
    case Scaling::Power: return QStringLiteral("power");
  }
  return {};
}

std::optional<Scaling> scaling_from_name(const QString& name) {
  for (auto s : {Scaling::Linear, Scaling::Log, Scaling::Power})
    if (scaling_name(s) == name.trimmed().toLower()) return s;
  return std::nullopt;
}

QCPColorGradient make_gradient(const ColorSettings& settings) {
  const auto& table = colormap_table(settings.map);
  QMap<double, QColor> stops;
  const bool power = settings.scaling == Scaling::Power && settings.gamma > 0;
  for (int i = 0; i < 256; ++i) {
    const double t = i / 255.0;
    // Power: the colour of entry t belongs at the data position p with p^gamma = t.
    stops[power ? std::pow(t, 1.0 / settings.gamma) : t] = QColor(table[i]);
  }
  QCPColorGradient g;
  g.setColorInterpolation(QCPColorGradient::ciRGB);
  g.setColorStops(stops);
  g.setLevelCount(power ? 4096 : 256);
  g.setPeriodic(false);
  return g;
}

ColorSettings diverging_colors() {
  ColorSettings c;
  c.map = ColorMapId::Diverging;
  c.scaling = Scaling::Linear;
  return c;
}

}  // namespace attn::ui
