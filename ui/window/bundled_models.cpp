#include "window/bundled_models.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

namespace attn::ui {

QStringList model_roots() {
  QStringList candidates;
  const QString env = qEnvironmentVariable("ATTNSCOPE_RESOURCES");
  if (!env.isEmpty()) candidates << QDir(env).filePath(QStringLiteral("models"));
  const QString exe = QCoreApplication::applicationDirPath();
  if (!exe.isEmpty()) {
    candidates << QDir(exe).filePath(QStringLiteral("../../resources/models"));
    candidates << QDir(exe).filePath(QStringLiteral("../share/attnscope/models"));
  }
#ifdef ATTN_SOURCE_RESOURCES
  candidates << QDir(QStringLiteral(ATTN_SOURCE_RESOURCES)).filePath(QStringLiteral("models"));
#endif
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

QList<Example> read_examples(const QString& model_dir) {
  QList<Example> out;
  QFile f(QDir(model_dir).filePath(QStringLiteral("attnscope.json")));
  if (!f.open(QIODevice::ReadOnly)) return out;
  const QJsonDocument doc = QJsonDocument::fromJson(f.readAll());
  for (const QJsonValue& v : doc.object().value(QStringLiteral("examples")).toArray()) {
    Example e;
    if (v.isString()) {
      e.text = v.toString();
    } else if (v.isObject()) {
      const QJsonObject o = v.toObject();
      e.title = o.value(QStringLiteral("title")).toString();
      e.text = o.value(QStringLiteral("text")).toString();
      e.pair = o.value(QStringLiteral("pair")).toString();
    }
    if (e.text.isEmpty()) continue;
    if (e.title.isEmpty()) e.title = e.text.size() > 60 ? e.text.left(59) + QStringLiteral("…") : e.text;
    out.push_back(e);
  }
  return out;
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
