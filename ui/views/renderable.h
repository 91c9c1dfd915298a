#pragma once
// A view that can draw itself at any size, for PNG / SVG / PDF export from the GUI and the
// command line (the same code draws both).
#include <QSize>
#include <QString>

class QCPPainter;

namespace attn::ui {

class Renderable {
 public:
  virtual ~Renderable() = default;
  // The figure's title ("gpt2 · layer 3 · head 5").
  virtual QString render_title() const = 0;
  // A good default export size in logical pixels.
  virtual QSize render_size() const { return {1000, 800}; }
  // Draws the whole view, title, labels and colour scale included, into (0, 0, size).
  virtual void render(QCPPainter& painter, const QSize& size) = 0;
};

}  // namespace attn::ui
