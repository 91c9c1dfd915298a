#include "window/main_window.h"

#include <QApplication>
#include <algorithm>
#include <utility>
#include <QCloseEvent>
#include <QDateTime>
#include <QDockWidget>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QKeyEvent>
#include <QLabel>
#include <QFileDialog>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QVBoxLayout>

#include "record/raw_export.h"
#include "run/compare_cache.h"
#include "session/generate.h"
#include "teaching/teaching_window.h"
#include "views/head_view.h"
#include "views/heatmap_view.h"
#include "views/model_view.h"
#include "views/overlay_view.h"
#include "views/prediction_panel.h"
#include "views/rollout_view.h"
#include "views/stats_view.h"
#include "views/timeline_view.h"
#include "views/view_table.h"
#include "window/export_all_heads.h"
#include "window/image_drop_area.h"
#include "window/intervention_panel.h"
#include "window/model_panel.h"
#include "window/selector_bar.h"
#include "state/bundled_models.h"
#include "state/theme.h"
#include "state/reading_json.h"
#include "state/view_state.h"

namespace attn::ui {

namespace {
constexpr int kMaxRecent = 8;
// Recording metadata key holding what the window showed when it was saved.
const char* const kViewKey = "attnscope.view";
}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent), state_(new ViewState(this)), runs_(new RunController(this)), io_(new JobRunner(this)) {
  setObjectName(QStringLiteral("MainWindow"));
  setAcceptDrops(true);
  build_views();
  build_menus();
  connect_runs();
  restore_settings();
  update_title();
  update_summary();
}

MainWindow::~MainWindow() = default;

void MainWindow::build_views() {
  panel_ = new ModelPanel(this);
  auto* dock = new QDockWidget(tr("Model and input"), this);
  dock->setObjectName(QStringLiteral("ModelDock"));
  dock->setWidget(panel_);
  dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
  addDockWidget(Qt::LeftDockWidgetArea, dock);
  prediction_panel_ = new PredictionPanel(state_, this);
  auto* prediction_dock = new QDockWidget(tr("Prediction"), this);
  prediction_dock->setObjectName(QStringLiteral("PredictionDock"));
  prediction_dock->setWidget(prediction_panel_);
  prediction_dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable | QDockWidget::DockWidgetClosable);
  addDockWidget(Qt::LeftDockWidgetArea, prediction_dock);
  prediction_panel_->setContextMenuPolicy(Qt::ActionsContextMenu);
  auto* export_prediction = new QAction(tr("Export as image…"), prediction_panel_);
  connect(export_prediction, &QAction::triggered, this, [this] { ask_export(prediction_panel_, tr("prediction")); });
  prediction_panel_->addAction(export_prediction);
  interventions_ = new InterventionPanel(state_, this);
  auto* intervention_dock = new QDockWidget(tr("Interventions"), this);
  intervention_dock->setObjectName(QStringLiteral("InterventionDock"));
  intervention_dock->setWidget(interventions_);
  intervention_dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable | QDockWidget::DockWidgetClosable);
  addDockWidget(Qt::LeftDockWidgetArea, intervention_dock);
  // Prediction and Interventions share one place (the side bar is tall enough for one of them
  // beside the input): choosing heads brings the Interventions forward, and a run that changed
  // heads the prediction's before → after.
  tabifyDockWidget(prediction_dock, intervention_dock);
  prediction_dock->raise();
  connect(state_, &ViewState::ablation_changed, this, [this, intervention_dock] {
    if (state_->ablation_pending()) intervention_dock->raise();
  });
  connect(state_, &ViewState::recording_changed, this, [this, prediction_dock] {
    if (state_->recording() && state_->recording()->meta().extra.count("ablated_heads")) prediction_dock->raise();
  });

  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  selectors_ = new SelectorBar(state_, central);
  tabs_ = new QTabWidget(central);
  tabs_->setDocumentMode(true);
  for (const ViewSpec* spec : tab_views()) {
    QWidget* w = spec->make(state_, ViewSettings{}, tabs_);
    w->setObjectName(QString::fromLatin1(spec->name));
    views_.push_back(w);
    const int index = tabs_->addTab(w, tr(spec->title));
    tabs_->setTabVisible(index, view_applies(*spec, nullptr));  // views for images or generations appear with them
  }
  layout->addWidget(selectors_);
  layout->addWidget(tabs_, 1);
  setCentralWidget(central);

  hover_label_ = new QLabel(this);
  summary_label_ = new QLabel(this);
  statusBar()->addPermanentWidget(hover_label_, 1);
  statusBar()->addPermanentWidget(summary_label_);

  // Every view that has these signals: activating a head opens it in the heatmap, hovering
  // shows the exact weight in the status bar, failures reach show_error.
  for (QWidget* w : views_) {
    const QMetaObject* meta = w->metaObject();
    if (meta->indexOfSignal("head_activated(int,int)") >= 0)
      connect(w, SIGNAL(head_activated(int,int)), this, SLOT(show_heatmap()));
    if (meta->indexOfSignal("hovered(QString)") >= 0) connect(w, SIGNAL(hovered(QString)), hover_label_, SLOT(setText(QString)));
    if (meta->indexOfSignal("failed(QString)") >= 0) connect(w, SIGNAL(failed(QString)), this, SLOT(show_error(QString)));
    if (meta->indexOfSignal("qkv_requested()") >= 0) connect(w, SIGNAL(qkv_requested()), this, SLOT(request_qkv()));
    if (auto* timeline = qobject_cast<TimelineView*>(w)) connect(timeline, &TimelineView::step_changed, this, &MainWindow::update_sweep_step);
  }
  connect(state_, &ViewState::recording_changed, this, [this] {
    update_title();
    update_summary();
    panel_->set_structure_info(state_->recording() ? describe_structure(state_->recording()->meta()) : QString());
    update_sweep_step();
  });
  connect(state_, &ViewState::selection_changed, this, &MainWindow::update_summary);
  connect(state_, &ViewState::theme_changed, this, [this] { apply_app_theme(state_->dark()); });
}

void MainWindow::connect_runs() {
  connect(panel_, &ModelPanel::model_chosen, this, &MainWindow::choose_model);
  connect(panel_, &ModelPanel::open_model_requested, this, &MainWindow::ask_open_model);
  connect(panel_, &ModelPanel::run_requested, this, &MainWindow::run);
  connect(panel_, &ModelPanel::cancel_requested, this, &MainWindow::cancel);
  connect(panel_, &ModelPanel::generate_requested, this, &MainWindow::generate);
  connect(runs_, &RunController::generated_text, panel_, &ModelPanel::set_generated_text);
  connect(panel_, &ModelPanel::image_chosen, this, &MainWindow::run_image);
  connect(interventions_, &InterventionPanel::run_requested, this, &MainWindow::run);
  connect(interventions_, &InterventionPanel::sweep_requested, this, &MainWindow::sweep);
  connect(model_view(), &ModelView::rerun_requested, this, &MainWindow::run);
  connect(runs_, &RunController::sweep_ready, this, [this](const SweepPtr& sweep) {
    state_->set_sweep(sweep);
    show_view(QStringLiteral("sweep"));
  });
  connect(runs_, &RunController::model_loaded, this, [this](const ModelPtr& model) {
    panel_->set_model_info(model);
    add_recent(qpath(model->dir()));
    fresh_model_ = true;
    if (model->non_finite_weights() > 0)
      statusBar()->showMessage(tr("Warning: %1 has %2 NaN or infinite weights").arg(qstr(model->name())).arg(model->non_finite_weights()));
  });
  connect(runs_, &RunController::tokens_ready, this, [this](const QStringList& tokens, bool truncated) {
    statusBar()->showMessage(truncated ? tr("%1 tokens (the text was cut to the model's length)").arg(tokens.size())
                                       : tr("%1 tokens").arg(tokens.size()));
  });
  connect(runs_, &RunController::progress, panel_, &ModelPanel::set_progress);
  connect(runs_, &RunController::busy_changed, this, [this](bool busy) {
    panel_->set_busy(busy);
    cancel_action_->setEnabled(busy);
  });
  connect(runs_, &RunController::recording_ready, this, &MainWindow::on_recording);
  connect(runs_, &RunController::picture_ready, state_, &ViewState::set_picture);
  connect(runs_, &RunController::analysis_ready, state_, &ViewState::set_analysis);
  connect(runs_, &RunController::finished, this, [this] {
    const auto& rec = state_->recording();
    if (rec && !findChild<QMessageBox*>(QStringLiteral("MemoryDialog"))) statusBar()->showMessage(tr("Done: %1 layers × %2 heads × %3 tokens in %4 ms")
                                          .arg(rec->num_layers()).arg(rec->num_heads()).arg(rec->num_tokens())
                                          .arg(QDateTime::currentMSecsSinceEpoch() - run_started_), 8000);
  });
  connect(runs_, &RunController::cancelled, this, [this] {
    pending_head_.reset();
    statusBar()->showMessage(tr("Cancelled"), 5000);
  });
  connect(runs_, &RunController::memory_offer, this, &MainWindow::offer_memory_choice);
  connect(runs_, &RunController::failed, this, [this](const QString& message) {
    pending_head_.reset();
    show_error(message);
  });
  connect(io_, &JobRunner::failed, this, [this](int, const QString& m) { show_error(m); });
  connect(state_->comparison(), &CompareCache::failed, this, &MainWindow::show_error);
  connect(state_->comparison(), &CompareCache::opened, this, [this] { show_view(QStringLiteral("compare")); });
}

void MainWindow::on_recording(const RecordingPtr& rec, const QString& source) {
  const bool was_image = state_->is_image();
  if (state_->original() && state_->original() != rec) previous_ = state_->original();  // the recording as recorded, not as read
  const Reading reading = state_->reading();
  state_->set_recording(rec, source);
  const bool image = state_->is_image(), generation = read_generation(*rec).has_value();
  const auto specs = tab_views();
  const bool view_goes = !view_applies(*specs[size_t(std::max(0, tabs_->currentIndex()))], rec.get());
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i]->shows_for != ViewFor::Any) tabs_->setTabVisible(int(i), view_applies(*specs[i], rec.get()));
  if (image && !was_image) show_view(QStringLiteral("overlay"));
  else if (generation && source.isEmpty())  // a generation just made: a translation's picture is its alignment
    show_view(rec->meta().encoder_decoder() ? QStringLiteral("alignment") : QStringLiteral("timeline"));
  else if (view_goes) show_heatmap();
  if (source.isEmpty() && rec->meta().encoder_decoder() && std::exchange(fresh_model_, false) && runs_->model() && !pending_head_) {
    const auto head = named_head(qpath(runs_->model()->dir()), QStringLiteral("alignment"));
    if (head && head->first < rec->num_layers() && head->second < rec->num_heads())
      state_->select(head->first, head->second);  // the model's own alignment head, the first time
  }
  if (!source.isEmpty()) {
    restore_view(*rec);
    if (!image) panel_->set_text(qstr(rec->meta().text), qstr(rec->meta().pair));
    else if (const auto it = rec->meta().extra.find("image_path"); it != rec->meta().extra.end()) panel_->set_image(qstr(it->second));
    if (!runs_->model() || runs_->model()->name() != rec->meta().model)
      panel_->set_recording_info(tr("<b>%1</b> (recording)<br>%2 · %3 layers × %4 heads · %5 tokens<br>%6")
                                     .arg(qstr(rec->meta().model).toHtmlEscaped(), qstr(rec->meta().family))
                                     .arg(rec->num_layers()).arg(rec->num_heads()).arg(rec->num_tokens())
                                     .arg(QFileInfo(source).fileName().toHtmlEscaped()));
  }
  if (teaching_open()) teaching_->set_recording(rec);
  if (state_->reading() == reading) read_recording();  // else the restored reading's change started it
  if (pending_head_) {  // a guided example asked for this head
    state_->select(pending_head_->first, pending_head_->second);
    pending_head_.reset();
    if (rec->meta().encoder_decoder()) show_view(QStringLiteral("alignment"));  // a translation's head: its cross-attention
    else show_heatmap();
    raise();
    activateWindow();
  }
}

void MainWindow::offer_memory_choice(const MemoryOffer& offer) {
  pending_head_.reset();
  const QString size = qstr(format_bytes(offer.needed)), budget = qstr(format_bytes(offer.budget));
  QString text = offer.needed > offer.budget
                     ? tr("Recording %1 tokens with %2 needs about %3, more than the memory budget of %4 (%5).")
                           .arg(offer.tokens)
                           .arg(offer.model.toHtmlEscaped(), size, budget, qstr(memory_budget_origin()))
                     : tr("Recording %1 tokens with %2 needs about %3 besides the model's %4 of weights: together more than "
                          "this computer's %5 of memory, so the weights would be read from disk again for every layer.")
                           .arg(offer.tokens)
                           .arg(offer.model.toHtmlEscaped(), size, qstr(format_bytes(offer.weights)), qstr(format_bytes(offer.physical)));
  if (offer.weights > 0 && offer.needed > offer.budget)
    text += QLatin1Char(' ') + tr("(The model's %1 of weights are read from disk as needed and not counted.)").arg(qstr(format_bytes(offer.weights)));
  auto* box = new QMessageBox(QMessageBox::Question, tr("AttnScope — not enough memory"), text, QMessageBox::NoButton, this);
  box->setObjectName(QStringLiteral("MemoryDialog"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  QStringList layer_names;
  for (int l : offer.layers) layer_names << QString::number(l);
  QPushButton* fewer = nullptr;
  QPushButton* plain = nullptr;
  QPushButton* half = nullptr;
  if (offer.fits(offer.f16_needed)) {
    half = box->addButton(tr("Record at half precision (F16, %1)").arg(qstr(format_bytes(offer.f16_needed))), QMessageBox::AcceptRole);
    half->setObjectName(QStringLiteral("RecordF16"));
  }
  if (!offer.layers.empty()) {
    fewer = box->addButton(tr("Record layers %1 only (%2)").arg(layer_names.join(QStringLiteral(", ")), qstr(format_bytes(offer.layers_needed))),
                           QMessageBox::AcceptRole);
    fewer->setObjectName(QStringLiteral("RecordFewerLayers"));
  }
  QPushButton* stream = nullptr;
  if (offer.fits(offer.stream_needed)) {
    stream = box->addButton(tr("Stream to a file… (%1 on disk, %2 in memory)").arg(qstr(format_bytes(offer.stream_file)), qstr(format_bytes(offer.stream_needed))),
                            QMessageBox::AcceptRole);
    stream->setObjectName(QStringLiteral("RecordStreamed"));
  }
  if (offer.fits(offer.without_qkv_needed)) {
    plain = box->addButton(tr("Record without Q/K/V (%1)").arg(qstr(format_bytes(offer.without_qkv_needed))), QMessageBox::AcceptRole);
    plain->setObjectName(QStringLiteral("RecordWithoutQkv"));
  }
  QPushButton* anyway = box->addButton(tr("Record anyway"), QMessageBox::DestructiveRole);
  anyway->setObjectName(QStringLiteral("RecordAnyway"));
  QPushButton* cancel = box->addButton(QMessageBox::Cancel);
  box->setDefaultButton(half ? half : stream ? stream : fewer ? fewer : plain ? plain : cancel);
  QStringList notes;
  if (half) notes << tr("Half precision keeps about three significant digits of every weight.");
  if (stream) notes << tr("Streaming writes each layer to the file (at half precision) as soon as it is computed, and opens the file.");
  if (fewer) notes << tr("Recording fewer layers keeps every layer's computation but stores only their attention.");
  if (!half && !fewer && !plain && !stream) notes << tr("Not even one layer fits.");
  notes << tr("Shorter input also helps; recording anyway may make this computer swap.");
  box->setInformativeText(notes.join(QLatin1Char(' ')));
  connect(box, &QMessageBox::buttonClicked, this, [this, offer, fewer, plain, half, stream, anyway](QAbstractButton* b) {
    RunRequest req = offer.request;
    if (b == stream) return ask_stream_file(req);
    if (b == half) req.f16 = true;
    else if (b == fewer) req.layers = offer.layers;
    else if (b == plain) req.record_qkv = false;
    else if (b == anyway) req.force = true;
    else {
      statusBar()->showMessage(tr("Cancelled: the run would need more memory than the budget"), 8000);
      return;
    }
    run_started_ = QDateTime::currentMSecsSinceEpoch();
    runs_->run(req);
  });
  statusBar()->showMessage(tr("The run needs %1, above the memory budget of %2").arg(size, budget), 15000);
  box->open();
}

void MainWindow::ask_stream_file(RunRequest request) {
  auto* dialog = new QFileDialog(this, tr("Stream the recording to"), last_dir_, tr("AttnScope recordings (*.safetensors)"));
  dialog->setObjectName(QStringLiteral("StreamFileDialog"));
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  dialog->setAcceptMode(QFileDialog::AcceptSave);
  dialog->setDefaultSuffix(QStringLiteral("safetensors"));
  const QString model = QFileInfo(request.model_dir).fileName();
  dialog->selectFile((model.isEmpty() ? QStringLiteral("attnscope") : model) + QStringLiteral("-recording.safetensors"));
  connect(dialog, &QFileDialog::fileSelected, this, [this, request](const QString& path) mutable {
    last_dir_ = QFileInfo(path).absolutePath();
    request.stream_to = path;
    request.f16 = true;
    run_started_ = QDateTime::currentMSecsSinceEpoch();
    runs_->run(request);
  });
  connect(dialog, &QFileDialog::rejected, this, [this] { statusBar()->showMessage(tr("Cancelled: nothing was recorded"), 8000); });
  dialog->open();
}

void MainWindow::show_error(const QString& message) {
  last_error_ = message;
  statusBar()->showMessage(message, 15000);
  auto* box = new QMessageBox(QMessageBox::Warning, tr("AttnScope"), message, QMessageBox::Ok, this);
  box->setObjectName(QStringLiteral("ErrorDialog"));
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();  // window-modal, does not block the event loop
  Q_EMIT error_shown(message);
}

void MainWindow::choose_model(const QString& dir) {
  if (dir.isEmpty()) return;
  if (!is_model_folder(dir)) {
    show_error(tr("%1: not a model folder (it has no config.json); choose a Hugging Face model folder").arg(dir));
    return;
  }
  const QString canon = QFileInfo(dir).canonicalFilePath();
  refresh_models();
  panel_->set_models(find_bundled_models(), recent_, canon);
  panel_->set_model_info(nullptr);
  runs_->load_model(canon);
  update_title();
}

void MainWindow::run() {
  if (runs_->model() && runs_->model()->config().is_encoder_decoder() &&
      QFileInfo(qpath(runs_->model()->dir())).canonicalFilePath() == QFileInfo(panel_->model_dir()).canonicalFilePath()) {
    generate();  // an encoder-decoder's run is its translation
    return;
  }
  if (!panel_->image_mode()) {
    run_text(panel_->text(), panel_->pair());
  } else if (panel_->image_path().isEmpty()) {
    show_error(tr("Open a picture first: File ▸ Open image…, or drop a PNG, JPEG or BMP file on the window"));
  } else {
    run_image(panel_->image_path());
  }
}

void MainWindow::run_text(const QString& text, const QString& pair) {
  if (panel_->model_dir().isEmpty()) {
    show_error(tr("Choose a model first (Model ▸ Open model folder…)"));
    return;
  }
  if (panel_->text() != text || panel_->pair() != pair) panel_->set_text(text, pair);
  run_started_ = QDateTime::currentMSecsSinceEpoch();
  RunRequest req;
  req.model_dir = panel_->model_dir();
  req.text = text;
  req.pair = pair;
  req.truncate = panel_->truncate();
  req.record_qkv = wants_qkv();
  add_interventions(req);
  runs_->run(req);
}

void MainWindow::add_interventions(RunRequest& req) const {
  req.ablated = state_->ablated();
  req.ablation = interventions_->mode();
  req.clean_text = interventions_->clean_text();
}

void MainWindow::update_sweep_step() {
  const RecordingPtr& rec = state_->original();
  const auto generation = rec && !rec->meta().encoder_decoder() ? read_generation(*rec) : std::nullopt;
  const auto* timeline = findChild<TimelineView*>();
  if (!generation || generation->steps.empty() || !timeline) {
    interventions_->set_generation_step(-1, {});
    return;
  }
  const int t = std::clamp(timeline->step(), 0, int(generation->steps.size()) - 1);
  interventions_->set_generation_step(t, qstr(generation->steps[size_t(t)].chosen.token));
}

void MainWindow::sweep() {
  if (panel_->model_dir().isEmpty()) {
    show_error(tr("Choose a model first (Model ▸ Open model folder…)"));
    return;
  }
  SweepRequest req;
  req.model_dir = panel_->model_dir();
  if (panel_->image_mode()) {
    if (panel_->image_path().isEmpty()) {
      show_error(tr("Open a picture first: File ▸ Open image…, or drop a PNG, JPEG or BMP file on the window"));
      return;
    }
    req.image = panel_->image_path();
  } else {
    req.text = panel_->text();
    req.pair = panel_->pair();
  }
  req.mode = interventions_->mode();
  req.clean_text = interventions_->clean_text();
  req.unit = interventions_->sweep_unit();
  req.target = interventions_->target();
  if (interventions_->generation_step() >= 0) {
    req.generation = state_->original();
    req.step = interventions_->generation_step();
  }
  runs_->sweep(req);
}

void MainWindow::generate() {
  if (panel_->model_dir().isEmpty()) {
    show_error(tr("Choose a model first (Model ▸ Open model folder…)"));
    return;
  }
  if (panel_->image_mode()) {
    show_error(tr("Generation continues text: choose a language model (GPT-2, Llama, Qwen, Gemma, …), not an image model"));
    return;
  }
  run_started_ = QDateTime::currentMSecsSinceEpoch();
  GenerationRequest req;
  req.model_dir = panel_->model_dir();
  req.text = panel_->text();
  req.max_new_tokens = panel_->max_new_tokens();
  req.sampling = panel_->sampling();
  runs_->generate(req);
  panel_->set_generating(true);
}

void MainWindow::cancel() {
  if (runs_->generating()) runs_->stop_generation();
  else runs_->cancel();
}

void MainWindow::open_recording(const QString& path) {
  run_started_ = QDateTime::currentMSecsSinceEpoch();
  last_dir_ = QFileInfo(path).absolutePath();
  runs_->open_recording(path);
}

void MainWindow::compare_with_recording(const QString& path) {
  last_dir_ = QFileInfo(path).absolutePath();
  state_->comparison()->open_b(path);
}

void MainWindow::compare_with_previous() {
  if (!previous_) {
    show_error(tr("No previous run to compare with: run the model again (on another input, or after an ablation) "
                  "and the run before it becomes B; or use File ▸ Compare with recording…"));
    return;
  }
  state_->comparison()->set_b(previous_, tr("the previous run"));
  show_view(QStringLiteral("compare"));
}

void MainWindow::save_recording(const QString& path) {
  const RecordingPtr rec = state_->original();  // as run or opened; the reading is in the view state
  if (!rec) {
    show_error(tr("Nothing to save yet: run a model first"));
    return;
  }
  statusBar()->showMessage(tr("Saving %1…").arg(path));
  const std::map<std::string, std::string> extra{{kViewKey, saved_view()}};
  io_->start([this, rec, path, extra](JobContext& ctx) {
    rec->save(fspath(path), rec->storage(), extra);  // an F16 recording stays F16: nothing more to keep
    ctx.post([this, path] {
      statusBar()->showMessage(tr("Saved %1").arg(path), 8000);
      Q_EMIT recording_saved(path);
    });
  });
}

std::string MainWindow::saved_view() const {
  const ColorSettings& c = state_->colors();
  const QJsonObject o{{"layer", state_->layer()},
                      {"head", state_->head()},
                      {"query", state_->query()},
                      {"tab", tabs_->currentIndex()},
                      {"colormap", colormap_name(c.map)},
                      {"scaling", scaling_name(c.scaling)},
                      {"gamma", c.gamma},
                      {"shared_range", c.shared_range},
                      {"reading", reading_json(state_->reading())}};
  return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
}

void MainWindow::restore_view(const AttentionRecording& rec) {
  const auto it = rec.meta().extra.find(kViewKey);
  if (it == rec.meta().extra.end()) return;
  const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(it->second)).object();
  if (o.isEmpty()) return;  // unreadable: keep the current view
  ColorSettings c = state_->colors();
  c.map = colormap_from_name(o.value("colormap").toString()).value_or(c.map);
  c.scaling = scaling_from_name(o.value("scaling").toString()).value_or(c.scaling);
  c.gamma = std::clamp(o.value("gamma").toDouble(c.gamma), 0.1, 3.0);
  c.shared_range = o.value("shared_range").toBool(c.shared_range);
  state_->set_colors(c);
  state_->select(o.value("layer").toInt(0), o.value("head").toInt(0));
  state_->set_query(o.value("query").toInt(-1));
  const int tab = o.value("tab").toInt(-1);
  if (tab >= 0 && tab < tabs_->count()) tabs_->setCurrentIndex(tab);
  if (o.contains("reading")) state_->set_reading(reading_from_json(o.value("reading").toObject()));
}

void MainWindow::open_path(const QString& path) {
  const QString model = model_folder_for(path);
  if (!model.isEmpty()) choose_model(model);
  else if (is_picture_file(path)) open_picture(path);
  else if (QFileInfo(path).isFile()) open_recording(path);
  else show_error(tr("%1: neither a model folder (with config.json) nor a recording file").arg(path));
}

Renderable* MainWindow::current_renderable() const { return as_renderable(tabs_->currentWidget()); }

int MainWindow::tab_index(const QString& name) const {
  const auto specs = tab_views();
  for (size_t i = 0; i < specs.size(); ++i)
    if (name == QLatin1String(specs[i]->name)) return int(i);
  return -1;
}

QWidget* MainWindow::view(const QString& name) const {
  const int i = tab_index(name);
  return i >= 0 ? views_[size_t(i)] : nullptr;
}

ModelView* MainWindow::model_view() const { return static_cast<ModelView*>(view(QStringLiteral("model"))); }
HeatmapView* MainWindow::heatmap_view() const { return static_cast<HeatmapView*>(view(QStringLiteral("heatmap"))); }
HeadView* MainWindow::head_view() const { return static_cast<HeadView*>(view(QStringLiteral("head"))); }
RolloutView* MainWindow::rollout_view() const { return static_cast<RolloutView*>(view(QStringLiteral("rollout"))); }
StatsView* MainWindow::stats_view() const { return static_cast<StatsView*>(view(QStringLiteral("stats"))); }
OverlayView* MainWindow::overlay_view() const { return static_cast<OverlayView*>(view(QStringLiteral("overlay"))); }

bool MainWindow::export_view(const QString& path, const ImageOptions& options) { return export_renderable(*current_renderable(), path, options); }

bool MainWindow::export_renderable(Renderable& view, const QString& path, const ImageOptions& options) {
  try {
    export_image(view, path, options);
    statusBar()->showMessage(tr("Exported %1").arg(path), 8000);
    return true;
  } catch (const std::exception& e) {
    show_error(QString::fromStdString(e.what()));
    return false;
  }
}

bool MainWindow::export_matrix(const QString& path) {
  const auto& rec = state_->recording();
  try {
    if (!rec) throw Error(path.toStdString() + ": nothing to export yet");
    // The numbers of what the current tab shows, written by its row of the view table.
    const ViewSpec* spec = tab_views()[size_t(tabs_->currentIndex())];
    QWidget* w = tabs_->currentWidget();
    spec->write_numbers(*state_, spec->settings_of(w), path, QFileInfo(path).suffix().toLower() == QLatin1String("csv"));
    statusBar()->showMessage(tr("Exported %1").arg(path), 8000);
    return true;
  } catch (const std::exception& e) {
    show_error(QString::fromStdString(e.what()));
    return false;
  }
}

bool MainWindow::export_recording_npy(const QString& dir) {
  try {
    if (!state_->recording()) throw Error(dir.toStdString() + ": nothing to export yet");
    const auto files = write_recording_npy(*state_->recording(), fspath(dir));
    statusBar()->showMessage(tr("Wrote %1 files to %2").arg(files.size()).arg(dir), 8000);
    return true;
  } catch (const std::exception& e) {
    show_error(QString::fromStdString(e.what()));
    return false;
  }
}

void MainWindow::set_dark(bool dark) {
  state_->set_dark(dark);
  if (dark_action_ && dark_action_->isChecked() != dark) dark_action_->setChecked(dark);
}

void MainWindow::show_view(const QString& name) {
  const int i = tab_index(name);
  if (i >= 0 && tabs_->isTabVisible(i)) tabs_->setCurrentIndex(i);  // the overlay only for images
}

void MainWindow::show_heatmap() { show_view(QStringLiteral("heatmap")); }

void MainWindow::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Left: state_->step_head(-1); break;
    case Qt::Key_Right: state_->step_head(+1); break;
    case Qt::Key_Up: state_->step_layer(-1); break;
    case Qt::Key_Down: state_->step_layer(+1); break;
    default: QMainWindow::keyPressEvent(event); return;
  }
  event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (!urls.isEmpty() && urls.first().isLocalFile()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (urls.isEmpty() || !urls.first().isLocalFile()) return;
  event->acceptProposedAction();
  open_path(urls.first().toLocalFile());
}

void MainWindow::refresh_models() {
  QStringList kept;
  for (const QString& r : recent_)
    if (is_model_folder(r) && !kept.contains(r)) kept << r;
  recent_ = kept.mid(0, kMaxRecent);
  if (recent_menu_) {
    recent_menu_->clear();
    for (const QString& dir : recent_)
      connect(recent_menu_->addAction(QFileInfo(dir).fileName() + QStringLiteral("  —  ") + dir), &QAction::triggered, this,
              [this, dir] { choose_model(dir); });
    recent_menu_->setEnabled(!recent_.isEmpty());
  }
}

void MainWindow::add_recent(const QString& dir) {
  recent_.removeAll(dir);
  recent_.prepend(dir);
  refresh_models();
}

void MainWindow::update_title() {
  QString title = QStringLiteral("AttnScope");
  if (const auto& rec = state_->recording()) {
    title += QStringLiteral(" — ") + qstr(rec->meta().model);
    if (!state_->source().isEmpty()) title += QStringLiteral(" — ") + QFileInfo(state_->source()).fileName();
  } else if (!panel_->model_dir().isEmpty()) {
    title += QStringLiteral(" — ") + QFileInfo(panel_->model_dir()).fileName();
  }
  setWindowTitle(title);
}

void MainWindow::update_summary() {
  const auto& rec = state_->recording();
  if (!rec) {
    summary_label_->setText(tr("no recording"));
    summary_label_->setToolTip({});
    return;
  }
  // With grouped heads or sliding windows: the head's group, the layer's span, and both
  // described in full in the tooltip ("2 key/value heads, each shared by 2 query heads; …").
  const RecordingMeta& m = rec->meta();
  QString text = tr("%1 tokens · %2 layers × %3 heads").arg(rec->num_tokens()).arg(rec->num_layers()).arg(rec->num_heads());
  if (kv_group_size(m)) text += tr(" (%1 KV)").arg(m.num_kv_heads);
  text += tr(" · layer %1, %2").arg(m.model_layer(state_->layer())).arg(head_name(m, state_->head()));
  if (const QString span = window_name(m, state_->layer()); !span.isEmpty()) text += QStringLiteral(", ") + span;
  summary_label_->setText(with_reading(text, m));  // how the recording is read, also where a view shows no title
  summary_label_->setToolTip(describe_structure(m));
}

void MainWindow::restore_settings() {
  QSettings s;
  restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
  restoreState(s.value(QStringLiteral("window/state")).toByteArray());
  if (!s.contains(QStringLiteral("window/geometry"))) resize(1400, 900);
  ColorSettings c;
  c.map = colormap_from_name(s.value(QStringLiteral("colors/map"), QStringLiteral("viridis")).toString()).value_or(ColorMapId::Viridis);
  c.scaling = scaling_from_name(s.value(QStringLiteral("colors/scaling"), QStringLiteral("linear")).toString()).value_or(Scaling::Linear);
  c.gamma = s.value(QStringLiteral("colors/gamma"), 0.5).toDouble();
  c.shared_range = s.value(QStringLiteral("colors/shared_range"), false).toBool();
  state_->set_colors(c);
  set_dark(s.value(QStringLiteral("view/dark"), false).toBool());
  apply_app_theme(state_->dark());
  const int tab = s.value(QStringLiteral("view/tab"), 0).toInt();
  if (tab >= 0 && tab < tabs_->count() && tabs_->isTabVisible(tab)) tabs_->setCurrentIndex(tab);  // no recording yet: no overlay
  recent_ = s.value(QStringLiteral("models/recent")).toStringList();
  refresh_models();
  panel_->set_text(s.value(QStringLiteral("input/text"), tr("The cat sat on the mat because it was tired.")).toString(),
                   s.value(QStringLiteral("input/pair")).toString());
  const QString last = s.value(QStringLiteral("models/last")).toString();
  const auto bundled = find_bundled_models();
  panel_->set_models(bundled, recent_, is_model_folder(last) ? last : QString());
  last_dir_ = s.value(QStringLiteral("files/last_dir")).toString();
  restore_reading();
}

void MainWindow::save_settings() const {
  QSettings s;
  s.setValue(QStringLiteral("window/geometry"), saveGeometry());
  s.setValue(QStringLiteral("window/state"), saveState());
  const ColorSettings& c = state_->colors();
  s.setValue(QStringLiteral("colors/map"), colormap_name(c.map));
  s.setValue(QStringLiteral("colors/scaling"), scaling_name(c.scaling));
  s.setValue(QStringLiteral("colors/gamma"), c.gamma);
  s.setValue(QStringLiteral("colors/shared_range"), c.shared_range);
  s.setValue(QStringLiteral("view/dark"), state_->dark());
  s.setValue(QStringLiteral("view/tab"), tabs_->currentIndex());
  s.setValue(QStringLiteral("models/recent"), recent_);
  s.setValue(QStringLiteral("models/last"), panel_->model_dir());
  s.setValue(QStringLiteral("input/text"), panel_->text());
  s.setValue(QStringLiteral("input/pair"), panel_->pair());
  s.setValue(QStringLiteral("files/last_dir"), last_dir_);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  save_settings();
  runs_->cancel();
  if (teaching_) teaching_->close();
  event->accept();
}

}  // namespace attn::ui
