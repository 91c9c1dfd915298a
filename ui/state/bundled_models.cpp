#include "state/bundled_models.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

#include "model/family_table.h"
#include "model/model_config.h"
#include "qt_convert.h"

namespace attn::ui {

QStringList model_roots_for(const QString& exe_dir) {
  QStringList candidates;
  if (!exe_dir.isEmpty()) {
    candidates << QDir(exe_dir).filePath(QStringLiteral("../share/attnscope/models"));
    candidates << QDir(exe_dir).filePath(QStringLiteral("../../resources/models"));
  }
#ifdef ATTN_SOURCE_RESOURCES
  candidates << QDir(QStringLiteral(ATTN_SOURCE_RESOURCES)).filePath(QStringLiteral("models"));
#endif
  const QString env = qEnvironmentVariable("ATTNSCOPE_DATA_DIR");
  if (!env.isEmpty()) candidates << QDir(env).filePath(QStringLiteral("models"));
  QStringList roots;
  QSet<QString> seen;
  for (const QString& c : candidates) {
    const QString canon = QFileInfo(c).canonicalFilePath();
    if (canon.isEmpty() || seen.contains(canon) || !QFileInfo(canon).isDir()) continue;
    seen.insert(canon);
    roots << canon;
  }
  return roots;
}

QStringList model_roots() { return model_roots_for(QCoreApplication::applicationDirPath()); }

QList<BundledModel> find_bundled_models() {
  QList<BundledModel> out;
  QSet<QString> names;
  for (const QString& root : model_roots()) {
    const QDir dir(root);
    for (const QString& name : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
      const QString path = dir.filePath(name);
      if (!is_model_folder(path) || names.contains(name)) continue;
      names.insert(name);
      out.push_back({name, QFileInfo(path).canonicalFilePath()});
    }
  }
  return out;
}

namespace {

bool looks_like_picture(const QString& s) {
  static const QStringList suffixes = {"png", "jpg", "jpeg", "bmp"};
  return suffixes.contains(QFileInfo(s).suffix().toLower());
}

// A picture path of attnscope.json, relative to the model folder; empty when it is missing.
QString picture_in(const QDir& dir, const QString& relative) {
  const QString path = QFileInfo(dir.filePath(relative)).absoluteFilePath();
  return QFileInfo(path).isFile() ? path : QString();
}

}  // namespace

QList<Example> read_examples(const QString& model_dir) {
  QList<Example> out;
  const QDir dir(model_dir);
  const bool images = folder_takes_images(model_dir);
  QFile f(dir.filePath(QStringLiteral("attnscope.json")));
  if (f.open(QIODevice::ReadOnly)) {
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll());
    for (const QJsonValue& v : doc.object().value(QStringLiteral("examples")).toArray()) {
      Example e;
      if (v.isString()) {
        if (images && looks_like_picture(v.toString())) e.image = picture_in(dir, v.toString());
        else e.text = v.toString();
      } else if (v.isObject()) {
        const QJsonObject o = v.toObject();
        e.title = o.value(QStringLiteral("title")).toString();
        e.text = o.value(QStringLiteral("text")).toString();
        e.pair = o.value(QStringLiteral("pair")).toString();
        for (const char* key : {"image", "path", "file"})
          if (e.image.isEmpty() && o.value(QLatin1String(key)).isString()) e.image = picture_in(dir, o.value(QLatin1String(key)).toString());
        if (!e.image.isEmpty()) e.text.clear();
      }
      if (images != !e.image.isEmpty()) continue;  // a picture for an image model, a text for a text model
      if (!images && e.text.isEmpty()) continue;
      if (e.title.isEmpty())
        e.title = images ? QFileInfo(e.image).completeBaseName() : e.text.size() > 60 ? e.text.left(59) + QStringLiteral("…") : e.text;
      out.push_back(e);
    }
  }
  if (images && out.isEmpty())
    for (const QString& sub : {QStringLiteral("images"), QStringLiteral("examples")}) {
      const QDir d(dir.filePath(sub));
      for (const QString& name : d.entryList(QDir::Files, QDir::Name))
        if (looks_like_picture(name)) out.push_back({QFileInfo(name).completeBaseName(), {}, {}, d.absoluteFilePath(name)});
    }
  return out;
}

std::optional<std::pair<int, int>> named_head(const QString& model_dir, const QString& name) {
  QFile f(QDir(model_dir).filePath(QStringLiteral("attnscope.json")));
  if (!f.open(QIODevice::ReadOnly)) return std::nullopt;
  const QJsonArray h = QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("heads")).toObject().value(name).toArray();
  if (h.size() != 2 || !h[0].isDouble() || !h[1].isDouble() || h[0].toInt() < 0 || h[1].toInt() < 0) return std::nullopt;
  return std::make_pair(h[0].toInt(), h[1].toInt());
}

bool folder_takes_images(const QString& dir) {
  const FamilySpec* family = ModelConfig::peek_family(fspath(dir));
  return family && family->vision;
}

bool is_model_folder(const QString& path) { return QFileInfo(QDir(path).filePath(QStringLiteral("config.json"))).isFile(); }

QString model_folder_for(const QString& path) {
  const QFileInfo info(path);
  if (info.isDir()) return is_model_folder(path) ? info.canonicalFilePath() : QString();
  const QString name = info.fileName();
  if ((name == QLatin1String("config.json") || name == QLatin1String("model.safetensors") ||
       name.startsWith(QLatin1String("model-0")) || name.endsWith(QLatin1String(".index.json"))) &&
      is_model_folder(info.absolutePath()))
    return QFileInfo(info.absolutePath()).canonicalFilePath();
  return {};
}

}  // namespace attn::ui
