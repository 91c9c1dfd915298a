#include "window/model_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStackedWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include "window/image_drop_area.h"

namespace attn::ui {

namespace {

enum Role { DirRole = Qt::UserRole + 1 };
const QString kOpenFolder = QStringLiteral("::open");

QString compact_count(qint64 n) {
  if (n >= 1000000000) return QString::number(n / 1e9, 'f', 2) + QStringLiteral(" B");
  if (n >= 1000000) return QString::number(n / 1e6, 'f', 1) + QStringLiteral(" M");
  if (n >= 1000) return QString::number(n / 1e3, 'f', 1) + QStringLiteral(" k");
  return QString::number(n);
}

}  // namespace

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* model_box = new QGroupBox(tr("Model"), this);
  auto* model_layout = new QVBoxLayout(model_box);
  chooser_ = new QComboBox(model_box);
  chooser_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  chooser_->setMinimumContentsLength(18);
  chooser_->setToolTip(tr("Bundled and recent models; or open a Hugging Face model folder"));
  info_ = new QLabel(tr("No model loaded."), model_box);
  info_->setWordWrap(true);
  info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  model_layout->addWidget(chooser_);
  model_layout->addWidget(info_);
  structure_ = new QLabel(model_box);
  structure_->setObjectName(QStringLiteral("StructureInfo"));
  structure_->setWordWrap(true);
  structure_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  structure_->setVisible(false);
  model_layout->addWidget(structure_);
  layout->addWidget(model_box);

  auto* input_box = new QGroupBox(tr("Input"), this);
  auto* input_layout = new QVBoxLayout(input_box);
  input_stack_ = new QStackedWidget(input_box);
  auto* text_page = new QWidget(input_stack_);
  auto* text_layout = new QVBoxLayout(text_page);
  text_layout->setContentsMargins(0, 0, 0, 0);
  text_ = new QPlainTextEdit(input_box);
  text_->setPlaceholderText(tr("Type a sentence, then Run (Ctrl+Enter)"));
  text_->setTabChangesFocus(true);
  pair_label_ = new QLabel(tr("Second sentence (optional)"), input_box);
  pair_ = new QLineEdit(input_box);
  pair_->setPlaceholderText(tr("for sentence-pair models (BERT)"));
  examples_ = new QToolButton(input_box);
  examples_->setText(tr("Examples"));
  examples_->setPopupMode(QToolButton::InstantPopup);
  examples_->setMenu(new QMenu(examples_));
  truncate_ = new QCheckBox(tr("Cut text longer than the model takes"), input_box);
  truncate_->setChecked(true);
  text_layout->addWidget(text_, 1);
  text_layout->addWidget(pair_label_);
  text_layout->addWidget(pair_);
  auto* image_page = new QWidget(input_stack_);
  auto* image_layout = new QVBoxLayout(image_page);
  image_layout->setContentsMargins(0, 0, 0, 0);
  image_area_ = new ImageDropArea(image_page);
  auto* open_image = new QPushButton(tr("Open image…"), image_page);
  open_image->setToolTip(tr("Choose a picture (PNG, JPEG, BMP) and run the model on it"));
  image_layout->addWidget(image_area_, 1);
  image_layout->addWidget(open_image);
  input_stack_->addWidget(text_page);
  input_stack_->addWidget(image_page);
  input_layout->addWidget(input_stack_, 1);
  auto* options = new QHBoxLayout;
  options->addWidget(truncate_, 1);
  options->addWidget(examples_);
  input_layout->addLayout(options);
  auto* buttons = new QHBoxLayout;
  run_ = new QPushButton(tr("Run"), input_box);
  run_->setToolTip(tr("Run the model on the text (Ctrl+Enter)"));
  run_->setDefault(true);
  cancel_ = new QPushButton(tr("Cancel"), input_box);
  cancel_->setEnabled(false);
  buttons->addWidget(run_, 1);
  buttons->addWidget(cancel_);
  input_layout->addLayout(buttons);
  progress_ = new QProgressBar(input_box);
  progress_->setRange(0, 1000);
  progress_->setValue(0);
  progress_->setTextVisible(false);
  progress_->setMaximumHeight(8);
  stage_ = new QLabel(input_box);
  stage_->setEnabled(false);
  input_layout->addWidget(progress_);
  input_layout->addWidget(stage_);
  layout->addWidget(input_box, 1);

  connect(chooser_, &QComboBox::activated, this, &ModelPanel::on_choice);
  connect(run_, &QPushButton::clicked, this, &ModelPanel::run_requested);
  connect(cancel_, &QPushButton::clicked, this, &ModelPanel::cancel_requested);
  connect(open_image, &QPushButton::clicked, this, &ModelPanel::ask_image);
  connect(image_area_, &ImageDropArea::clicked, this, &ModelPanel::ask_image);
  connect(image_area_, &ImageDropArea::dropped, this, [this](const QString& path) {
    set_image(path);
    Q_EMIT image_chosen(path);
  });
  set_model_info(nullptr);
}

void ModelPanel::set_models(const QList<BundledModel>& bundled, const QStringList& recent, const QString& current) {
  const QSignalBlocker block(chooser_);
  chooser_->clear();
  QStringList listed;
  for (const auto& m : bundled) {
    chooser_->addItem(m.name, m.dir);
    chooser_->setItemData(chooser_->count() - 1, tr("Bundled: %1").arg(m.dir), Qt::ToolTipRole);
    listed << m.dir;
  }
  QStringList others = recent;
  if (!current.isEmpty() && !others.contains(current)) others.prepend(current);
  bool separated = false;
  for (const QString& dir : others) {
    if (listed.contains(dir)) continue;
    if (!separated && chooser_->count() > 0) chooser_->insertSeparator(chooser_->count());
    separated = true;
    chooser_->addItem(QFileInfo(dir).fileName(), dir);
    chooser_->setItemData(chooser_->count() - 1, dir, Qt::ToolTipRole);
    listed << dir;
  }
  if (chooser_->count() > 0) chooser_->insertSeparator(chooser_->count());
  chooser_->addItem(tr("Open model folder…"), kOpenFolder);
  const int at = chooser_->findData(current);
  chooser_->setCurrentIndex(at >= 0 ? at : (bundled.isEmpty() && recent.isEmpty() ? chooser_->count() - 1 : 0));
  current_ = current;
  if (at < 0 && current.isEmpty() && chooser_->currentData().toString() != kOpenFolder) current_ = chooser_->currentData().toString();
}

QString ModelPanel::model_dir() const { return current_; }

void ModelPanel::on_choice(int index) {
  const QString dir = chooser_->itemData(index).toString();
  if (dir == kOpenFolder) {
    const int at = chooser_->findData(current_);
    if (at >= 0) chooser_->setCurrentIndex(at);
    Q_EMIT open_model_requested();
    return;
  }
  current_ = dir;
  Q_EMIT model_chosen(dir);
}

void ModelPanel::set_model_info(const ModelPtr& model) {
  if (!model) {
    info_->setText(current_.isEmpty() ? tr("No model chosen.") : tr("Loading when you run."));
    pairs_supported_ = false;
    pair_->setEnabled(false);
    pair_label_->setEnabled(false);
    set_image_mode(!current_.isEmpty() && folder_takes_images(current_));  // known before loading
    set_examples(current_.isEmpty() ? QList<Example>() : read_examples(current_));
    return;
  }
  const auto& c = model->config();
  info_->setText(tr("<b>%1</b><br>%2 · %3<br>%4 layers × %5 heads · hidden %6<br>%7 parameters · up to %8 tokens")
                     .arg(qstr(model->name()).toHtmlEscaped(), qstr(c.family),
                          qstr(c.architecture.empty() ? head_kind_name(c.head) : c.architecture))
                     .arg(c.num_layers)
                     .arg(c.num_heads)
                     .arg(c.hidden_size)
                     .arg(compact_count(model->parameter_count()))
                     .arg(c.max_positions));
  info_->setToolTip(qpath(model->dir()));
  set_image_mode(model->takes_images());
  pairs_supported_ = !model->takes_images() && model->tokenizer().supports_pairs();
  pair_->setEnabled(pairs_supported_);
  pair_label_->setEnabled(pairs_supported_);
  set_examples(read_examples(qpath(model->dir())));
}

void ModelPanel::set_recording_info(const QString& text) { info_->setText(text); }

QString ModelPanel::structure_info() const { return structure_->isHidden() ? QString() : structure_->text(); }

void ModelPanel::set_structure_info(const QString& text) {
  structure_->setText(text);
  structure_->setVisible(!text.isEmpty());
}

void ModelPanel::set_examples(const QList<Example>& examples) {
  QMenu* menu = examples_->menu();
  menu->clear();
  for (const Example& e : examples)
    connect(menu->addAction(e.title), &QAction::triggered, this, [this, e] {
      if (e.image.isEmpty()) {
        set_text(e.text, e.pair);
        return;
      }
      set_image(e.image);
      Q_EMIT image_chosen(e.image);
    });
  examples_->setEnabled(!examples.isEmpty());
  examples_->setToolTip(examples.isEmpty() ? tr("This model suggests no examples")
                                           : image_mode_ ? tr("Pictures this model was made to show") : tr("Texts this model was made to show"));
}

void ModelPanel::set_image_mode(bool images) {
  image_mode_ = images;
  input_stack_->setCurrentIndex(images ? 1 : 0);
  truncate_->setVisible(!images);
  run_->setToolTip(images ? tr("Run the model on the picture (Ctrl+Enter)") : tr("Run the model on the text (Ctrl+Enter)"));
}

QString ModelPanel::image_path() const { return image_area_->path(); }

void ModelPanel::set_image(const QString& path) { image_area_->set_path(path); }

void ModelPanel::ask_image() {
  const QString start = image_path().isEmpty() ? QString() : QFileInfo(image_path()).absolutePath();
  const QString path = QFileDialog::getOpenFileName(this, tr("Open a picture"), start, tr("Pictures (*.png *.jpg *.jpeg *.bmp);;All files (*)"));
  if (path.isEmpty()) return;
  set_image(path);
  Q_EMIT image_chosen(path);
}

QString ModelPanel::text() const { return text_->toPlainText(); }
QString ModelPanel::pair() const { return pairs_supported_ ? pair_->text() : QString(); }

void ModelPanel::set_text(const QString& text, const QString& pair) {
  text_->setPlainText(text);
  pair_->setText(pair);
}

bool ModelPanel::truncate() const { return truncate_->isChecked(); }

void ModelPanel::set_busy(bool busy) {
  cancel_->setEnabled(busy);
  if (!busy) {
    progress_->setValue(0);
    stage_->clear();
  }
}

void ModelPanel::set_progress(double fraction, const QString& stage) {
  progress_->setValue(int(fraction * 1000));
  stage_->setText(stage);
}

}  // namespace attn::ui
