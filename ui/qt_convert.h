#pragma once
// The one place where core types become Qt types: strings, paths, tokens for display, and
// the shared, immutable values (recording, analysis) that cross from workers into the UI.
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <filesystem>
#include <memory>
#include <string>

#include "record/recording.h"

namespace attn::ui {

using RecordingPtr = std::shared_ptr<const AttentionRecording>;

inline QString qstr(const std::string& s) { return QString::fromStdString(s); }
inline std::string stdstr(const QString& s) { return s.toStdString(); }
inline QString qpath(const std::filesystem::path& p) { return QString::fromStdString(p.string()); }
inline std::filesystem::path fspath(const QString& s) { return std::filesystem::path(s.toStdString()); }

// A token as shown on an axis: spaces at the ends become "·", newlines "⏎", tabs "⇥";
// empty tokens show as "∅"; anything over `max_chars` is elided with "…".
QString token_label(const std::string& token, int max_chars = 14);
// The labels of every token of a recording, with their index when `numbered` ("3 cat").
QStringList token_labels(const RecordingMeta& meta, int max_chars = 14);
// A token quoted for tooltips: “ cat” with its index: "“·cat” (3)".
QString token_quoted(const RecordingMeta& meta, int index);

// A picture's title with how its recording is read, when it is derived (analysis/reading.h,
// its "reading" metadata), after `separator` (" · ", or "\n" for a second line where the
// title has room): "bert · layer 2 · head 1\nspecial tokens hidden, rows renormalised".
QString with_reading(const QString& title, const RecordingMeta& meta, const QString& separator = QStringLiteral(" · "));

// The head selector's values: one head (>= 0), or kHeadMean / kHeadMax (record/recording.h).
QString head_name(int head);  // "head 3", "mean of heads", "max of heads"
// The same, naming the key/value group of a grouped-query model: "head 5 (KV group 2)".
QString head_name(const RecordingMeta& meta, int head);

// Grouped-query attention as the views show it: query heads per key/value head when the
// heads come in groups (0 < KV < H, H a multiple of KV), else 0 (plain multi-head).
int kv_group_size(const RecordingMeta& meta);
QString kv_group_name(const RecordingMeta& meta, int head);  // "KV group 2", or "" without groups
// A recorded layer's attention span: "sliding window 32" or "full attention" when the
// recording has sliding windows, "" when no layer slides.
QString window_name(const RecordingMeta& meta, int layer);
// describe_kv_groups and describe_windows (record/recording.h) in one line, "" for neither.
QString describe_structure(const RecordingMeta& meta);

// The shortest decimal that reads back as the same float: the exact stored weight.
QString format_weight(double v);

}  // namespace attn::ui

Q_DECLARE_METATYPE(attn::ui::RecordingPtr)
