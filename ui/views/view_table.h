#pragma once
// The views, one row each. The main window makes its tabs, its View menu and shortcuts and
// its number export from these rows; `attnscope export --view NAME` finds a view by name and
// draws or writes it with the same code; the help texts and the screenshot tour list them.
// A new view is its files plus one row in view_table.cpp.
#include <QString>
#include <QStringList>
#include <string>
#include <vector>

#include "views/overlay_view.h"
#include "views/stats_view.h"

class QWidget;

namespace attn::ui {

class Renderable;
class ViewState;

// What a view is set to beyond the shared ViewState (layer, head, query, colours, rollout):
// read from a live view, or given to a new one (headless export).
struct ViewSettings {
  OverlayOptions overlay;
  OverlayView::Source overlay_source = OverlayView::Source::Head;
  bool overlay_heads = false;  // every head of the layer as small overlays
  StatsView::Metric stat = StatsView::Metric::Entropy;
  int step = -1;  // timeline: the generated token shown (-1: the first, in a new view)
  // alignment: lines instead of the matrix, the mean over all layers, words instead of pieces
  bool alignment_lines = false, alignment_all_layers = false, alignment_words = false;
  bool compare_every_head = false;  // compare: every head's A − B (a model view) instead of the selection's
};

// Which recordings a view is for.
enum class ViewFor { Any, Images, Generations, Translations };

struct ViewSpec {
  const char* name;   // `attnscope export --view NAME`, suggested file names
  const char* title;  // tab and menu title
  const char* help;   // one line for help texts
  bool tab;           // a tab of the main window (Ctrl+1, Ctrl+2, … in table order)
  ViewFor shows_for;  // every recording, or only image recordings (ViT, DeiT), generations or translations
  bool needs_rollout; // shows the attention rollout (the headless export computes it first)
  // Makes the view on `state`, set as `settings` says (a tab, or offscreen for an export).
  QWidget* (*make)(ViewState* state, const ViewSettings& settings, QWidget* parent);
  // What a live view is set to (for exporting its numbers as shown).
  ViewSettings (*settings_of)(const QWidget* view);
  // Why the view has nothing to show for `state` ("the recording holds no predictions …"), or
  // "" when it has; null when it always has something.
  std::string (*missing)(const ViewState& state);
  // Writes the numbers the view shows to `out` (.csv or .npy); returns the files written.
  // Throws attn::Error naming the file when the view has nothing to write that way.
  QStringList (*write_numbers)(const ViewState& state, const ViewSettings& settings, const QString& out, bool csv);
  // Shows per-head query/key vectors: `attnscope export --model` records Q/K/V for it, and
  // the main window records them while its tab is shown.
  bool needs_qkv = false;
};

const std::vector<ViewSpec>& view_table();
// Whether `spec` shows `recording` (views for every recording show none too).
bool view_applies(const ViewSpec& spec, const AttentionRecording* recording);
// The title with what the view is for: "Overlay (images)".
QString view_menu_title(const ViewSpec& spec);
const ViewSpec* find_view(const QString& name);
QStringList view_names();  // every row's name, in table order
// The rows shown as tabs, in tab order.
std::vector<const ViewSpec*> tab_views();
// Every view widget the table makes is a Renderable.
Renderable* as_renderable(QWidget* view);

}  // namespace attn::ui
