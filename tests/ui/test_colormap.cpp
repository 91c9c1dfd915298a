// Colour maps carry matplotlib's published tables; the value mapper scales as documented.
#include <gtest/gtest.h>

#include <QColor>
#include <cmath>
#include <qcustomplot.h>

#include "colormap/colormap.h"
#include "colormap/value_mapper.h"
#include "views/matrix_ticks.h"

using namespace attn::ui;

TEST(ColorMap, TablesMatchMatplotlibsEnds) {
  // First and last entries of matplotlib's _cm_listed tables, rounded to 8 bits.
  struct End {
    ColorMapId id;
    QRgb first, last;
  };
  const End ends[] = {{ColorMapId::Viridis, qRgb(68, 1, 84), qRgb(253, 231, 37)},
                      {ColorMapId::Magma, qRgb(0, 0, 4), qRgb(252, 253, 191)},
                      {ColorMapId::Inferno, qRgb(0, 0, 4), qRgb(252, 255, 164)},
                      {ColorMapId::Cividis, qRgb(0, 34, 78), qRgb(254, 232, 56)},
                      {ColorMapId::Grey, qRgb(0, 0, 0), qRgb(255, 255, 255)}};
  for (const auto& e : ends) {
    const auto& t = colormap_table(e.id);
    ASSERT_EQ(t.size(), 256) << colormap_name(e.id).toStdString();
    EXPECT_EQ(QColor(t.front()).name(), QColor(e.first).name()) << colormap_name(e.id).toStdString();
    EXPECT_EQ(QColor(t.back()).name(), QColor(e.last).name()) << colormap_name(e.id).toStdString();
  }
  // viridis[128] = (0.127568, 0.566949, 0.550556)
  EXPECT_EQ(QColor(colormap_table(ColorMapId::Viridis)[128]).name(), QColor(33, 145, 140).name());
}

TEST(ColorMap, LightnessRisesMonotonically) {
  for (auto id : all_colormaps()) {
    const auto& t = colormap_table(id);
    auto lum = [](QRgb c) { return 0.2126 * qRed(c) + 0.7152 * qGreen(c) + 0.0722 * qBlue(c); };
    for (int i = 8; i < 256; i += 8) EXPECT_GT(lum(t[i]), lum(t[i - 8])) << colormap_name(id).toStdString() << " at " << i;
  }
}

TEST(ColorMap, NamesRoundTrip) {
  for (auto id : all_colormaps()) EXPECT_EQ(colormap_from_name(colormap_name(id)), id);
  EXPECT_EQ(colormap_from_name("Gray"), ColorMapId::Grey);
  EXPECT_FALSE(colormap_from_name("jet").has_value());
  EXPECT_EQ(scaling_from_name("LOG"), Scaling::Log);
}

TEST(ValueMapper, LinearLogAndPowerPositions) {
  ColorSettings s;
  const ValueMapper lin(s, {0.0, 0.5});
  EXPECT_DOUBLE_EQ(lin.position(0.25), 0.5);
  EXPECT_DOUBLE_EQ(lin.position(2.0), 1.0);
  EXPECT_EQ(lin.rgb(0.5), colormap_table(ColorMapId::Viridis)[255]);
  EXPECT_EQ(lin.rgb(0.0), colormap_table(ColorMapId::Viridis)[0]);

  s.scaling = Scaling::Log;
  const ValueMapper log(s, {0.0, 1.0});
  EXPECT_DOUBLE_EQ(log.log_floor(), 1e-4);
  EXPECT_NEAR(log.position(1e-2), 0.5, 1e-12);  // two of four decades
  EXPECT_DOUBLE_EQ(log.position(0.0), 0.0);

  s.scaling = Scaling::Power;
  s.gamma = 0.5;
  const ValueMapper pow(s, {0.0, 1.0});
  EXPECT_NEAR(pow.position(0.25), 0.5, 1e-12);
}

TEST(ValueMapper, PowerGradientAgreesWithTheMapper) {
  // The QCustomPlot gradient for a power scale must colour like the thumbnails do.
  ColorSettings s;
  s.scaling = Scaling::Power;
  s.gamma = 0.5;
  QCPColorGradient g = make_gradient(s);
  const ValueMapper m(s, {0.0, 1.0});
  for (double v : {0.01, 0.1, 0.25, 0.5, 0.9}) {
    const QColor a(g.color(v, QCPRange(0, 1))), b(m.rgb(v));
    EXPECT_NEAR(a.red(), b.red(), 6) << v;
    EXPECT_NEAR(a.green(), b.green(), 6) << v;
    EXPECT_NEAR(a.blue(), b.blue(), 6) << v;
  }
}

TEST(ValueMapper, EmptyRangesFallBackToOne) {
  const ValueRange r = attention_range(0.0, 0.0, false);
  EXPECT_EQ(r.hi, 1.0);
  EXPECT_EQ(attention_range(0.3, 0.9, true).hi, 0.9);
  EXPECT_EQ(attention_range(0.3, 0.9, false).hi, 0.3);
}

TEST(MatrixTicks, ThinsCrowdedLabelsToNiceSteps) {
  QStringList labels;
  for (int i = 0; i < 1000; ++i) labels << QString::number(i);
  // 1000 tokens on 500 px with 14 px labels: at least every 28th, so every 50th.
  const auto ticks = thinned_ticks(labels, -0.5, 999.5, 500, 14);
  EXPECT_EQ(ticks.size(), 20);
  EXPECT_EQ(ticks.firstKey(), 0.0);
  EXPECT_EQ(ticks.value(50.0), QStringLiteral("50"));
  // Room for every label: all of them.
  EXPECT_EQ(thinned_ticks(labels.mid(0, 10), -0.5, 9.5, 500, 14).size(), 10);
  EXPECT_EQ(nice_step(1.0), 1);
  EXPECT_EQ(nice_step(2.1), 5);
  EXPECT_EQ(nice_step(11), 20);
}
