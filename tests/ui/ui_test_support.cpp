#include "ui/ui_test_support.h"

#include <QSignalSpy>
#include <random>

#include "test_support.h"
#include "window/main_window.h"
#include "state/view_state.h"

namespace attn::test {

QString fixture_model(const QString& name) { return QString::fromStdString((fixtures_dir() / "models").string()) + "/" + name; }

bool wait_for_analysis(ui::MainWindow& window, int timeout_ms) {
  // The analysis is delivered before the run ends, so waiting for the end is enough.
  if (!wait_until_idle(window, timeout_ms)) return false;
  return window.state()->recording() && window.state()->analysis();
}

bool wait_until_idle(ui::MainWindow& window, int timeout_ms) {
  QSignalSpy spy(window.runs(), &ui::RunController::busy_changed);
  while (window.runs()->busy())
    if (!spy.wait(timeout_ms) && window.runs()->busy()) return false;
  return true;
}

bool run_and_wait(ui::MainWindow& window, const QString& model, const QString& text, const QString& pair) {
  window.choose_model(model);
  window.run_text(text, pair);
  return wait_for_analysis(window);
}

std::shared_ptr<AttentionRecording> synthetic_recording(int layers, int heads, int tokens, bool causal, unsigned seed) {
  RecordingMeta meta;
  meta.model = "synthetic";
  meta.family = causal ? "gpt2" : "bert";
  meta.num_layers = layers;
  meta.num_heads = heads;
  meta.num_tokens = tokens;
  meta.causal = causal;
  for (int i = 0; i < tokens; ++i) {
    meta.tokens.push_back(i == 0 ? "[CLS]" : " tok" + std::to_string(i));
    meta.special.push_back(i == 0 ? 1 : 0);
  }
  auto rec = AttentionRecording::create(meta, false, false);
  std::mt19937 rng(seed);
  std::exponential_distribution<float> dist(1.0f);
  for (int l = 0; l < layers; ++l)
    for (int h = 0; h < heads; ++h) {
      MatrixMap m = rec->mutable_matrix(AttentionRecording::Part::Attention, l, h);
      for (int i = 0; i < tokens; ++i) {
        const int last = causal ? i : tokens - 1;
        float sum = 0;
        for (int j = 0; j <= last; ++j) sum += (m(i, j) = std::pow(dist(rng), 3.0f));
        for (int j = 0; j <= last; ++j) m(i, j) /= sum;
      }
    }
  return rec;
}

}  // namespace attn::test
