#include "window/selector_bar.h"

#include <QComboBox>
#include <QToolButton>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QSpinBox>

#include "state/view_state.h"

namespace attn::ui {

namespace {

QIcon colormap_icon(ColorMapId id) {
  QImage img(48, 12, QImage::Format_RGB32);
  const auto& t = colormap_table(id);
  for (int x = 0; x < img.width(); ++x)
    for (int y = 0; y < img.height(); ++y) img.setPixel(x, y, t[x * 255 / (img.width() - 1)]);
  return QIcon(QPixmap::fromImage(img));
}

// Shows the model's layer numbers when a recording holds only some layers (its value stays
// the recording's layer index).
class LayerSpinBox : public QSpinBox {
 public:
  using QSpinBox::QSpinBox;
  std::vector<int> labels;  // model layer of each index; empty = the index itself
  void refresh_text() { lineEdit()->setText(prefix() + textFromValue(value()) + suffix()); }

 protected:
  QString textFromValue(int value) const override {
    return value >= 0 && value < int(labels.size()) ? QString::number(labels[size_t(value)]) : QSpinBox::textFromValue(value);
  }
  int valueFromText(const QString& text) const override {
    if (labels.empty()) return QSpinBox::valueFromText(text);
    const QString bare = strip(text);
    for (size_t i = 0; i < labels.size(); ++i)
      if (QString::number(labels[i]) == bare) return int(i);
    return value();
  }
  QValidator::State validate(QString& text, int& pos) const override {
    if (labels.empty()) return QSpinBox::validate(text, pos);
    const QString bare = strip(text);
    for (int l : labels)
      if (QString::number(l) == bare) return QValidator::Acceptable;
    return QValidator::Intermediate;
  }

 private:
  QString strip(QString text) const {
    if (!suffix().isEmpty() && text.endsWith(suffix())) text.chop(suffix().size());
    if (!prefix().isEmpty() && text.startsWith(prefix())) text.remove(0, prefix().size());
    return text.trimmed();
  }
};

}  // namespace

SelectorBar::SelectorBar(ViewState* state, QWidget* parent) : QWidget(parent), state_(state) {
  auto* l = new QHBoxLayout(this);
  l->setContentsMargins(6, 2, 6, 2);
  layer_ = new LayerSpinBox(this);
  layer_->setToolTip(tr("Layer (Up / Down arrows in a view)"));
  head_ = new QComboBox(this);
  head_->setToolTip(tr("Head, or the mean / max over the layer's heads (Left / Right arrows in a view)"));
  head_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  colormap_ = new QComboBox(this);
  colormap_->setIconSize(QSize(48, 12));
  for (auto id : all_colormaps()) colormap_->addItem(colormap_icon(id), colormap_name(id));
  scaling_ = new QComboBox(this);
  scaling_->addItems({tr("linear"), tr("log"), tr("power")});
  scaling_->setToolTip(tr("How weights map to colours: linear, logarithmic (four decades) or a power t^γ"));
  gamma_ = new QDoubleSpinBox(this);
  gamma_->setRange(0.1, 3.0);
  gamma_->setSingleStep(0.1);
  gamma_->setPrefix(QStringLiteral("γ "));
  gamma_->setToolTip(tr("Exponent of the power scale: below 1 brightens weak attention"));
  range_ = new QComboBox(this);
  range_->addItems({tr("per-head range"), tr("shared range")});
  range_->setToolTip(tr("Colour each head from 0 to its own maximum, or all heads on one scale"));
  l->addWidget(new QLabel(tr("Layer"), this));
  l->addWidget(layer_);
  l->addWidget(new QLabel(tr("Head"), this));
  l->addWidget(head_);
  off_ = new QToolButton(this);
  off_->setObjectName(QStringLiteral("HeadOff"));
  off_->setText(tr("Off"));
  off_->setCheckable(true);
  off_->setToolTip(tr("Switch this head off (or change it as the Interventions panel says) in the next run"));
  l->addWidget(off_);
  l->addSpacing(16);
  l->addWidget(new QLabel(tr("Colours"), this));
  l->addWidget(colormap_);
  l->addWidget(scaling_);
  l->addWidget(gamma_);
  l->addWidget(range_);
  l->addStretch(1);

  connect(layer_, &QSpinBox::valueChanged, this, [this](int v) {
    if (!syncing_) state_->set_layer(v);
  });
  connect(head_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (!syncing_ && i >= 0) state_->set_head(head_->itemData(i).toInt());
  });
  connect(off_, &QToolButton::clicked, this, [this] { state_->toggle_ablated(state_->layer(), state_->head()); });
  connect(state_, &ViewState::ablation_changed, this, &SelectorBar::sync_from_state);
  for (QComboBox* box : {colormap_, scaling_, range_})
    connect(box, &QComboBox::currentIndexChanged, this, [this] { push_colors(); });
  connect(gamma_, &QDoubleSpinBox::valueChanged, this, [this] { push_colors(); });
  connect(state_, &ViewState::recording_changed, this, &SelectorBar::sync_from_state);
  connect(state_, &ViewState::selection_changed, this, &SelectorBar::sync_from_state);
  connect(state_, &ViewState::colors_changed, this, &SelectorBar::sync_from_state);
  sync_from_state();
}

void SelectorBar::sync_from_state() {
  syncing_ = true;
  const auto& rec = state_->recording();
  const int L = rec ? rec->num_layers() : 1, H = rec ? rec->num_heads() : 0;
  static_cast<LayerSpinBox*>(layer_)->labels = rec ? rec->meta().model_layers : std::vector<int>{};
  layer_->setToolTip(rec && !rec->meta().model_layers.empty() ? tr("Layer (only some layers were recorded; Up / Down arrows in a view)")
                                                               : tr("Layer (Up / Down arrows in a view)"));
  layer_->setRange(0, L - 1);
  layer_->setValue(state_->layer());
  // Layers count from 0, as in every view's labels: "5 (0–11)"; with only some layers
  // recorded, "5 (3 of 4 recorded)".
  if (rec && !rec->meta().model_layers.empty()) layer_->setSuffix(tr(" (%1 of %2 recorded)").arg(state_->layer() + 1).arg(L));
  else layer_->setSuffix(rec ? tr(" (0–%1)").arg(L - 1) : QString());
  static_cast<LayerSpinBox*>(layer_)->refresh_text();
  // Heads sharing a key/value head are named by their group: "5 (KV group 2)".
  QStringList names;
  for (int h = 0; h < H; ++h) {
    const QString group = rec ? kv_group_name(rec->meta(), h) : QString();
    names << (group.isEmpty() ? QString::number(h) : QStringLiteral("%1 (%2)").arg(h).arg(group));
  }
  names << tr("mean") << tr("max");
  if (head_names() != names) {
    head_->clear();
    for (int i = 0; i < names.size(); ++i) head_->addItem(names[i], i < H ? i : i == H ? kHeadMean : kHeadMax);
  }
  head_->setCurrentIndex(head_->findData(state_->head()));
  layer_->setEnabled(bool(rec));
  head_->setEnabled(bool(rec));
  off_->setEnabled(rec && state_->head() >= 0);
  off_->setChecked(state_->is_ablated(state_->layer(), state_->head()));
  const ColorSettings& c = state_->colors();
  colormap_->setCurrentIndex(int(c.map));
  scaling_->setCurrentIndex(int(c.scaling));
  gamma_->setValue(c.gamma);
  gamma_->setVisible(c.scaling == Scaling::Power);
  range_->setCurrentIndex(c.shared_range ? 1 : 0);
  syncing_ = false;
}

QStringList SelectorBar::head_names() const {
  QStringList names;
  for (int i = 0; i < head_->count(); ++i) names << head_->itemText(i);
  return names;
}

void SelectorBar::push_colors() {
  if (syncing_) return;
  ColorSettings c;
  c.map = ColorMapId(colormap_->currentIndex());
  c.scaling = Scaling(scaling_->currentIndex());
  c.gamma = gamma_->value();
  c.shared_range = range_->currentIndex() == 1;
  gamma_->setVisible(c.scaling == Scaling::Power);
  state_->set_colors(c);
}

}  // namespace attn::ui
