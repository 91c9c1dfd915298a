#include "export_command.h"

#include <QApplication>
#include <QFileInfo>
#include <QTemporaryDir>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "ablate_command.h"
#include "headless/headless.h"
#include "views/view_table.h"
#include "nn/model.h"
#include "picture_file.h"
#include "session/run.h"
#include "util/error.h"

namespace attn::cli {

namespace {

QSize parse_size(const std::string& s) {
  const auto x = s.find_first_of("xX");
  try {
    if (x == std::string::npos) throw std::invalid_argument(s);
    size_t used = 0;
    const int w = std::stoi(s.substr(0, x), &used);
    if (used != x) throw std::invalid_argument(s);
    const int h = std::stoi(s.substr(x + 1), &used);
    if (used != s.size() - x - 1 || w <= 0 || h <= 0) throw std::invalid_argument(s);
    return {w, h};
  } catch (const std::exception&) {
    throw UsageError("--size must look like 1600x1200, not '" + s + "'");
  }
}

int parse_head(const std::string& s) {
  if (s == "mean") return kHeadMean;
  if (s == "max") return kHeadMax;
  try {
    size_t used = 0;
    const int h = std::stoi(s, &used);
    if (used == s.size() && h >= 0) return h;
  } catch (const std::exception&) {
  }
  throw UsageError("--head must be a head number, mean or max, not '" + s + "'");
}

int parse_int(const std::string& name, const std::string& s) {
  try {
    size_t used = 0;
    const int v = std::stoi(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw UsageError("--" + name + " must be a whole number, not '" + s + "'");
}

double parse_double(const std::string& name, const std::string& s, double lo, double hi) {
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    if (used == s.size() && v >= lo && v <= hi) return v;
  } catch (const std::exception&) {
  }
  throw UsageError("--" + name + " must be a number from " + std::to_string(lo).substr(0, 4) + " to " + std::to_string(hi).substr(0, 4) + ", not '" + s + "'");
}

// --query: a token number, or ROW,COL for a patch of an image recording.
void parse_query(const std::string& s, ui::HeadlessRequest* req) {
  const auto comma = s.find(',');
  if (comma == std::string::npos) {
    req->query = parse_int("query", s);
    return;
  }
  try {
    size_t used = 0;
    req->patch_row = std::stoi(s.substr(0, comma), &used);
    if (used != comma) throw std::invalid_argument(s);
    req->patch_col = std::stoi(s.substr(comma + 1), &used);
    if (used != s.size() - comma - 1) throw std::invalid_argument(s);
  } catch (const std::exception&) {
    throw UsageError("--query must be a token number or a patch ROW,COL (e.g. 3,4), not '" + s + "'");
  }
}

// Runs --model on --text or --image through the pipeline, keeping the predictions (for
// --view prediction), and per-head Q/K/V when the view shows them (`qkv`).
ui::RecordingPtr run_model(const Args& a, bool qkv) {
  const auto model = Model::load(a.require("model"));
  const auto image = a.get("image");
  RunRequest req;
  if (model->takes_images()) {
    if (!image) throw UsageError(model->name() + " is an image model: give it a picture with --image FILE");
    if (a.get("text") || a.get("pair")) throw UsageError("give either --image or --text, not both");
    req.image_path = *image;
    req.image = imageio::decode_image_file(req.image_path);
  } else {
    if (image) throw UsageError(model->name() + " is a text model: give it --text, not --image");
    req.text = a.require("text");
    req.pair = a.get("pair");
    req.truncate = a.flag("truncate");
  }
  req.options.record_qkv = qkv;
  return attn::run_model(*model, std::move(req)).recording;
}

ui::RecordingPtr record(const Args& a, bool qkv) {
  if (const auto path = a.get("recording")) {
    if (a.get("model") || a.get("text") || a.get("image")) throw UsageError("give either --recording or --model with --text / --image, not both");
    return AttentionRecording::open(*path);
  }
  if (!a.get("model")) throw UsageError("--recording FILE (or --model DIR with --text STR or --image FILE) is required");
  return run_model(a, qkv);
}

}  // namespace

// "the view: model, heatmap, …, overlay (images), …": the view table's names.
std::string view_help() {
  std::string out = "the view: ";
  for (const ui::ViewSpec& v : ui::view_table())
    out += std::string(v.name) + (v.shows_for == ui::ViewFor::Images        ? " (images)"
                                  : v.shows_for == ui::ViewFor::Generations ? " (generations)"
                                  : v.shows_for == ui::ViewFor::Translations ? " (translations)"
                                                                             : "") +
           ", ";
  return out.substr(0, out.size() - 2) + " (default heatmap)";
}

const std::vector<OptionSpec>& export_options() {
  static const std::vector<OptionSpec> specs = [] {
    std::vector<OptionSpec> list = {
      {"recording", true, "FILE", "recording to show (from 'attnscope record' or File > Save recording)"},
      {"recording-b", true, "FILE", "compare view: the recording B set against A (--recording, or --model's run); "
                                    "A − B needs the same layers, heads and number of tokens, else the two are side by side"},
      {"model", true, "DIR", "instead of a recording: run this model folder on --text (or --image)"},
      {"text", true, "STR", "input text (with --model)"},
      {"image", true, "FILE", "input picture (PNG, JPEG, BMP) for an image model (with --model)"},
      {"pair", true, "STR", "second sentence (with --model, BERT-style pairs)"},
      {"truncate", false, "", "cut text longer than the model's positions"},
      {"view", true, "NAME", view_help()},
      {"layer", true, "L", "layer to show (default 0; negative counts from the last)"},
      {"head", true, "H|mean|max", "head to show, or the mean / max over the layer's heads (default 0)"},
      {"query", true, "I|R,C", "rollout / head view / overlays: the query token, or a patch ROW,COL (default [CLS])"},
      {"overlay", true, "MODE", "overlays: blocks (one per patch, default) or smooth (bilinear)"},
      {"opacity", true, "A", "overlays: opacity of the attention over the picture, 0 to 1 (default 0.6)"},
      {"picture", true, "WHICH", "overlays: original (default) or input (as the model saw it)"},
      {"fusion", true, "NAME", "rollout: how heads are fused, mean, max or min (default mean)"},
      {"discard", true, "R", "rollout: share of the weakest weights dropped per layer, 0 to 0.95 (default 0)"},
      {"rollout-method", true, "NAME", "rollout, image-rollout: rollout (products through the layers, default) or flow (Abnar & Zuidema's max-flow, slower)"},
      {"stat", true, "NAME", "stats view: entropy, distance, special, previous, self or first (share to the first token; default entropy)"},
      {"lines", false, "", "alignment: lines from the source to the target instead of the matrix"},
      {"hide-special", false, "", "hide the special tokens' columns ([CLS], [SEP], <s>, ...) and renormalise each row over the keys left"},
      {"hide-first", false, "", "hide the first token's column (the usual attention sink) and renormalise each row"},
      {"words", false, "", "merge sub-word pieces into words (see --word-rule; alignment: sum over source pieces, mean over target pieces)"},
      {"sentences", false, "", "merge words into sentences (blocks ended by . ! ? and special tokens), as --words merges pieces"},
      {"word-rule", true, "RULE", "--words/--sentences: sum-keys (keys summed, queries averaged; rows keep summing to 1; default) or mean-keys"},
      {"all-layers", false, "", "alignment: the mean over every layer instead of --layer"},
      {"every-head", false, "", "compare: every head's A − B as a model view (numbers: max and mean |A − B| per head)"},
      {"step", true, "T|all", "timeline: the generated token to show, 1 = the first (default), or all: one numbered file per token; "
                              "sweep with --generation: the generated token measured"},
      {"colormap", true, "NAME", "viridis, magma, inferno, cividis or grey (default viridis)"},
      {"scaling", true, "NAME", "linear, log or power (default linear)"},
      {"gamma", true, "G", "exponent of the power scaling (default 0.5)"},
      {"shared-range", false, "", "one colour range for all heads instead of each head's own"},
      {"dark", false, "", "dark theme"},
      {"size", true, "WxH", "image size: pixels for PNG, 1/96 inch for SVG and PDF (default: the view's)"},
      {"dpi", true, "N", "PNG resolution: scales text and lines, stored in the file (default 96)"},
      {"out", true, "FILE", "output: .png, .svg, .pdf (the picture) or .csv, .npy (the numbers)"},
    };
    // --view sweep runs a sweep first, set up as `attnscope ablate --sweep` sets it up.
    for (OptionSpec o : sweep_options()) {
      o.help = "sweep: " + o.help;
      list.push_back(o);
    }
    return list;
  }();
  return specs;
}

int cmd_export(const Args& a, int argc, char** argv) {
  ui::HeadlessRequest req;
  req.out = QString::fromStdString(a.require("out"));
  req.view = QString::fromStdString(a.get("view").value_or("heatmap"));
  if (!ui::headless_views().contains(req.view))
    throw UsageError("--view must be one of " + ui::headless_views().join(", ").toStdString());
  if (const auto s = a.get("layer")) req.layer = parse_int("layer", *s);
  if (const auto s = a.get("head")) req.head = parse_head(*s);
  if (const auto s = a.get("query")) parse_query(*s, &req);
  if (const auto s = a.get("overlay")) {
    if (*s != "smooth" && *s != "blocks" && *s != "blocky") throw UsageError("--overlay must be blocks or smooth");
    req.smooth = *s == "smooth";
  }
  if (const auto s = a.get("opacity")) req.opacity = parse_double("opacity", *s, 0.0, 1.0);
  if (const auto s = a.get("picture")) {
    if (*s != "original" && *s != "input") throw UsageError("--picture must be original or input");
    req.input_resolution = *s == "input";
  }
  if (const auto s = a.get("fusion")) {
    if (*s == "mean") req.rollout.fusion = HeadFusion::Mean;
    else if (*s == "max") req.rollout.fusion = HeadFusion::Max;
    else if (*s == "min") req.rollout.fusion = HeadFusion::Min;
    else throw UsageError("--fusion must be mean, max or min");
  }
  if (const auto s = a.get("rollout-method")) {
    if (*s == "rollout") req.rollout.method = RolloutMethod::Rollout;
    else if (*s == "flow") req.rollout.method = RolloutMethod::Flow;
    else throw UsageError("--rollout-method must be rollout or flow");
  }
  if (const auto s = a.get("discard")) req.rollout.discard_ratio = float(parse_double("discard", *s, 0.0, 0.95));
  if (const auto s = a.get("recording")) req.recording_dir = QFileInfo(QString::fromStdString(*s)).absolutePath();
  if (const auto s = a.get("stat")) req.stat = QString::fromStdString(*s);
  req.alignment_lines = a.flag("lines");
  req.alignment_words = a.flag("words") && req.view == QLatin1String("alignment");
  req.reading.hide_special = a.flag("hide-special");
  req.reading.hide_first = a.flag("hide-first");
  if (a.flag("words") && a.flag("sentences")) throw UsageError("give --words or --sentences, not both");
  if (a.flag("sentences")) req.reading.unit = ReadingUnit::Sentences;
  else if (a.flag("words") && !req.alignment_words) req.reading.unit = ReadingUnit::Words;
  if (const auto s = a.get("word-rule")) {
    if (*s != "sum-keys" && *s != "mean-keys") throw UsageError("--word-rule must be sum-keys or mean-keys, not '" + *s + "'");
    req.reading.rule = *s == "sum-keys" ? WordRule::SumKeysMeanQueries : WordRule::MeanKeysSumQueries;
  }
  req.alignment_all_layers = a.flag("all-layers");
  req.compare_every_head = a.flag("every-head");
  if (const auto s = a.get("recording-b")) {
    if (req.view != QLatin1String("compare")) throw UsageError("--recording-b is for --view compare");
    req.compare = AttentionRecording::open(*s);
    req.compare_source = QFileInfo(QString::fromStdString(*s)).fileName();
  } else if (req.view == QLatin1String("compare")) {
    throw UsageError("--view compare needs --recording-b FILE: the recording B to set against A");
  }
  if (const auto s = a.get("step")) {
    if (*s == "all") req.all_steps = true;
    else req.step = parse_int("step", *s) - 1;
    if (req.step < 0) throw UsageError("--step must be a token number from 1, or all");
  }
  if (const auto s = a.get("colormap")) {
    const auto map = ui::colormap_from_name(QString::fromStdString(*s));
    if (!map) throw UsageError("--colormap must be one of " + ui::colormap_names().join(", ").toStdString());
    req.colors.map = *map;
  }
  if (const auto s = a.get("scaling")) {
    const auto sc = ui::scaling_from_name(QString::fromStdString(*s));
    if (!sc) throw UsageError("--scaling must be linear, log or power");
    req.colors.scaling = *sc;
  }
  if (const auto s = a.get("gamma")) {
    try {
      req.colors.gamma = std::stod(*s);
    } catch (const std::exception&) {
      throw UsageError("--gamma must be a number");
    }
    if (!(req.colors.gamma > 0.0 && req.colors.gamma <= 10.0)) throw UsageError("--gamma must be in (0, 10]");
  }
  req.colors.shared_range = a.flag("shared-range");
  req.dark = a.flag("dark");
  if (const auto s = a.get("size")) req.size = parse_size(*s);
  if (const auto s = a.get("dpi")) req.dpi = a.get_int("dpi", 96, 24, 2400);

  ui::RecordingPtr rec;
  if (req.view == QLatin1String("sweep")) {
    // The sweep is run here (as `attnscope ablate --sweep`), then drawn as the window draws it.
    if (a.get("recording")) throw UsageError("--view sweep runs a sweep: give --model with --text (or --generation FILE --step T), not --recording");
    const auto model = Model::load(a.require("model"));
    const AblationRequest ablation = ablation_request(a, *model);
    req.sweep = std::make_shared<const SweepResult>(sweep_heads(*model, ablation, sweep_unit(a.get("sweep").value_or("heads"))));
    clear_progress();
    rec = a.get("generation") ? AttentionRecording::open(*a.get("generation")) : run_model(a, false);
  } else {
    for (const OptionSpec& o : sweep_options())
      if (a.get(o.name)) throw UsageError("--" + o.name + " is for --view sweep");
    rec = record(a, ui::find_view(req.view)->needs_qkv);
  }
  // Headless: no display needed. An explicit QT_QPA_PLATFORM wins.
  if (std::getenv("QT_QPA_PLATFORM") == nullptr) setenv("QT_QPA_PLATFORM", "offscreen", 1);
  QTemporaryDir runtime;  // Qt wants a private runtime folder; give it one instead of a warning
  if (std::getenv("XDG_RUNTIME_DIR") == nullptr && runtime.isValid()) setenv("XDG_RUNTIME_DIR", runtime.path().toLocal8Bit().constData(), 1);
  int qt_argc = argc > 0 ? 1 : 0;
  QApplication app(qt_argc, argv);
  const QStringList files = ui::export_headless(rec, req);
  for (const QString& f : files) std::printf("wrote %s\n", f.toLocal8Bit().constData());
  return 0;
}

}  // namespace attn::cli
