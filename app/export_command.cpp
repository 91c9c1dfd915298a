#include "export_command.h"

#include <QApplication>
#include <QTemporaryDir>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "export/headless.h"
#include "nn/model.h"
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
  if (s == "mean") return ui::kHeadMean;
  if (s == "max") return ui::kHeadMax;
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

ui::RecordingPtr record(const Args& a) {
  if (const auto path = a.get("recording")) {
    if (a.get("model") || a.get("text")) throw UsageError("give either --recording or --model with --text, not both");
    return AttentionRecording::open(*path);
  }
  if (!a.get("model")) throw UsageError("--recording FILE (or --model DIR --text STR) is required");
  const auto model = Model::load(a.require("model"));
  const std::string text = a.require("text");
  const auto pair = a.get("pair");
  const Encoding enc = model->encode(text, pair ? std::optional<std::string_view>(*pair) : std::nullopt, a.flag("truncate"));
  ForwardResult r = model->forward(enc, RunOptions{});
  r.recording->meta_mutable().text = text;
  if (pair) r.recording->meta_mutable().pair = *pair;
  return r.recording;
}

}  // namespace

const std::vector<OptionSpec>& export_options() {
  static const std::vector<OptionSpec> specs = {
      {"recording", true, "FILE", "recording to show (from 'attnscope record' or File > Save recording)"},
      {"model", true, "DIR", "instead of a recording: run this model folder on --text"},
      {"text", true, "STR", "input text (with --model)"},
      {"pair", true, "STR", "second sentence (with --model, BERT-style pairs)"},
      {"truncate", false, "", "cut text longer than the model's positions"},
      {"view", true, "NAME", "model, heatmap, head, rollout or stats (default heatmap)"},
      {"layer", true, "L", "layer to show (default 0; negative counts from the last)"},
      {"head", true, "H|mean|max", "head to show, or the mean / max over the layer's heads (default 0)"},
      {"query", true, "I", "rollout / head view: the query token to follow"},
      {"stat", true, "NAME", "stats view: entropy, distance, special, previous or self (default entropy)"},
      {"colormap", true, "NAME", "viridis, magma, inferno, cividis or grey (default viridis)"},
      {"scaling", true, "NAME", "linear, log or power (default linear)"},
      {"gamma", true, "G", "exponent of the power scaling (default 0.5)"},
      {"shared-range", false, "", "one colour range for all heads instead of each head's own"},
      {"dark", false, "", "dark theme"},
      {"size", true, "WxH", "image size: pixels for PNG, 1/96 inch for SVG and PDF (default: the view's)"},
      {"dpi", true, "N", "PNG resolution: scales text and lines, stored in the file (default 96)"},
      {"out", true, "FILE", "output: .png, .svg, .pdf (the picture) or .csv, .npy (the numbers)"},
  };
  return specs;
}

int cmd_export(const Args& a, int argc, char** argv) {
  ui::HeadlessRequest req;
  req.out = QString::fromStdString(a.require("out"));
  req.view = QString::fromStdString(a.get("view").value_or("heatmap"));
  if (!ui::headless_views().contains(req.view)) throw UsageError("--view must be model, heatmap, head, rollout or stats");
  if (const auto s = a.get("layer")) req.layer = parse_int("layer", *s);
  if (const auto s = a.get("head")) req.head = parse_head(*s);
  if (const auto s = a.get("query")) req.query = parse_int("query", *s);
  if (const auto s = a.get("stat")) req.stat = QString::fromStdString(*s);
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

  const ui::RecordingPtr rec = record(a);
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
