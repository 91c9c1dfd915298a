#include "run/predictions.h"

#include "qt_convert.h"

namespace attn::ui {

QString prediction_caption(const Predictions& p, const RecordingMeta& meta) {
  if (p.task == "image-classification") return QStringLiteral("Image classification");
  if (p.task == "classification") return QStringLiteral("Text classification");
  if (p.task == "fill-mask") return QStringLiteral("Filling the mask %1").arg(token_quoted(meta, p.position));
  if (p.task == "next-token") return QStringLiteral("Next token after %1").arg(token_quoted(meta, p.position));
  return qstr(p.task);
}

}  // namespace attn::ui
