#include "window/model_panel.h"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSpinBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
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

#include <limits>

#include "model/family_table.h"
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

  // Generate (text decoders): continue the text, recording every step for the timeline.
  generate_box_ = new QGroupBox(tr("Generate"), this);
  auto* gen = new QFormLayout(generate_box_);
  generate_ = new QPushButton(tr("Generate"), generate_box_);
  generate_->setToolTip(tr("Continue the text a token at a time and step through it in the Timeline (Ctrl+G)"));
  new_tokens_ = new QSpinBox(generate_box_);
  new_tokens_->setRange(1, 4096);
  new_tokens_->setValue(20);
  new_tokens_->setToolTip(tr("The most tokens to generate; it stops earlier at the model's end-of-sequence token"));
  auto* row = new QHBoxLayout;
  row->addWidget(generate_, 1);
  row->addWidget(new_tokens_);
  row->addWidget(new QLabel(tr("tokens"), generate_box_));
  gen->addRow(row);
  sample_ = new QCheckBox(tr("Sample (else the most probable token)"), generate_box_);
  gen->addRow(sample_);
  temperature_ = new QDoubleSpinBox(generate_box_);
  temperature_->setRange(0.05, 5.0);
  temperature_->setSingleStep(0.1);
  temperature_->setValue(1.0);
  temperature_->setToolTip(tr("Divides the logits: below 1 sharper, above 1 flatter"));
  top_k_ = new QSpinBox(generate_box_);
  top_k_->setRange(0, 100000);
  top_k_->setValue(50);
  top_k_->setSpecialValueText(tr("all"));
  top_k_->setToolTip(tr("Draw only from the K most probable tokens (0: all)"));
  top_p_ = new QDoubleSpinBox(generate_box_);
  top_p_->setRange(0.01, 1.0);
  top_p_->setSingleStep(0.05);
  top_p_->setValue(1.0);
  top_p_->setToolTip(tr("Draw only from the fewest tokens whose probability reaches P"));
  seed_ = new QSpinBox(generate_box_);
  seed_->setRange(0, std::numeric_limits<int>::max());
  seed_->setToolTip(tr("The same seed draws the same tokens"));
  auto* settings = new QWidget(generate_box_);  // shown while sampling
  auto* grid = new QGridLayout(settings);
  grid->setContentsMargins(0, 0, 0, 0);
  grid->addWidget(new QLabel(tr("Temperature"), settings), 0, 0);
  grid->addWidget(temperature_, 0, 1);
  grid->addWidget(new QLabel(tr("Top-k"), settings), 0, 2);
  grid->addWidget(top_k_, 0, 3);
  grid->addWidget(new QLabel(tr("Top-p"), settings), 1, 0);
  grid->addWidget(top_p_, 1, 1);
  grid->addWidget(new QLabel(tr("Seed"), settings), 1, 2);
  grid->addWidget(seed_, 1, 3);
  gen->addRow(settings);
  generated_ = new QLabel(generate_box_);
  generated_->setWordWrap(true);
  generated_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  generated_->setVisible(false);
  gen->addRow(generated_);
  auto sampling_enabled = [settings](bool on) { settings->setVisible(on); };
  sampling_enabled(false);
  connect(sample_, &QCheckBox::toggled, this, sampling_enabled);
  connect(generate_, &QPushButton::clicked, this, &ModelPanel::generate_requested);
  generate_box_->setVisible(false);
  layout->addWidget(generate_box_);

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
    const FamilySpec* family = current_.isEmpty() ? nullptr : ModelConfig::peek_family(fspath(current_));
    generate_box_->setVisible(family && family->causal);
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
  generate_box_->setVisible(model->can_generate());
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
  // A model made for particular inputs (a date translator) opens on its first example, unless
  // the box holds text of the user's own (neither empty nor another model's example).
  QStringList texts;
  for (const Example& e : examples)
    if (e.image.isEmpty() && !e.text.isEmpty()) texts << e.text;
  if (!image_mode_ && !texts.isEmpty() && (text().trimmed().isEmpty() || example_texts_.contains(text())) && text() != texts.first()) {
    const Example& first = *std::find_if(examples.begin(), examples.end(), [](const Example& e) { return e.image.isEmpty() && !e.text.isEmpty(); });
    set_text(first.text, first.pair);
  }
  example_texts_ = texts;
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
    set_generating(false);
    progress_->setValue(0);
    stage_->clear();
  }
}

int ModelPanel::max_new_tokens() const { return new_tokens_->value(); }

Sampling ModelPanel::sampling() const {
  Sampling s;
  s.greedy = !sample_->isChecked();
  s.temperature = temperature_->value();
  s.top_k = top_k_->value();
  s.top_p = top_p_->value();
  s.seed = uint64_t(seed_->value());
  return s;
}

void ModelPanel::set_generation(int max_new_tokens, const Sampling& s) {
  new_tokens_->setValue(max_new_tokens);
  sample_->setChecked(!s.greedy);
  temperature_->setValue(s.temperature);
  top_k_->setValue(s.top_k);
  top_p_->setValue(s.top_p);
  seed_->setValue(int(std::min<uint64_t>(s.seed, uint64_t(std::numeric_limits<int>::max()))));
}

void ModelPanel::set_generating(bool generating) {
  cancel_->setText(generating ? tr("Stop") : tr("Cancel"));
  cancel_->setToolTip(generating ? tr("Stop generating and keep the tokens so far") : QString());
  if (generating) set_generated_text({});
}

void ModelPanel::set_generated_text(const QString& text) {
  generated_->setText(text.isEmpty() ? QString() : tr("<i>…%1</i>").arg(text.right(200).toHtmlEscaped()));
  generated_->setVisible(!text.isEmpty());
}

void ModelPanel::set_progress(double fraction, const QString& stage) {
  progress_->setValue(int(fraction * 1000));
  stage_->setText(stage);
}

}  // namespace attn::ui
