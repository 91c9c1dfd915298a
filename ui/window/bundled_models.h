#pragma once
// Where AttnScope finds its bundled models and what it knows about a path the user hands it
// (a model folder, a recording file).
#include <QList>
#include <QString>
#include <QStringList>

namespace attn::ui {

struct Example {
  QString title;  // short name for the menu (the text itself when absent)
  QString text;
  QString pair;   // second sentence, may be empty
};

struct BundledModel {
  QString name;  // folder name
  QString dir;   // absolute path
};

// Folders searched for bundled models, in order: $ATTNSCOPE_RESOURCES/models,
// <exe>/../../resources/models (build tree), <exe>/../share/attnscope/models (installed),
// and the source tree's resources/models (development builds). Existing ones only.
QStringList model_roots();
// Every model folder (one with a config.json) under the roots, by name, without duplicates.
QList<BundledModel> find_bundled_models();
// The examples a model folder suggests in its attnscope.json ({"examples": [...]}, each a
// string or {"title", "text", "pair"}); empty when there is none or it cannot be read.
QList<Example> read_examples(const QString& model_dir);

bool is_model_folder(const QString& path);   // has config.json
// A model folder the path belongs to: the folder itself, or the folder of its config.json /
// model.safetensors; empty when neither.
QString model_folder_for(const QString& path);

}  // namespace attn::ui
