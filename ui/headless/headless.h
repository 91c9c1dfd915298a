#pragma once
// `attnscope export` without a window: builds the requested view on a recording and writes
// it with the same code as the GUI (PNG / SVG / PDF), or writes the view's numbers (CSV /
// NPY). Needs a QApplication (offscreen is fine). Throws attn::Error naming the problem.
#include <QSize>
#include <QString>
#include <QStringList>

#include "analysis/reading.h"
#include "analysis/rollout.h"
#include "colormap/colormap.h"
#include "session/ablate.h"
#include "qt_convert.h"

namespace attn::ui {

struct HeadlessRequest {
  // model | heatmap | head | rollout | stats, and for image recordings overlay |
  // overlay-heads | image-rollout; prediction for recordings that hold predictions
  QString view = QStringLiteral("heatmap");
  int layer = 0;                             // -1: the last layer
  int head = 0;                              // a head, kHeadMean or kHeadMax
  int query = -1;                            // rollout / head view / overlays: a token, or -1
  int patch_row = -1, patch_col = -1;        // overlays: the query as a patch (wins over query)
  bool smooth = false;                       // overlays: bilinear, else one block per patch
  double opacity = 0.6;                      // overlays: of the attention over the picture
  bool input_resolution = false;             // overlays: the picture as the model saw it
  RolloutOptions rollout;                    // rollout, image-rollout
  QString recording_dir;                     // where to look for a picture that moved
  ColorSettings colors;
  QSize size;                                // empty: the view's default
  double dpi = 96;
  QString stat = QStringLiteral("entropy");  // stats view: entropy | distance | special | previous | self
  int step = 0;                              // timeline: the generated token (0 = the first)
  bool alignment_lines = false, alignment_words = false, alignment_all_layers = false;  // alignment
  bool all_steps = false;                    // timeline: every token, to OUT_001.png, OUT_002.png, …
  RecordingPtr compare;                      // compare: recording B (A is the one exported)
  QString compare_source = QStringLiteral("B");  // compare: how B is named (its file name)
  bool compare_every_head = false;           // compare: every head's A − B instead of the selection's
  std::shared_ptr<const SweepResult> sweep;  // sweep: the map drawn (session/ablate.h)
  bool dark = false;
  Reading reading;                           // sinks hidden, words, sentences: every view reads the recording so
  QString out;                               // .png .svg .pdf .csv .npy
};

// The views `view` may name.
QStringList headless_views();
// Writes the export of `recording` read as request.reading says; returns the files written (several for the model view as NPY, and for
// every step of a timeline).
QStringList export_headless(const RecordingPtr& recording, const HeadlessRequest& request);

}  // namespace attn::ui
