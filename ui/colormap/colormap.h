#pragma once
// Colour maps and how values are scaled onto them. The perceptually uniform maps carry
// matplotlib's published 256-entry tables (colormap_tables.inc); QCustomPlot 2.1.0 has none.
#include <QList>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QtGui/qrgb.h>
#include <optional>

class QCPColorGradient;

namespace attn::ui {

// Diverging (ColorBrewer's RdBu, blue for negative, white at the middle, red for positive) is
// for signed values centred on 0 (differences); it is not offered for attention (all_colormaps).
enum class ColorMapId { Viridis, Magma, Inferno, Cividis, Grey, Diverging };
enum class Scaling { Linear, Log, Power };

// How every view colours attention. `shared_range`: one range for all heads of a recording
// (comparable across heads) instead of each head's own [0, max].
struct ColorSettings {
  ColorMapId map = ColorMapId::Viridis;
  Scaling scaling = Scaling::Linear;
  double gamma = 0.5;  // Power: position = t^gamma (< 1 brightens weak attention)
  bool shared_range = false;
  bool operator==(const ColorSettings&) const = default;
};

// The lowest value the logarithmic scale shows, relative to the range's top (four decades).
constexpr double kLogFloorRatio = 1e-4;

const QVector<QRgb>& colormap_table(ColorMapId id);  // 256 entries, dark to light
QString colormap_name(ColorMapId id);                // "viridis", ..., "grey", "rdbu"
QStringList colormap_names();
std::optional<ColorMapId> colormap_from_name(const QString& name);
QList<ColorMapId> all_colormaps();  // the maps for attention (not Diverging)

QString scaling_name(Scaling s);  // "linear", "log", "power"
std::optional<Scaling> scaling_from_name(const QString& name);

// The QCustomPlot gradient for these settings: for Power the stops are warped so that a
// linear data axis shows t^gamma; Linear and Log use the table as is (Log relies on the colour
// map's logarithmic data scale).
QCPColorGradient make_gradient(const ColorSettings& settings);
// Colours for signed values in [-1, 1] on the diverging map, linear, white at 0.
ColorSettings diverging_colors();

}  // namespace attn::ui
