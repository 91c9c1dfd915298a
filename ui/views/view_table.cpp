#include "views/view_table.h"

#include <QWidget>

#include "analysis/compare.h"
#include "record/raw_export.h"
#include "run/compare_cache.h"
#include "session/ablate.h"
#include "run/rollout_cache.h"
#include "state/view_state.h"
#include "util/error.h"
#include "views/alignment_view.h"
#include "views/compare_view.h"
#include "views/head_view.h"
#include "views/heatmap_view.h"
#include "views/model_view.h"
#include "views/prediction_panel.h"
#include "views/qk_scatter_view.h"
#include "views/rollout_view.h"
#include "views/sweep_view.h"
#include "views/timeline_view.h"

namespace attn::ui {

namespace {

std::vector<std::string> token_labels_numbered(const RecordingMeta& meta) {
  std::vector<std::string> out;
  for (size_t i = 0; i < meta.tokens.size(); ++i) out.push_back(std::to_string(i) + ":" + meta.tokens[i]);
  return out;
}

const AttentionRecording& recording_of(const ViewState& state, const QString& out) {
  if (!state.recording()) throw Error(out.toStdString() + ": nothing to export yet");
  return *state.recording();
}

// (N, N) with token labels: the selected head (or mean / max), or the rollout.
QStringList write_token_matrix(const ViewState& state, const RowMatrix& m, const QString& out, bool csv) {
  const auto labels = token_labels_numbered(state.recording()->meta());
  if (csv) write_matrix_csv(fspath(out), m, labels, labels);
  else write_npy(fspath(out), m);
  return {out};
}

QStringList selected_matrix_numbers(const ViewState& state, const ViewSettings&, const QString& out, bool csv) {
  recording_of(state, out);
  return write_token_matrix(state, RowMatrix(state.current_matrix()), out, csv);
}

QStringList rollout_numbers(const ViewState& state, const ViewSettings&, const QString& out, bool csv) {
  recording_of(state, out);
  const auto& rollout = state.rollout()->result();
  if (!rollout) throw Error(out.toStdString() + ": the rollout is not computed yet");
  return write_token_matrix(state, *rollout, out, csv);
}

// One (H, N, N) file per layer: the model view shows every head.
QStringList model_numbers(const ViewState& state, const ViewSettings&, const QString& out, bool csv) {
  const auto& rec = recording_of(state, out);
  if (csv) throw Error(out.toStdString() + ": the model view has one matrix per head; export it as .npy (one file per layer)");
  const auto path = fspath(out);
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  const auto stem = path.stem().string();
  QStringList files;
  const int H = rec.num_heads(), N = rec.num_tokens();
  for (int l = 0; l < rec.num_layers(); ++l) {
    std::vector<float> block(size_t(H) * N * N);
    for (int h = 0; h < H; ++h) {
      RowMatrix scratch;
      const ConstMatrixMap m = rec.head_for_sweep(l, h, scratch);
      std::copy(m.data(), m.data() + m.size(), block.begin() + size_t(h) * N * N);
    }
    const auto file = dir / (stem + "_layer" + std::to_string(l) + ".npy");
    write_npy(file, block.data(), {H, N, N});
    files << qpath(file);
  }
  return files;
}

// Every statistic of every head: (L, H, 7).
QStringList stats_numbers(const ViewState& state, const ViewSettings&, const QString& out, bool csv) {
  recording_of(state, out);
  const AnalysisPtr& analysis = state.analysis();
  if (!analysis) throw Error(out.toStdString() + ": the head statistics are not computed yet");
  const auto path = fspath(out);
  static const char* names[] = {"entropy", "mean_distance", "special_share", "previous_share", "self_share", "max_weight", "first_share"};
  if (csv) {
    std::vector<std::vector<std::string>> rows;
    for (int l = 0; l < analysis->num_layers; ++l)
      for (int h = 0; h < analysis->num_heads; ++h) {
        const auto& s = analysis->stat(l, h);
        rows.push_back({std::to_string(l), std::to_string(h)});
        for (float v : {s.entropy, s.mean_distance, s.special_share, s.previous_share, s.self_share, s.max_weight, s.first_share})
          rows.back().push_back(QString::number(v, 'g', 9).toStdString());
      }
    std::vector<std::string> header{"layer", "head"};
    header.insert(header.end(), std::begin(names), std::end(names));
    write_csv(path, header, rows);
  } else {
    std::vector<float> v;
    for (const auto& s : analysis->stats) v.insert(v.end(), {s.entropy, s.mean_distance, s.special_share, s.previous_share, s.self_share, s.max_weight, s.first_share});
    write_npy(path, v.data(), {analysis->num_layers, analysis->num_heads, 7});
  }
  return {out};
}

// The overlays' numbers: one (rows, cols) grid, or every head's (and the mean's) stacked.
QStringList overlay_numbers(const ViewState& state, const ViewSettings& settings, const QString& out, bool csv) {
  recording_of(state, out);
  if (!state.patch_layout()) throw Error(out.toStdString() + ": the overlay needs an image recording");
  const auto path = fspath(out);
  if (settings.overlay_heads) {
    const OverlayGrid::Content g = head_grid_content(state, settings.overlay, state.query());
    const int rows = g.base.layout.rows, cols = g.base.layout.cols;
    if (csv) {
      std::vector<std::vector<std::string>> table;
      for (const auto& cell : g.cells)
        for (int r = 0; r < rows; ++r)
          for (int c = 0; c < cols; ++c)
            table.push_back({cell.name.toStdString(), std::to_string(r), std::to_string(c), QString::number(cell.grid(r, c), 'g', 9).toStdString()});
      write_csv(path, {"head", "row", "col", "weight"}, table);
    } else {
      std::vector<float> v;
      for (const auto& cell : g.cells) v.insert(v.end(), cell.grid.data(), cell.grid.data() + cell.grid.size());
      write_npy(path, v.data(), {int64_t(g.cells.size()), rows, cols});
    }
    return {out};
  }
  const RowMatrix* rollout = nullptr;
  if (settings.overlay_source == OverlayView::Source::Rollout) {
    rollout = state.rollout()->result().get();
    if (!rollout) throw Error(out.toStdString() + ": the rollout is not computed yet");
  }
  const OverlayContent c = overlay_content(state, settings.overlay, state.query(), rollout);
  if (c.grid.size() == 0) throw Error(out.toStdString() + ": the overlay shows nothing yet");
  if (csv) write_matrix_csv(path, c.grid, numbered_labels("r", int(c.grid.rows())), numbered_labels("c", int(c.grid.cols())), "row\\col");
  else write_npy(path, c.grid);
  return {out};
}

std::string no_predictions(const ViewState& state) {
  if (state.recording() && read_predictions(state.recording()->meta())) return {};
  return "the recording holds no predictions (they are stored by the GUI's runs and by 'attnscope export --model'); "
         "run the model with 'attnscope predict' instead";
}

// The top predictions: rank, label, id, probability.
QStringList prediction_numbers(const ViewState& state, const ViewSettings&, const QString& out, bool csv) {
  const auto p = read_predictions(recording_of(state, out).meta());
  if (!p) throw Error(no_predictions(state));
  if (csv) {
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < p->top.size(); ++i)
      rows.push_back({std::to_string(i + 1), p->top[i].label, std::to_string(p->top[i].id), QString::number(p->top[i].prob, 'g', 9).toStdString()});
    write_csv(fspath(out), {"rank", "label", "id", "probability"}, rows);
  } else {
    std::vector<float> v;
    for (const auto& e : p->top) v.push_back(float(e.prob));
    write_npy(fspath(out), v.data(), {int64_t(v.size())});
  }
  return {out};
}

std::string no_generation(const ViewState& state) {
  if (state.recording() && read_generation(*state.recording())) return {};
  return "the recording is not a generation: make one with 'attnscope generate --out FILE' (or Generate in the window)";
}

// The timeline's strip at one step: each head's producing row, the mean and the max, over the keys.
QStringList timeline_numbers(const ViewState& state, const ViewSettings& settings, const QString& out, bool csv) {
  recording_of(state, out);
  const auto s = timeline_step(state, std::max(0, settings.step));
  if (!s) throw Error(no_generation(state));
  const int heads = int(s->rows.rows()) - 2;
  std::vector<std::string> rows, keys;
  for (int r = 0; r < heads; ++r) rows.push_back("head " + std::to_string(r));
  rows.insert(rows.end(), {"mean", "max"});
  for (int k = 0; k < int(s->tokens.size()); ++k) keys.push_back(std::to_string(k) + ":" + s->tokens[size_t(k)]);
  if (csv) write_matrix_csv(fspath(out), s->rows, rows, keys, "row\\key");
  else write_npy(fspath(out), s->rows);
  return {out};
}

ViewSettings timeline_settings(const QWidget* w) {
  ViewSettings s;
  s.step = static_cast<const TimelineView*>(w)->step();
  return s;
}

QWidget* make_timeline(ViewState* state, const ViewSettings& settings, QWidget* parent) {
  auto* v = new TimelineView(state, parent);
  if (settings.step >= 0) v->set_step(settings.step);
  return v;
}

std::string no_translation(const ViewState& state) {
  if (state.recording() && state.recording()->meta().encoder_decoder()) return {};
  return "the recording is not a translation: make one with an encoder-decoder (BART, Marian, T5) and 'attnscope generate --out FILE'";
}

// The alignment as shown: target × source, pieces or words.
QStringList alignment_numbers(const ViewState& state, const ViewSettings& settings, const QString& out, bool csv) {
  const auto& rec = recording_of(state, out);
  if (const std::string why = no_translation(state); !why.empty()) throw Error(why);
  const Alignment a = alignment(rec, settings.alignment_all_layers ? kAllLayers : state.layer(), state.head(), settings.alignment_words);
  std::vector<std::string> rows, cols;
  for (size_t i = 0; i < a.target.size(); ++i) rows.push_back(std::to_string(i) + ":" + a.target[i]);
  for (size_t i = 0; i < a.source.size(); ++i) cols.push_back(std::to_string(i) + ":" + a.source[i]);
  if (csv) write_matrix_csv(fspath(out), a.weights, rows, cols, "target\\source");
  else write_npy(fspath(out), a.weights);
  return {out};
}

ViewSettings alignment_settings(const QWidget* w) {
  const auto* v = static_cast<const AlignmentView*>(w);
  ViewSettings s;
  s.alignment_lines = v->style() == AlignmentView::Style::Lines;
  s.alignment_all_layers = v->all_layers();
  s.alignment_words = v->words();
  return s;
}

QWidget* make_alignment(ViewState* state, const ViewSettings& settings, QWidget* parent) {
  auto* v = new AlignmentView(state, parent);
  v->set_style(settings.alignment_lines ? AlignmentView::Style::Lines : AlignmentView::Style::Matrix);
  v->set_all_layers(settings.alignment_all_layers);
  v->set_words(settings.alignment_words);
  return v;
}

// A − B of the selection (N, N), or every head's max and mean |A − B| (L, H, 2).
QStringList compare_numbers(const ViewState& state, const ViewSettings& settings, const QString& out, bool csv) {
  const auto& a = recording_of(state, out);
  if (const std::string why = no_comparison(state); !why.empty()) throw Error(why);
  const AttentionRecording& b = *state.comparison()->b();
  if (!settings.compare_every_head) return write_token_matrix(state, attention_difference(a, b, state.layer(), state.head()), out, csv);
  const Comparison c = compare_recordings(a, b);
  if (csv) {
    std::vector<std::vector<std::string>> rows;
    for (int l = 0; l < c.num_layers; ++l)
      for (int h = 0; h < c.num_heads; ++h)
        rows.push_back({std::to_string(l), std::to_string(h), QString::number(c.max_of(l, h), 'g', 9).toStdString(),
                        QString::number(c.mean_of(l, h), 'g', 9).toStdString()});
    write_csv(fspath(out), {"layer", "head", "max_abs_difference", "mean_abs_difference"}, rows);
  } else {
    std::vector<float> v;
    for (size_t i = 0; i < c.head_max_abs.size(); ++i) v.insert(v.end(), {c.head_max_abs[i], c.head_mean_abs[i]});
    write_npy(fspath(out), v.data(), {c.num_layers, c.num_heads, 2});
  }
  return {out};
}

ViewSettings compare_settings(const QWidget* w) {
  ViewSettings s;
  s.compare_every_head = static_cast<const CompareView*>(w)->mode() == CompareView::Mode::EveryHead;
  return s;
}

QWidget* make_compare(ViewState* state, const ViewSettings& settings, QWidget* parent) {
  auto* v = new CompareView(state, parent);
  v->set_mode(settings.compare_every_head ? CompareView::Mode::EveryHead : CompareView::Mode::Selection);
  return v;
}

ViewSettings no_settings(const QWidget*) { return {}; }

ViewSettings overlay_settings(const QWidget* w) {
  const auto* v = static_cast<const OverlayView*>(w);
  ViewSettings s;
  s.overlay.smooth = v->smooth();
  s.overlay.opacity = v->opacity();
  s.overlay.input_resolution = v->input_resolution();
  s.overlay_source = v->source();
  s.overlay_heads = v->show_heads();
  return s;
}

ViewSettings stats_settings(const QWidget* w) {
  ViewSettings s;
  s.stat = static_cast<const StatsView*>(w)->metric();
  return s;
}

template <typename View>
QWidget* make_plain(ViewState* state, const ViewSettings&, QWidget* parent) {
  return new View(state, parent);
}

QWidget* make_stats(ViewState* state, const ViewSettings& settings, QWidget* parent) {
  auto* v = new StatsView(state, parent);
  v->set_metric(settings.stat);
  return v;
}

QWidget* make_rollout(ViewState* state, const ViewSettings&, QWidget* parent) {
  auto* v = new RolloutView(state, parent);
  if (state->rollout()->result()) v->set_rollout(state->rollout()->result());
  return v;
}

QWidget* make_overlay(ViewState* state, const ViewSettings& settings, QWidget* parent) {
  auto* v = new OverlayView(state, parent);
  v->set_smooth(settings.overlay.smooth);
  v->set_opacity(settings.overlay.opacity);
  v->set_input_resolution(settings.overlay.input_resolution);
  v->set_show_heads(settings.overlay_heads);
  v->set_source(settings.overlay_source);
  return v;
}

QWidget* make_overlay_heads(ViewState* state, const ViewSettings& settings, QWidget* parent) {
  ViewSettings s = settings;
  s.overlay_heads = true;
  return make_overlay(state, s, parent);
}

QWidget* make_image_rollout(ViewState* state, const ViewSettings& settings, QWidget* parent) {
  ViewSettings s = settings;
  s.overlay_source = OverlayView::Source::Rollout;
  return make_overlay(state, s, parent);
}

QStringList overlay_heads_numbers(const ViewState& state, const ViewSettings& settings, const QString& out, bool csv) {
  ViewSettings s = settings;
  s.overlay_heads = true;
  return overlay_numbers(state, s, out, csv);
}

std::string no_qk(const ViewState& state) { return qk_scatter_missing(state); }

QStringList qk_numbers(const ViewState& state, const ViewSettings&, const QString& out, bool csv) {
  recording_of(state, out);
  return write_qk_points(state, out, csv);
}

QStringList image_rollout_numbers(const ViewState& state, const ViewSettings& settings, const QString& out, bool csv) {
  ViewSettings s = settings;
  s.overlay_source = OverlayView::Source::Rollout;
  return overlay_numbers(state, s, out, csv);
}

std::string no_sweep(const ViewState& state) {
  if (state.sweep()) return {};
  return "no ablation sweep yet: run one from the Interventions panel (Sweep), or use 'attnscope ablate --sweep heads --json'";
}

// The sweep's effects: (layers, heads) or (layers, 1).
QStringList sweep_numbers(const ViewState& state, const ViewSettings&, const QString& out, bool csv) {
  const auto& s = state.sweep();
  if (!s) throw Error(out.toStdString() + ": " + no_sweep(state));
  if (csv) {
    std::vector<std::string> rows, cols;
    for (int l = 0; l < s->effect.rows(); ++l) rows.push_back("layer " + std::to_string(l));
    for (int h = 0; h < s->effect.cols(); ++h) cols.push_back(s->unit == SweepUnit::Heads ? "head " + std::to_string(h) : "layer");
    write_matrix_csv(fspath(out), s->effect, rows, cols, "layer\\head");
  } else {
    write_npy(fspath(out), s->effect);
  }
  return {out};
}

}  // namespace

const std::vector<ViewSpec>& view_table() {
  static const std::vector<ViewSpec> rows = {
      // name, title, help, tab, for, needs rollout, make, settings of, missing, numbers
      {"model", "Model", "every layer × head as a thumbnail; click one to open it", true, ViewFor::Any, false, make_plain<ModelView>,
       no_settings, nullptr, model_numbers},
      {"heatmap", "Heatmap", "one head (or a layer's mean / max): queries down, keys across; hover for the weight", true, ViewFor::Any, false,
       make_plain<HeatmapView>, no_settings, nullptr, selected_matrix_numbers},
      {"head", "Head view", "lines from each token to the tokens it attends to, one colour per head", true, ViewFor::Any, false,
       make_plain<HeadView>, no_settings, nullptr, selected_matrix_numbers},
      {"rollout", "Rollout", "attention rollout or attention flow (Abnar & Zuidema) through the layers", true, ViewFor::Any, true, make_rollout, no_settings,
       nullptr, rollout_numbers},
      {"stats", "Head statistics", "entropy, distance, special-token, previous-token and self shares of every head", true, ViewFor::Any, false,
       make_stats, stats_settings, nullptr, stats_numbers},
      {"qk", "Query/key space", "one head's queries and keys projected together to 2-D (AttentionViz); needs Q/K/V", true, ViewFor::Any,
       false, make_plain<QkScatterView>, no_settings, no_qk, qk_numbers, /*needs_qkv=*/true},
      {"timeline", "Timeline", "a generation token by token: the candidates and the attention row that chose each token", true,
       ViewFor::Generations, false, make_timeline, timeline_settings, no_generation, timeline_numbers},
      {"alignment", "Alignment", "a translation's source × target cross-attention, as a matrix or lines; words or pieces", true,
       ViewFor::Translations, false, make_alignment, alignment_settings, no_translation, alignment_numbers},
      {"overlay", "Overlay", "a head's attention over the picture (image models)", true, ViewFor::Images, false, make_overlay, overlay_settings,
       nullptr, overlay_numbers},
      {"compare", "Compare", "this recording (A) and another (B) side by side and their difference A − B, per head or for every head", true,
       ViewFor::Any, false, make_compare, compare_settings, no_comparison, compare_numbers},
      {"overlay-heads", "Overlay of every head", "every head of a layer over the picture (image models)", false, ViewFor::Images, false,
       make_overlay_heads, overlay_settings, nullptr, overlay_heads_numbers},
      {"image-rollout", "Rollout over the picture", "the attention rollout over the picture (image models)", false, ViewFor::Images, true,
       make_image_rollout, overlay_settings, nullptr, image_rollout_numbers},
      {"sweep", "Sweep", "how far the prediction moves when each head (or layer) alone is switched off, mean-ablated or patched", true,
       ViewFor::Any, false, make_plain<SweepView>, no_settings, no_sweep, sweep_numbers},
      {"prediction", "Prediction", "the model's top predictions for the input", false, ViewFor::Any, false, make_plain<PredictionPanel>,
       no_settings, no_predictions, prediction_numbers},
  };
  return rows;
}

bool view_applies(const ViewSpec& spec, const AttentionRecording* recording) {
  switch (spec.shows_for) {
    case ViewFor::Any: return true;
    case ViewFor::Images: return recording && patch_layout(recording->meta()).has_value();
    case ViewFor::Generations: return recording && read_generation(*recording).has_value();
    case ViewFor::Translations: return recording && recording->meta().encoder_decoder();
  }
  return false;
}

QString view_menu_title(const ViewSpec& spec) {
  const QString title = QObject::tr(spec.title);
  switch (spec.shows_for) {
    case ViewFor::Any: return title;
    case ViewFor::Images: return QObject::tr("%1 (images)").arg(title);
    case ViewFor::Generations: return QObject::tr("%1 (generations)").arg(title);
    case ViewFor::Translations: return QObject::tr("%1 (translations)").arg(title);
  }
  return title;
}

const ViewSpec* find_view(const QString& name) {
  for (const ViewSpec& v : view_table())
    if (name == QLatin1String(v.name)) return &v;
  return nullptr;
}

QStringList view_names() {
  QStringList out;
  for (const ViewSpec& v : view_table()) out << QString::fromLatin1(v.name);
  return out;
}

std::vector<const ViewSpec*> tab_views() {
  std::vector<const ViewSpec*> out;
  for (const ViewSpec& v : view_table())
    if (v.tab) out.push_back(&v);
  return out;
}

Renderable* as_renderable(QWidget* view) { return dynamic_cast<Renderable*>(view); }

}  // namespace attn::ui
