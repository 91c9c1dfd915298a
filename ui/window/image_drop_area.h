#pragma once
// The image models' input: the chosen picture as a thumbnail (small pictures enlarged with
// crisp pixels), or an invitation to drop one. Dropping a picture file on it or clicking it
// chooses a picture.
#include <QImage>
#include <QWidget>

namespace attn::ui {

class ImageDropArea : public QWidget {
  Q_OBJECT
 public:
  explicit ImageDropArea(QWidget* parent = nullptr);

  // Shows `path` (its thumbnail is read at once; an unreadable file shows its name only).
  void set_path(const QString& path);
  const QString& path() const { return path_; }
  QSize sizeHint() const override { return {260, 220}; }

 Q_SIGNALS:
  void dropped(const QString& path);
  void clicked();

 protected:
  void paintEvent(QPaintEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;

 private:
  QString path_;
  QImage thumbnail_;
};

// True for files Qt can read as pictures (by content, falling back to the suffix).
bool is_picture_file(const QString& path);

}  // namespace attn::ui
