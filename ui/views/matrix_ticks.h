#pragma once
// Token tick labels for a matrix axis: one per token when there is room, otherwise every k-th
// token (k = 1, 2, 5, 10, 20, ...) so labels never overlap.
#include <QMap>
#include <QString>
#include <QStringList>

namespace attn::ui {

// Ticks for the visible coordinate range [lo, hi] (token i sits at coordinate i) along an axis
// of `pixels` length whose labels need `label_pixels` each.
QMap<double, QString> thinned_ticks(const QStringList& labels, double lo, double hi, double pixels, double label_pixels);
// The smallest step of 1, 2, 5, 10, 20, 50, ... that is >= `min_step`.
int nice_step(double min_step);

}  // namespace attn::ui
