#pragma once
// How the window words a recording's predictions (session/predictions.h holds them).
#include <QString>

#include "session/predictions.h"

namespace attn::ui {

// "Image classification", "Next token after “·sat” (6)", …
QString prediction_caption(const Predictions& p, const RecordingMeta& meta);

}  // namespace attn::ui
