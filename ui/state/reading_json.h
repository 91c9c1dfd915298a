#pragma once
// A Reading (analysis/reading.h) as the window keeps it: in QSettings and in a saved
// recording's view state ("reading": {"hide_special", "hide_first", "unit", "rule"}).
#include <QJsonObject>

#include "analysis/reading.h"

namespace attn::ui {

QJsonObject reading_json(const Reading& reading);
// Unknown or missing fields keep the plain reading's values.
Reading reading_from_json(const QJsonObject& object);

}  // namespace attn::ui
