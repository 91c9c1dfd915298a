#pragma once
// The side panel: model chooser (bundled models, recent models, "Open model folder…") with
// the model's facts, the input — text (and a second sentence for BERT-style pairs), or for
// image models a picture (drop area, "Open image…") — examples, Run / Cancel with progress,
// and for text decoders Generate with its settings (new tokens, greedy or sampled).
#include <QList>
#include <QWidget>

#include "run/run_controller.h"
#include "state/bundled_models.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QCheckBox;
class QDoubleSpinBox;
class QGroupBox;
class QSpinBox;
class QToolButton;
class QStackedWidget;

namespace attn::ui {

class ImageDropArea;

class ModelPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ModelPanel(QWidget* parent = nullptr);

  // Fills the chooser; `current` (a folder) is selected, added when not listed.
  void set_models(const QList<BundledModel>& bundled, const QStringList& recent, const QString& current);
  QString model_dir() const;
  void set_model_info(const ModelPtr& model);  // null: "not loaded"
  void set_recording_info(const QString& text);  // when a recording stands without its model
  // The shown recording's grouped heads and sliding windows in a line below; "" hides it.
  void set_structure_info(const QString& text);
  QString structure_info() const;

  QString text() const;
  QString pair() const;  // empty when not used
  void set_text(const QString& text, const QString& pair = {});
  // Image models take a picture instead of text: the input shows a drop area.
  void set_image_mode(bool images);
  bool image_mode() const { return image_mode_; }
  QString image_path() const;
  void set_image(const QString& path);
  bool truncate() const;
  QPlainTextEdit* text_edit() const { return text_; }
  QPushButton* run_button() const { return run_; }
  QPushButton* cancel_button() const { return cancel_; }
  QToolButton* examples_button() const { return examples_; }
  ImageDropArea* image_area() const { return image_area_; }
  QProgressBar* progress_bar() const { return progress_; }
  QPushButton* generate_button() const { return generate_; }
  QGroupBox* generate_box() const { return generate_box_; }

  // Generate's settings: how many new tokens, greedy or sampled (and how).
  int max_new_tokens() const;
  Sampling sampling() const;
  void set_generation(int max_new_tokens, const Sampling& sampling);
  // While generating, Cancel reads "Stop" (it keeps the tokens so far), and the text so far shows.
  void set_generating(bool generating);
  void set_generated_text(const QString& text);

  void set_busy(bool busy);
  void set_progress(double fraction, const QString& stage);

 Q_SIGNALS:
  void model_chosen(const QString& dir);
  void open_model_requested();
  void run_requested();
  void generate_requested();
  void cancel_requested();
  // A picture was dropped on the input, opened or picked from the examples: run it.
  void image_chosen(const QString& path);

 private:
  void on_choice(int index);
  void set_examples(const QList<Example>& examples);
  void ask_image();

  QComboBox* chooser_;
  QLabel* info_;
  QLabel* structure_;
  QStackedWidget* input_stack_;
  QPlainTextEdit* text_;
  ImageDropArea* image_area_;
  QLabel* pair_label_;
  QLineEdit* pair_;
  QToolButton* examples_;
  QStringList example_texts_;  // the texts the current model suggests
  QCheckBox* truncate_;
  QPushButton* run_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* stage_;
  QGroupBox* generate_box_;
  QPushButton* generate_;
  QSpinBox* new_tokens_;
  QCheckBox* sample_;
  QDoubleSpinBox* temperature_;
  QSpinBox* top_k_;
  QDoubleSpinBox* top_p_;
  QSpinBox* seed_;
  QLabel* generated_;
  QString current_;
  bool pairs_supported_ = false;
  bool image_mode_ = false;
};

}  // namespace attn::ui
