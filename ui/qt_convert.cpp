#include "qt_convert.h"

#include <algorithm>

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

QString head_name(const RecordingMeta& meta, int head) {
  const QString group = kv_group_name(meta, head);
  return group.isEmpty() ? head_name(head) : QStringLiteral("%1 (%2)").arg(head_name(head), group);
}

int kv_group_size(const RecordingMeta& meta) {
  const int H = meta.num_heads, KV = meta.num_kv_heads;
  return KV > 0 && KV < H && H % KV == 0 ? H / KV : 0;
}

QString kv_group_name(const RecordingMeta& meta, int head) {
  if (head < 0 || kv_group_size(meta) == 0) return {};
  return QStringLiteral("KV group %1").arg(meta.kv_group(head));
}

QString with_reading(const QString& title, const RecordingMeta& meta, const QString& separator) {
  const auto it = meta.extra.find("reading");
  return it == meta.extra.end() || it->second.empty() ? title : title + separator + qstr(it->second);
}

QString window_name(const RecordingMeta& meta, int layer) {
  if (std::all_of(meta.windows.begin(), meta.windows.end(), [](int w) { return w <= 0; })) return {};  // none slides
  const int w = meta.window(layer);
  return w > 0 ? QStringLiteral("sliding window %1").arg(w) : QStringLiteral("full attention");
}

QString describe_structure(const RecordingMeta& meta) {
  QStringList parts;
  for (const std::string& s : {describe_kv_groups(meta.num_heads, meta.num_kv_heads), describe_windows(meta.windows, meta.model_layers)})
    if (!s.empty()) parts << qstr(s);
  return parts.join(QStringLiteral("; "));
}

QString format_weight(double v) {
  for (int digits = 6; digits < 9; ++digits) {
    const QString s = QString::number(v, 'g', digits);
    if (float(s.toDouble()) == float(v)) return s;
  }
  return QString::number(v, 'g', 9);
}

}  // namespace attn::ui
