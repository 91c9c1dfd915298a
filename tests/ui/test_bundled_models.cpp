// Where the bundled models are found: the installed prefix first, then the build/source tree,
// then $ATTNSCOPE_DATA_DIR.
#include <gtest/gtest.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

#include "state/bundled_models.h"

using namespace attn::ui;

namespace {

// A model folder with only a config.json, which is what makes a folder a model folder.
void make_model(const QString& dir) {
  ASSERT_TRUE(QDir().mkpath(dir));
  QFile f(QDir(dir).filePath(QStringLiteral("config.json")));
  ASSERT_TRUE(f.open(QIODevice::WriteOnly));
  f.write("{}");
}

QString canon(const QString& path) { return QFileInfo(path).canonicalFilePath(); }

}  // namespace

TEST(BundledModelRoots, InstalledPrefixComesFirstThenSourceTreeThenDataDir) {
  QTemporaryDir prefix, data;
  ASSERT_TRUE(prefix.isValid() && data.isValid());
  make_model(prefix.filePath(QStringLiteral("share/attnscope/models/installed-model")));
  ASSERT_TRUE(QDir().mkpath(prefix.filePath(QStringLiteral("bin"))));
  make_model(data.filePath(QStringLiteral("models/data-dir-model")));
  qputenv("ATTNSCOPE_DATA_DIR", data.path().toLocal8Bit());
  const QStringList roots = model_roots_for(prefix.filePath(QStringLiteral("bin")));
  qunsetenv("ATTNSCOPE_DATA_DIR");
  ASSERT_GE(roots.size(), 2);
  EXPECT_EQ(roots.front(), canon(prefix.filePath(QStringLiteral("share/attnscope/models"))));
  EXPECT_EQ(roots.back(), canon(data.filePath(QStringLiteral("models"))));
  // In between (development builds): the source tree's resources/models, which this test's
  // build compiles in.
  if (QFileInfo(QStringLiteral(ATTN_RESOURCES_DIR "/models")).isDir()) {
    ASSERT_EQ(roots.size(), 3);
    EXPECT_EQ(roots[1], canon(QStringLiteral(ATTN_RESOURCES_DIR "/models")));
  }
}

TEST(BundledModelRoots, WithoutAnInstalledPrefixOrDataDirOnlyTheSourceTreeIsSearched) {
  QTemporaryDir elsewhere;
  ASSERT_TRUE(elsewhere.isValid());
  qunsetenv("ATTNSCOPE_DATA_DIR");
  const QStringList roots = model_roots_for(elsewhere.path());
  for (const QString& root : roots) EXPECT_EQ(root, canon(QStringLiteral(ATTN_RESOURCES_DIR "/models")));
}
