// The UI tests' main: a QApplication on the offscreen platform (unless one is set) with
// settings in a private folder, then GoogleTest.
#include <QApplication>
#include <QTemporaryDir>
#include <cstdlib>
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  if (!std::getenv("QT_QPA_PLATFORM")) setenv("QT_QPA_PLATFORM", "offscreen", 1);
  QTemporaryDir config;  // QSettings writes here, not into the user's settings
  setenv("XDG_CONFIG_HOME", config.path().toLocal8Bit().constData(), 1);
  if (!std::getenv("XDG_RUNTIME_DIR")) setenv("XDG_RUNTIME_DIR", config.path().toLocal8Bit().constData(), 1);
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("AttnScopeTests"));
  QApplication::setApplicationName(QStringLiteral("AttnScopeTests"));
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
