#pragma once
// Where AttnScope finds its bundled models and what it knows about a path the user hands it
// (a model folder, a recording file).
#include <QList>
#include <QString>
#include <QStringList>
#include <optional>
#include <utility>

namespace attn::ui {

struct Example {
  QString title;  // short name for the menu (the text itself, or the picture's name, when absent)
  QString text;
  QString pair;   // second sentence, may be empty
  QString image;  // image models: an absolute picture path instead of text
};

struct BundledModel {
  QString name;  // folder name
  QString dir;   // absolute path
};

// Folders searched for bundled models, in order: <exe>/../share/attnscope/models (installed,
// relative to the prefix), <exe>/../../resources/models (a build tree inside the source tree),
// the source tree's resources/models (development builds elsewhere), then
// $ATTNSCOPE_DATA_DIR/models. Existing ones only, each once. A model found in an earlier
// folder hides one of the same name in a later one.
QStringList model_roots_for(const QString& exe_dir);
// model_roots_for() the running executable's folder (needs a QCoreApplication).
QStringList model_roots();
// Every model folder (one with a config.json) under the roots, by name, without duplicates.
QList<BundledModel> find_bundled_models();
// The examples a model folder suggests in its attnscope.json ({"examples": [...]}, each a
// string or {"title", "text", "pair"}, or for image models {"title", "image"} / a picture
// path, relative to the folder); empty when there is none or it cannot be read. An image
// model without listed examples offers the pictures in its images/ or examples/ folder.
QList<Example> read_examples(const QString& model_dir);

// A head the model folder's attnscope.json names ({"heads": {"alignment": [layer, head]}}), or
// nullopt when it names none by that name or cannot be read.
std::optional<std::pair<int, int>> named_head(const QString& model_dir, const QString& name);

bool is_model_folder(const QString& path);   // has config.json
// Whether a model folder holds an image model (config.json's model_type vit or deit), read
// without loading it.
bool folder_takes_images(const QString& dir);
// A model folder the path belongs to: the folder itself, or the folder of its config.json /
// model.safetensors; empty when neither.
QString model_folder_for(const QString& path);

}  // namespace attn::ui
