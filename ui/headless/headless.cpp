#include "headless/headless.h"

#include <QDir>
#include <QFileInfo>
#include <memory>

#include "analysis/recording_analysis.h"
#include "analysis/flow.h"
#include "headless/render_export.h"
#include "run/compare_cache.h"
#include "run/rollout_cache.h"
#include "session/generate.h"
#include "state/view_state.h"
#include "util/error.h"
#include "views/view_table.h"

namespace attn::ui {

namespace {

StatsView::Metric metric_for(const QString& s) {
  const QString n = s.toLower();
  if (n.startsWith(QLatin1String("dist"))) return StatsView::Metric::MeanDistance;
  if (n.startsWith(QLatin1String("spec"))) return StatsView::Metric::SpecialShare;
  if (n.startsWith(QLatin1String("prev"))) return StatsView::Metric::PreviousShare;
  if (n.startsWith(QLatin1String("self"))) return StatsView::Metric::SelfShare;
  if (n.startsWith(QLatin1String("first"))) return StatsView::Metric::FirstShare;
  if (n.startsWith(QLatin1String("entropy"))) return StatsView::Metric::Entropy;
  throw Error("unknown statistic '" + s.toStdString() + "': use entropy, distance, special, previous, self or first");
}

}  // namespace

QStringList headless_views() { return view_names(); }

QStringList export_headless(const RecordingPtr& recording, const HeadlessRequest& req) {
  if (!recording) throw Error("nothing to export: no recording");
  const RecordingPtr rec = read_as(recording, req.reading);  // the recording itself for the plain reading
  const ViewSpec* spec = find_view(req.view);
  if (!spec) throw Error("unknown view '" + req.view.toStdString() + "': use " + view_names().join(QStringLiteral(", ")).toStdString());
  const int layer = req.layer < 0 ? rec->num_layers() + req.layer : req.layer;
  if (layer < 0 || layer >= rec->num_layers())
    throw Error("layer " + std::to_string(req.layer) + " is out of range: the recording has " + std::to_string(rec->num_layers()) + " layers (0 to " +
                std::to_string(rec->num_layers() - 1) + ")");
  if (req.head >= rec->num_heads() || req.head < kHeadMax)
    throw Error("head " + std::to_string(req.head) + " is out of range: the recording has " + std::to_string(rec->num_heads()) + " heads");
  if (req.query >= rec->num_tokens())
    throw Error("query token " + std::to_string(req.query) + " is out of range: the recording has " + std::to_string(rec->num_tokens()) + " tokens");
  const auto layout = patch_layout(rec->meta());
  if (spec->shows_for == ViewFor::Images && !layout)
    throw Error("the " + req.view.toStdString() + " view needs an image recording (a ViT or DeiT run, with image_grid in its metadata); " +
                rec->meta().model + " is a text recording: use heatmap, head, rollout, model or stats");
  int query = req.query;
  if (req.patch_row >= 0 || req.patch_col >= 0) {
    if (!layout) throw Error("--query ROW,COL names a patch, but this is not an image recording: give a token number");
    if (req.patch_row < 0 || req.patch_col < 0 || req.patch_row >= layout->rows || req.patch_col >= layout->cols)
      throw Error("patch (" + std::to_string(req.patch_row) + ", " + std::to_string(req.patch_col) + ") is out of range: the patch grid is " +
                  std::to_string(layout->rows) + " rows × " + std::to_string(layout->cols) + " columns");
    query = layout->token(req.patch_row, req.patch_col);
  }

  ViewState state;
  state.set_dark(req.dark);
  state.set_colors(req.colors);
  state.set_recording(rec);
  state.set_analysis(rec, analyze(*rec));
  state.select(layer, req.head);
  state.set_query(query);
  if (layout) state.set_picture(rec, load_recording_picture(*rec, req.recording_dir));
  state.rollout()->set_options(req.rollout);
  if (spec->needs_rollout) state.rollout()->set_result(std::make_shared<const RowMatrix>(attention_attribution(*rec, req.rollout)));
  if (req.sweep) state.set_sweep(req.sweep);
  if (req.compare) {
    state.comparison()->set_b(req.compare, req.compare_source);
    if (req.compare_every_head) state.comparison()->compute_now();  // no event loop here for the background one
  }
  ViewSettings settings;
  settings.overlay.smooth = req.smooth;
  settings.overlay.opacity = req.opacity;
  settings.overlay.input_resolution = req.input_resolution;
  settings.stat = metric_for(req.stat);
  settings.alignment_lines = req.alignment_lines;
  settings.alignment_words = req.alignment_words;
  settings.alignment_all_layers = req.alignment_all_layers;
  settings.compare_every_head = req.compare_every_head;

  if (spec->missing)
    if (const std::string why = spec->missing(state); !why.empty()) throw Error(why);
  // The timeline draws one generated token, or each in turn to numbered files.
  std::vector<std::pair<int, QString>> outputs{{req.step, req.out}};
  if (spec->shows_for == ViewFor::Generations) {
    const int steps = int(read_generation(*rec)->steps.size());
    if (req.step >= steps)
      throw Error("token " + std::to_string(req.step + 1) + " is out of range: the generation has " + std::to_string(steps) + " tokens");
    if (req.all_steps) {
      const QFileInfo out(req.out);
      outputs.clear();
      for (int t = 0; t < steps; ++t)
        outputs.push_back({t, out.dir().filePath(QStringLiteral("%1_%2.%3").arg(out.completeBaseName()).arg(t + 1, 3, 10, QLatin1Char('0')).arg(out.suffix()))});
    }
  } else if (req.all_steps) {
    throw Error("--step all steps through a generation: use it with --view timeline");
  }
  const QString suffix = QFileInfo(req.out).suffix().toLower();
  const bool numbers = suffix == QLatin1String("csv") || suffix == QLatin1String("npy");
  if (!numbers && !image_format_for(req.out)) throw Error(req.out.toStdString() + ": unknown output type: use .png, .svg, .pdf, .csv or .npy");
  QStringList written;
  for (const auto& [step, out] : outputs) {
    settings.step = step;
    if (numbers) {
      written << spec->write_numbers(state, settings, out, suffix == QLatin1String("csv"));
      continue;
    }
    const std::unique_ptr<QWidget> widget(spec->make(&state, settings, nullptr));
    export_image(*as_renderable(widget.get()), out, ImageOptions{req.size, req.dpi});
    written << out;
  }
  return written;
}

}  // namespace attn::ui
