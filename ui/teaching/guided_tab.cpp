#include "teaching/guided_tab.h"

#include <algorithm>

#include <QButtonGroup>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "analysis/alignment.h"
#include "session/cross_steps.h"
#include "session/generate.h"
#include "session/run.h"
#include "teaching/step_panel.h"
#include "teaching/teaching_plots.h"
#include "views/matrix_plot.h"
#include "state/bundled_models.h"

namespace attn::ui {

namespace {

// What to look for in the heatmap, by kind.
QString picture_hint(GuidedExample::Kind kind) {
  switch (kind) {
    case GuidedExample::Kind::PreviousToken:
      return QObject::tr("In the heatmap the bright cells sit just left of the diagonal: each row (a token) looks one "
                         "column back.");
    case GuidedExample::Kind::Induction:
      return QObject::tr("The syllables are said twice. In the second half a bright stripe runs parallel to the diagonal: "
                         "each syllable looks at the one that followed it the first time — which is what comes next.");
    case GuidedExample::Kind::Parking:
      return QObject::tr("The bright columns are the special tokens: most rows pile their attention onto them.");
    case GuidedExample::Kind::Alignment:
      return QObject::tr("Each row is a target token, with the cross-attention of the decoder's query that chose it; each "
                         "column a source token. The bright cells do not run down the diagonal: the target puts the words "
                         "in another order.");
  }
  return {};
}

// The first target token that reads a source token before the one the token before it read
// (where the alignment turns back), else the first; as the decoder row that chose it.
int reordered_row(const Alignment& a) {
  Eigen::Index previous = -1;
  for (Eigen::Index r = 0; r < a.weights.rows(); ++r) {
    Eigen::Index best = 0;
    a.weights.row(r).maxCoeff(&best);
    if (previous >= 0 && best < previous) return int(r);
    previous = best;
  }
  return 0;
}

// The walk through one cross-attention row with the model's numbers: where q, k and v come from,
// then q·k, the scale and the weights of the source tokens the query looks at most.
QString cross_walk(const CrossSteps& c, const RecordingMeta& meta) {
  if (c.steps.probs.size() == 0 || size_t(c.query + 1) >= meta.tokens.size()) return {};
  const auto quoted = [](const std::string& s) { return QStringLiteral("“%1”").arg(qstr(s)); };
  std::vector<int> order(size_t(c.steps.probs.size()));
  for (size_t j = 0; j < order.size(); ++j) order[j] = int(j);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return c.steps.probs[a] > c.steps.probs[b]; });
  QStringList rows;
  for (size_t k = 0; k < std::min<size_t>(3, order.size()); ++k) {
    const int j = order[k];
    rows << QObject::tr("%1: %2 → %3 → %4")
                .arg(size_t(j) < meta.source_tokens.size() ? quoted(meta.source_tokens[size_t(j)]) : QString::number(j))
                .arg(c.steps.dots[j], 0, 'f', 2)
                .arg(c.steps.scaled[j], 0, 'f', 2)
                .arg(c.steps.probs[j], 0, 'f', 3);
  }
  return QObject::tr("Inside layer %1, head %2, for %3: the decoder's state at %4 (the token before it) makes the query q (%5 "
                     "numbers); the encoder's output at each of the %6 source tokens makes a key k and a value v. q·k, then × %7, "
                     "then softmax over the source: %8. The head passes on Σ p·v, the values mixed by these weights.")
      .arg(c.layer)
      .arg(c.head)
      .arg(quoted(meta.tokens[size_t(c.query + 1)]), quoted(meta.tokens[size_t(c.query)]))
      .arg(c.q.size())
      .arg(c.keys.rows())
      .arg(c.steps.factor, 0, 'g', 3)
      .arg(rows.join(QStringLiteral("; ")));
}

HeadFinding measure(GuidedExample::Kind kind, const AttentionRecording& rec) {
  switch (kind) {
    case GuidedExample::Kind::PreviousToken: return find_previous_token_head(rec);
    case GuidedExample::Kind::Induction: return find_induction_head(rec);
    case GuidedExample::Kind::Parking: return find_parking_head(rec);
    case GuidedExample::Kind::Alignment: return find_alignment_head(rec);
  }
  return {};
}

}  // namespace

QString repeated_syllables(int count, uint32_t seed) {
  static const char consonants[] = "bdfgklmnprstvz", vowels[] = "aeiou";
  QStringList syllables;
  for (const char* c = consonants; *c; ++c)
    for (const char* v = vowels; *v; ++v) syllables << QString(QLatin1Char(*c)) + QLatin1Char(*v);
  QStringList words;
  for (int32_t k : repeated_random_sequence(count, 2, 0, int32_t(syllables.size()), seed)) words << syllables[k];
  return words.join(QLatin1Char(' '));
}

const std::array<GuidedExample, kGuidedExamples>& guided_examples() {
  static const std::array<GuidedExample, kGuidedExamples> examples{{
      {GuidedExample::Kind::PreviousToken, QObject::tr("A previous-token head"), QStringLiteral("attnscope-gpt2-small"),
       QStringLiteral("The cat sat on the mat because it was warm, and the dog slept by the door."), QString(),
       QObject::tr("Some heads simply look at the token just before: the simplest way to know the word order.")},
      {GuidedExample::Kind::Induction, QObject::tr("An induction head"), QStringLiteral("attnscope-induction-toy"),
       repeated_syllables(), QString(),
       QObject::tr("When a sequence repeats, an induction head looks at what came after the same token last time, so the "
                   "model can copy it: in-context learning in its simplest form.")},
      {GuidedExample::Kind::Parking, QObject::tr("A head that parks on [CLS] / [SEP]"), QStringLiteral("attnscope-bert-mini"),
       QStringLiteral("the cat sat on the mat."), QStringLiteral("it was warm and soft."),
       QObject::tr("Attention must add up to 1. A head with nothing to do puts it on a token that carries little: the "
                   "separator or the first token.")},
      {GuidedExample::Kind::Alignment, QObject::tr("A translation's alignment head"), QStringLiteral("attnscope-translate-dates"),
       QStringLiteral("Sunday the third of July, 1994"), QString(),
       QObject::tr("A translator's decoder writes the target one token at a time. Its cross-attention takes the queries from "
                   "the decoder and the keys and values from the encoder's reading of the source: one head can learn to look "
                   "at the source word it is translating, even when the target puts the words in another order.")},
  }};
  return examples;
}

GuidedTab::GuidedTab(QWidget* parent) : QWidget(parent) {
  auto* h = new QHBoxLayout(this);
  auto* left = new QVBoxLayout;
  buttons_ = new QButtonGroup(this);
  buttons_->setExclusive(true);
  left->addWidget(new QLabel(tr("<b>Choose an example</b>"), this));
  for (int i = 0; i < int(guided_examples().size()); ++i) {
    auto* b = new QPushButton(guided_examples()[size_t(i)].title, this);
    b->setCheckable(true);
    b->setToolTip(guided_examples()[size_t(i)].intro);
    buttons_->addButton(b, i);
    left->addWidget(b);
  }
  intro_ = new QLabel(this);
  intro_->setWordWrap(true);
  left->addWidget(intro_);
  left->addStretch(1);
  auto* left_widget = new QWidget(this);
  left_widget->setLayout(left);
  left_widget->setFixedWidth(280);
  h->addWidget(left_widget);

  auto* right = new QVBoxLayout;
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  explanation_ = new QLabel(this);
  explanation_->setWordWrap(true);
  explanation_->setTextFormat(Qt::PlainText);
  heatmap_ = new MatrixPlot(this);
  heatmap_->setMinimumHeight(320);
  scores_ = new BarPlot(this);
  scores_->set_value_labels(false);
  scores_->setMinimumHeight(170);
  scores_->setMaximumHeight(220);
  open_button_ = new QPushButton(tr("Open this head in the main window"), this);
  open_button_->setEnabled(false);
  right->addWidget(status_);
  right->addWidget(explanation_);
  right->addWidget(heatmap_, 1);
  right->addWidget(scores_);
  auto* buttons_row = new QHBoxLayout;
  buttons_row->addStretch(1);
  buttons_row->addWidget(open_button_);
  right->addLayout(buttons_row);
  h->addLayout(right, 1);

  connect(buttons_, &QButtonGroup::idClicked, this, &GuidedTab::show_example);
  connect(open_button_, &QPushButton::clicked, this, [this] {
    if (current_ < 0 || !finding_.found()) return;
    const GuidedExample& e = guided_examples()[size_t(current_)];
    Q_EMIT open_example_requested(model_dir(current_), e.text, e.pair);
    Q_EMIT open_head_requested(finding_.layer, finding_.head);
  });
  connect(&runner_, &JobRunner::failed, this, [this](int, const QString& message) {
    show_message(tr("Could not run this example: %1").arg(message));
    Q_EMIT example_failed(current_, message);
  });
  show_message(tr("Pick an example on the left. Each one loads a small bundled model, runs a fixed input and measures "
                  "every head to find the one with the pattern."));
}

GuidedTab::~GuidedTab() = default;

void GuidedTab::set_model_dir(int index, const QString& dir) {
  if (index >= 0 && index < int(dir_overrides_.size())) dir_overrides_[size_t(index)] = dir;
}

QString GuidedTab::model_dir(int index) const {
  if (index < 0 || index >= int(guided_examples().size())) return {};
  if (!dir_overrides_[size_t(index)].isEmpty()) return dir_overrides_[size_t(index)];
  for (const BundledModel& m : find_bundled_models())
    if (m.name == guided_examples()[size_t(index)].model) return m.dir;
  return {};
}

bool GuidedTab::busy() const { return runner_.busy(); }

void GuidedTab::show_example(int index) {
  if (index < 0 || index >= int(guided_examples().size())) return;
  current_ = index;
  if (QAbstractButton* b = buttons_->button(index)) b->setChecked(true);
  const GuidedExample& e = guided_examples()[size_t(index)];
  intro_->setText(e.intro);
  recording_.reset();
  finding_ = HeadFinding{};
  cross_.reset();
  heatmap_->clear_content();
  scores_->set_bars(Vector(), {});
  explanation_->clear();
  open_button_->setEnabled(false);
  const QString dir = model_dir(index);
  if (dir.isEmpty()) {
    runner_.cancel();
    show_message(tr("The bundled model %1 is not installed (looked in: %2). It is trained by tools/train and shipped "
                    "in resources/models.")
                     .arg(e.model, model_roots().join(QStringLiteral(", "))));
    Q_EMIT example_failed(index, status_->text());
    return;
  }
  show_message(tr("Loading %1 and running “%2”…").arg(e.model, e.text.left(60)));
  const auto cached = models_.find(dir);
  ModelPtr model = cached != models_.end() ? cached->second : nullptr;
  const std::string text = stdstr(e.text), pair = stdstr(e.pair);
  const auto kind = e.kind;
  runner_.start([this, index, dir, model, text, pair, kind](JobContext& ctx) {
    Result r;
    r.index = index;
    r.model = model ? model : ModelPtr(Model::load(fspath(dir)));
    if (ctx.cancelled()) return;
    attn::RunRequest request;
    request.text = text;
    if (!pair.empty()) request.pair = pair;
    request.truncate = true;
    request.options.progress = ctx.progress_fn(0, 1);
    RecordingPtr rec;
    std::vector<int32_t> source_ids, decoder_ids;
    if (r.model->config().is_encoder_decoder()) {  // a translator: its cross-attention exists once it has translated
      GenerateRequest g;
      g.text = text;
      g.max_new_tokens = 24;
      g.options.progress = ctx.progress_fn(0, 1);
      GenerateResult result = attn::generate(*r.model, std::move(g));
      rec = std::move(result.recording);
      source_ids = result.source_ids;
      decoder_ids = result.prompt_ids;
      for (int32_t id : result.generated_ids()) decoder_ids.push_back(id);
    } else {
      rec = attn::run_model(*r.model, std::move(request)).recording;
    }
    if (!rec) return;  // cancelled
    r.finding = measure(kind, *rec);
    if (kind == GuidedExample::Kind::Alignment && r.finding.found() && rec->num_tokens() > 1)  // inside the head, one row
      r.cross = cross_attention_steps(*r.model, source_ids, decoder_ids, r.finding.layer, r.finding.head,
                                      reordered_row(alignment(*rec, r.finding.layer, r.finding.head, false)));
    r.recording = std::move(rec);
    ctx.post([this, r, dir] {
      models_[dir] = r.model;
      show_result(r);
    });
  });
}

void GuidedTab::show_result(const Result& r) {
  if (r.index != current_) return;
  recording_ = r.recording;
  finding_ = r.finding;
  cross_ = r.cross;
  const GuidedExample& e = guided_examples()[size_t(r.index)];
  const RecordingMeta& meta = recording_->meta();
  if (!finding_.found()) {
    show_message(qstr(finding_.explanation));
    Q_EMIT example_failed(r.index, qstr(finding_.explanation));
    return;
  }
  show_message(tr("%1 · %2 tokens · every one of its %3 heads measured").arg(qstr(meta.model)).arg(meta.num_tokens).arg(finding_.scores.size()));
  explanation_->setText(explanation());

  MatrixPlot::Content c;
  c.row_labels = c.col_labels = token_labels(meta);
  for (int i = 0; i < meta.num_tokens; ++i) c.row_names << token_quoted(meta, i);
  c.col_names = c.row_names;
  c.title = tr("%1 · layer %2 · head %3").arg(qstr(meta.model)).arg(finding_.layer).arg(finding_.head);
  c.row_axis = tr("query (attending token)");
  c.col_axis = tr("key (attended-to token)");
  double top = 0;
  if (e.kind == GuidedExample::Kind::Alignment) {  // target × source: the head's cross-attention, each chosen token's row
    auto a = std::make_shared<Alignment>(alignment(*recording_, finding_.layer, finding_.head, false));
    c.matrix = ConstMatrixMap(a->weights.data(), a->weights.rows(), a->weights.cols());
    c.owner = a;
    top = a->weights.size() ? a->weights.maxCoeff() : 0.0;
    c.row_labels.clear();
    c.row_names.clear();
    c.col_labels.clear();
    c.col_names.clear();
    for (const std::string& s : a->target) {
      c.row_labels << token_label(s);
      c.row_names << QStringLiteral("“%1”").arg(qstr(s));
    }
    for (const std::string& s : a->source) {
      c.col_labels << token_label(s);
      c.col_names << QStringLiteral("“%1”").arg(qstr(s));
    }
    c.title = tr("%1 · cross-attention · layer %2 · head %3").arg(qstr(meta.model)).arg(finding_.layer).arg(finding_.head);
    c.row_axis = tr("target token (chosen by a query from the decoder)");
    c.col_axis = tr("source token (key and value, from the encoder)");
  } else {
    c.matrix = recording_->head(finding_.layer, finding_.head);
    c.owner = recording_;
    top = c.matrix.map().maxCoeff();
  }
  c.range = ValueRange{0.0, std::max(1e-6, top)};
  heatmap_->set_content(std::move(c));

  const int H = meta.num_heads;
  Vector scores(Eigen::Index(finding_.scores.size()));
  QStringList labels;
  for (size_t k = 0; k < finding_.scores.size(); ++k) {
    scores[Eigen::Index(k)] = finding_.scores[k];
    labels << QStringLiteral("L%1 H%2").arg(int(k) / H).arg(int(k) % H);
  }
  scores_->set_axis_label(e.kind == GuidedExample::Kind::PreviousToken ? tr("to previous")
                          : e.kind == GuidedExample::Kind::Induction   ? tr("induction")
                          : e.kind == GuidedExample::Kind::Alignment   ? tr("alignment")
                                                                       : tr("parked"));
  scores_->set_bars(scores, labels, finding_.layer * H + finding_.head, true);
  scores_->add_reference(finding_.chance, tr("evenly spread attention"));
  open_button_->setEnabled(true);
  Q_EMIT example_ready(r.index);
}

void GuidedTab::show_message(const QString& message) { status_->setText(message); }

QString GuidedTab::explanation() const {
  if (current_ < 0 || !finding_.found()) return {};
  // The picture hint describes the pattern; it would mislead when even the best head is weak.
  const QString hint = finding_.clear ? QLatin1Char(' ') + picture_hint(guided_examples()[size_t(current_)].kind) : QString();
  const QString walk = cross_ && recording_ ? QStringLiteral("\n\n") + cross_walk(*cross_, recording_->meta()) : QString();
  return qstr(finding_.explanation) + hint + tr(" The bars below score every head the same way; the highlighted one was chosen.") + walk;
}

QString GuidedTab::render_title() const {
  if (current_ < 0) return tr("Guided examples");
  return guided_examples()[size_t(current_)].title + (recording_ ? QStringLiteral(" — ") + heatmap_->render_title() : QString());
}

void GuidedTab::render(QCPPainter& painter, const QSize& size) {
  QList<FigureCell> cells;
  FigureCell map;  // the heatmap has its own title
  map.draw = [this](QCPPainter& p, const QSize& s) { heatmap_->render(p, s); };
  map.weight = 3;
  FigureCell bars;
  bars.heading = tr("Every head, measured");
  bars.draw = plot_drawer(scores_);
  cells << map << bars;
  draw_figure(painter, size, render_title(), cells, 1, recording_ ? explanation() : status_->text());
}

}  // namespace attn::ui
