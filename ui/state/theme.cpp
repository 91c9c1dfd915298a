#include "state/theme.h"

#include <QApplication>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>
#include <cmath>

namespace attn::ui {

const Theme& theme(bool dark) {
  static const Theme light{false, QColor(255, 255, 255), QColor(30, 30, 30), QColor(110, 110, 110), QColor(225, 225, 225),
                           QColor(0, 120, 215), QColor(255, 160, 0), QColor(255, 255, 255), QColor(0, 0, 0, 150),
                           QColor(215, 35, 35), QColor(0, 114, 178), QColor(213, 94, 0)};
  static const Theme night{true, QColor(37, 38, 42), QColor(225, 225, 225), QColor(150, 150, 155), QColor(62, 63, 70),
                           QColor(80, 170, 255), QColor(255, 180, 40), QColor(255, 255, 255), QColor(0, 0, 0, 150),
                           QColor(255, 95, 95), QColor(86, 180, 233), QColor(230, 159, 0)};
  return dark ? night : light;
}

void apply_app_theme(bool dark) {
  QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  QPalette p;
  if (dark) {
    const QColor window(45, 46, 50), base(30, 31, 34), text(225, 225, 225), disabled(120, 120, 125);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, window);
    p.setColor(QPalette::ToolTipBase, QColor(60, 61, 66));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, disabled);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, window);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::red);
    p.setColor(QPalette::Link, QColor(80, 170, 255));
    p.setColor(QPalette::Highlight, QColor(42, 130, 218));
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::Mid, QColor(70, 71, 76));
    p.setColor(QPalette::Dark, QColor(25, 25, 28));
    p.setColor(QPalette::Light, QColor(80, 80, 85));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
      p.setColor(QPalette::Disabled, role, disabled);
  } else {
    p = QApplication::style()->standardPalette();
  }
  QApplication::setPalette(p);
}

QColor head_color(int h, int count) {
  // Tableau-like categorical colours first, then evenly spaced hues.
  static const QColor base[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),  QColor(214, 39, 40),
                                QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(127, 127, 127),
                                QColor(188, 189, 34),  QColor(23, 190, 207), QColor(57, 59, 121),  QColor(173, 73, 74)};
  if (count <= 12 && h < 12) return base[h];
  return QColor::fromHsvF(std::fmod(h * 0.61803398875, 1.0), 0.65, 0.85);
}

}  // namespace attn::ui
