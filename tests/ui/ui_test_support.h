#pragma once
// Helpers for the widget tests: fixture models, temporary folders, and waiting on the UI's
// signals (QSignalSpy::wait, never sleeps).
#include <QString>
#include <QTemporaryDir>
#include <memory>

#include "record/recording.h"

namespace attn::ui {
class MainWindow;
class ViewState;
}

namespace attn::test {

QString fixture_model(const QString& name);  // tests/fixtures/models/NAME
// Waits until the window's state has an analysis for its recording (true) or times out.
bool wait_for_analysis(ui::MainWindow& window, int timeout_ms = 30000);
// Waits until the controller is idle again.
bool wait_until_idle(ui::MainWindow& window, int timeout_ms = 30000);
// Loads the model, runs `text` and waits for the analysis.
bool run_and_wait(ui::MainWindow& window, const QString& model, const QString& text, const QString& pair = {});
// An in-memory recording (L, H, N, N) with reproducible random rows that sum to 1
// (causal when asked), for view tests that need no model.
std::shared_ptr<AttentionRecording> synthetic_recording(int layers, int heads, int tokens, bool causal, unsigned seed = 7);

}  // namespace attn::test
