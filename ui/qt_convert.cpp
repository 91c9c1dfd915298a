#include "qt_convert.h"

namespace attn::ui {

QString token_label(const std::string& token, int max_chars) {
  QString s = QString::fromStdString(token);
  if (s.isEmpty()) return QStringLiteral("∅");
  s.replace('\n', QStringLiteral("⏎")).replace('\r', QStringLiteral("⏎")).replace('\t', QStringLiteral("⇥"));
  int lead = 0;
  while (lead < s.size() && s[lead] == ' ') ++lead;
  int trail = 0;
  while (trail < s.size() - lead && s[s.size() - 1 - trail] == ' ') ++trail;
  if (lead > 0 || trail > 0)
    s = QString(lead, QChar(0x00B7)) + s.mid(lead, s.size() - lead - trail) + QString(trail, QChar(0x00B7));
  if (max_chars > 1 && s.size() > max_chars) s = s.left(max_chars - 1) + QStringLiteral("…");
  return s;
}

QStringList token_labels(const RecordingMeta& meta, int max_chars) {
  QStringList out;
  out.reserve(int(meta.tokens.size()));
  for (const auto& t : meta.tokens) out << token_label(t, max_chars);
  return out;
}

QString token_quoted(const RecordingMeta& meta, int index) {
  if (index < 0 || index >= int(meta.tokens.size())) return QStringLiteral("?");
  return QStringLiteral("“%1” (%2)").arg(token_label(meta.tokens[size_t(index)], 40)).arg(index);
}

QString head_name(int head) {
  if (head == kHeadMean) return QStringLiteral("mean of heads");
  if (head == kHeadMax) return QStringLiteral("max of heads");
  return QStringLiteral("head %1").arg(head);
}

QString format_weight(double v) {
  for (int digits = 6; digits < 9; ++digits) {
    const QString s = QString::number(v, 'g', digits);
    if (float(s.toDouble()) == float(v)) return s;
  }
  return QString::number(v, 'g', 9);
}

}  // namespace attn::ui
