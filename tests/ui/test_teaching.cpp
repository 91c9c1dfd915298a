// Teaching mode (ui/teaching): the live panels show the engine's own numbers, the toy updates
// as numbers are typed and the switches do what they say, guided examples measure their
// head on real models, and every tab exports a PNG of the asked size, a valid SVG and a PDF.
// With ATTN_TEACHING_SCREENSHOTS=DIR, TeachingScreenshots writes one picture per tab there.
#include <gtest/gtest.h>

#include <QDir>
#include <QFile>
#include <QImage>
#include <QPushButton>
#include <QSet>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include "analysis/attention_steps.h"
#include "analysis/alignment.h"
#include "analysis/guided_examples.h"
#include "nn/model.h"
#include "teaching/guided_tab.h"
#include "teaching/live_tab.h"
#include "teaching/step_panel.h"
#include "teaching/teaching_plots.h"
#include "teaching/teaching_window.h"
#include "teaching/toy_tab.h"
#include "ui/ui_test_support.h"
#include "views/matrix_plot.h"

using namespace attn;
using namespace attn::ui;
using Part = AttentionRecording::Part;

namespace {

RecordingPtr record(const QString& fixture, const std::string& text, const std::string& pair = {}) {
  const auto model = Model::load(fspath(test::fixture_model(fixture)));
  RunOptions options;
  options.record_qkv = options.record_scores = true;
  return model->forward(model->encode(text, pair.empty() ? std::nullopt : std::optional<std::string_view>(pair)), options).recording;
}

int distinct_colours(const QImage& img) {
  QSet<QRgb> seen;
  for (int y = 0; y < img.height(); y += 3)
    for (int x = 0; x < img.width(); x += 3) seen.insert(img.pixel(x, y));
  return int(seen.size());
}

// The live tab at (layer, head, query) shows exactly the recording's numbers.
void expect_live_matches(LiveTab& live, const AttentionRecording& rec, int layer, int head, int query) {
  live.select(layer, head, query);
  ASSERT_EQ(live.layer(), layer);
  ASSERT_EQ(live.head(), head);
  ASSERT_EQ(live.query(), query);
  const int N = rec.num_tokens();
  const ConstMatrixMap scores = rec.matrix(Part::Scores, layer, head), attention = rec.head(layer, head);
  const RowMatrix context = attention * rec.matrix(Part::Value, layer, head);
  const bool causal = rec.meta().causal;
  const int visible = causal ? query + 1 : N;

  // Scaled scores: every key (scores are recorded before the mask).
  const QVector<double> scaled = live.bars(LiveTab::Scale)->bar_values();
  ASSERT_EQ(scaled.size(), N);
  for (int j = 0; j < N; ++j) EXPECT_NEAR(scaled[j], scores(query, j), 1e-6 * std::max(1.0f, std::abs(scores(query, j)))) << j;
  // Dot products are the scores times √d.
  const QVector<double> dots = live.bars(LiveTab::Dots)->bar_values();
  const double root = std::sqrt(double(rec.meta().head_dim));
  for (int j = 0; j < N; ++j) EXPECT_NEAR(dots[j] / root, scores(query, j), 1e-5 * std::max(1.0f, std::abs(scores(query, j)))) << j;
  // The mask: the visible keys keep their scores, the others are drawn as masked.
  const QVector<double> masked = live.bars(LiveTab::Mask)->bar_values();
  ASSERT_EQ(masked.size(), visible);
  for (int j = 0; j < visible; ++j) EXPECT_NEAR(masked[j], scores(query, j), 1e-6 * std::max(1.0f, std::abs(scores(query, j))));
  QVector<int> hidden;
  for (int j = visible; j < N; ++j) hidden << j;
  EXPECT_EQ(live.bars(LiveTab::Mask)->masked_keys(), hidden);
  // Softmax: the attention row, masked keys exactly 0; the numbers text writes each weight.
  const QVector<double> probs = live.bars(LiveTab::Softmax)->bar_values();
  ASSERT_EQ(probs.size(), N);
  for (int j = 0; j < N; ++j) {
    EXPECT_NEAR(probs[j], attention(query, j), 1e-6) << j;
    EXPECT_TRUE(live.panel(LiveTab::Softmax)->numbers().contains(step_number(attention(query, j))))
        << j << ": " << live.panel(LiveTab::Softmax)->numbers().toStdString();
  }
  for (int j = visible; j < N; ++j) EXPECT_EQ(probs[j], 0.0);
  // The output row of the last picture: Σ p·v, the context the model computed.
  const RowMatrix& shown = live.output_plot()->matrix();
  ASSERT_EQ(shown.rows(), N + 1);
  for (int c = 0; c < context.cols(); ++c) EXPECT_NEAR(shown(N, c), context(query, c), 1e-5) << c;
  // The first picture: q on top, then the keys.
  EXPECT_TRUE(live.inputs_plot()->matrix().row(0).isApprox(rec.matrix(Part::Query, layer, head).row(query)));
  EXPECT_TRUE(live.inputs_plot()->matrix().bottomRows(N).isApprox(RowMatrix(rec.matrix(Part::Key, layer, head))));
  for (int s = 0; s < LiveTab::StepCount; ++s) {
    if (live.shows(LiveTab::Step(s))) {
      EXPECT_FALSE(live.panel(LiveTab::Step(s))->caption().isEmpty()) << s;
    }
  }
}

}  // namespace

TEST(Teaching, LivePanelsEqualTheGpt2Recording) {
  const RecordingPtr rec = record(QStringLiteral("gpt2"), "The quick brown fox jumps over the lazy dog.");
  TeachingWindow window;
  window.set_recording(rec);
  LiveTab& live = *window.live();
  ASSERT_TRUE(live.ready());
  EXPECT_EQ(live.query(), rec->num_tokens() - 1);  // the last token first
  for (int l = 0; l < rec->num_layers(); ++l)
    for (int h = 0; h < rec->num_heads(); ++h)
      for (int q : {0, 3, rec->num_tokens() - 1}) expect_live_matches(live, *rec, l, h, q);
  // The mask caption counts the hidden keys.
  live.select(1, 2, 3);
  EXPECT_TRUE(live.panel(LiveTab::Mask)->caption().contains(QString::number(rec->num_tokens() - 4)));
}

TEST(Teaching, LivePanelsEqualTheBertRecording) {
  const RecordingPtr rec = record(QStringLiteral("bert_mlm"), "the cat sat on the mat", "a dog ran");
  LiveTab live;
  live.set_recording(rec);
  for (int q : {0, 2, rec->num_tokens() - 1}) expect_live_matches(live, *rec, 1, 0, q);
  EXPECT_TRUE(live.bars(LiveTab::Mask)->masked_keys().isEmpty());
}

// GPT-2 and BERT take none of the Llama kind's extra steps: the tab shows six panels.
TEST(Teaching, LiveShowsOnlyTheStepsTheModelTakes) {
  LiveTab live;
  live.set_recording(record(QStringLiteral("gpt2"), "The quick brown fox jumps."));
  for (LiveTab::Step s : {LiveTab::Sharing, LiveTab::Norm, LiveTab::Rotate}) EXPECT_FALSE(live.shows(s)) << s;
  EXPECT_TRUE(live.panel(LiveTab::Dots)->heading().startsWith(QStringLiteral("1 · Dot products")));
  EXPECT_EQ(live.render_size().height(), 170 + 310 * 3);
}

// Qwen3 (grouped heads, q/k norm, rotation): the extra panels redo the engine's numbers from
// the raw projections, and are numbered before the dot products.
TEST(Teaching, LiveRotaryStepsEqualTheQwen3Recording) {
  const RecordingPtr rec = record(QStringLiteral("qwen3_qknorm"), "The quick brown fox jumps over the lazy dog.");
  LiveTab live;
  live.set_recording(rec);
  ASSERT_TRUE(live.ready());
  const RecordingMeta& meta = rec->meta();
  ASSERT_GT(meta.num_kv_heads, 0);
  for (LiveTab::Step s : {LiveTab::Sharing, LiveTab::Norm, LiveTab::Rotate}) EXPECT_TRUE(live.shows(s)) << s;
  EXPECT_TRUE(live.panel(LiveTab::Sharing)->heading().startsWith(QStringLiteral("1 · Shared keys")));
  EXPECT_TRUE(live.panel(LiveTab::Rotate)->heading().startsWith(QStringLiteral("3 · Turn q and k")));
  EXPECT_TRUE(live.panel(LiveTab::Dots)->heading().startsWith(QStringLiteral("4 · Dot products")));
  EXPECT_EQ(live.render_size().height(), 170 + 310 * 5);
  const int group = meta.num_heads / meta.num_kv_heads;
  for (int l = 0; l < rec->num_layers(); ++l)
    for (int h = 0; h < rec->num_heads(); ++h)
      for (int q : {0, 4, rec->num_tokens() - 1}) {
        expect_live_matches(live, *rec, l, h, q);
        // The rotation panel's lower row is the query attention used; the upper one is the
        // normalised raw projection (whose root mean square is the gain's).
        const RowMatrix& turned = live.grid(LiveTab::Rotate)->matrix();
        ASSERT_EQ(turned.rows(), 2);
        const auto used = rec->matrix(Part::Query, l, h).row(q);
        for (int c = 0; c < meta.head_dim; ++c) EXPECT_NEAR(turned(1, c), used(c), 2e-6 * std::max(1.0f, std::abs(used(c)))) << c;
        const RowMatrix& norm = live.grid(LiveTab::Norm)->matrix();
        EXPECT_TRUE(norm.row(0).isApprox(rec->matrix(Part::QueryRaw, l, h).row(q)));
        for (int c = 0; c < meta.head_dim; ++c) EXPECT_FLOAT_EQ(norm(1, c), meta.rotary.q_norm[size_t(l)][size_t(c)]);
        EXPECT_LT(live.recompute_difference(), 1e-5);
        // The group's queries, this head's among them.
        const RowMatrix& queries = live.grid(LiveTab::Sharing)->matrix();
        ASSERT_EQ(queries.rows(), group);
        EXPECT_TRUE(queries.row(h % group).isApprox(rec->matrix(Part::Query, l, h).row(q)));
      }
  live.select(0, group, 5);
  EXPECT_TRUE(live.panel(LiveTab::Sharing)->caption().contains(QStringLiteral("heads %1–%2 share key/value head 1").arg(group).arg(2 * group - 1)))
      << live.panel(LiveTab::Sharing)->caption().toStdString();
  EXPECT_TRUE(live.panel(LiveTab::Rotate)->numbers().startsWith(QStringLiteral("angles at position 5: pair 0: 5 rad")))
      << live.panel(LiveTab::Rotate)->numbers().toStdString();
}

// Gemma 3 (1 + w gains, its own frequencies on sliding layers) and Llama (no q/k norm: no
// Norm panel).
TEST(Teaching, LiveRotaryStepsFollowEachFamily) {
  const RecordingPtr gemma = record(QStringLiteral("gemma3_text"), "The quick brown fox jumps over the lazy dog.");
  LiveTab live;
  live.set_recording(gemma);
  for (int l = 0; l < gemma->num_layers(); ++l) {
    live.select(l, 1, gemma->num_tokens() - 1);
    EXPECT_LT(live.recompute_difference(), 1e-5) << l;
    EXPECT_TRUE(live.panel(LiveTab::Norm)->caption().contains(QStringLiteral("gain")));
    EXPECT_TRUE(live.panel(LiveTab::Rotate)->caption().contains(gemma->meta().window(l) > 0 ? QStringLiteral("Sliding-window layers like this one")
                                                                                             : QStringLiteral("This full layer turns more slowly")))
        << l;
  }
  const RecordingPtr llama = record(QStringLiteral("llama_gqa"), "The quick brown fox jumps over the lazy dog.");
  live.set_recording(llama);
  EXPECT_TRUE(live.shows(LiveTab::Rotate));
  EXPECT_TRUE(live.shows(LiveTab::Sharing));
  EXPECT_FALSE(live.shows(LiveTab::Norm));
  EXPECT_TRUE(live.panel(LiveTab::Dots)->heading().startsWith(QStringLiteral("3 · Dot products")));
  live.set_recording(record(QStringLiteral("qwen2_window_yarn"), "The quick brown fox jumps over the lazy dog."));
  EXPECT_TRUE(live.panel(LiveTab::Rotate)->caption().contains(QStringLiteral("YaRN")));
  EXPECT_LT(live.recompute_difference(), 1e-5);
  // Phi-3 turns only part of each head, by LongRoPE's scaled frequencies.
  live.set_recording(record(QStringLiteral("phi3_longrope"), "The quick brown fox jumps over the lazy dog."));
  live.select(1, 3, 4);
  EXPECT_LT(live.recompute_difference(), 1e-5);
  EXPECT_TRUE(live.panel(LiveTab::Rotate)->caption().contains(QStringLiteral("turns only the first 12 of each head's 16 channels")))
      << live.panel(LiveTab::Rotate)->caption().toStdString();
  EXPECT_TRUE(live.panel(LiveTab::Rotate)->caption().contains(QStringLiteral("LongRoPE")));
}

TEST(Teaching, LiveWithoutQkvSaysWhatToDo) {
  LiveTab live;
  live.set_recording(test::synthetic_recording(2, 2, 5, true));  // attention only
  EXPECT_FALSE(live.ready());
  live.select(1, 1, 2);  // harmless
  EXPECT_TRUE(live.bars(LiveTab::Softmax)->bar_values().isEmpty());
  live.set_recording(nullptr);
  EXPECT_FALSE(live.ready());
}

TEST(Teaching, ToyEditingACellUpdatesTheSoftmax) {
  ToyTab toy;
  QSignalSpy updated(&toy, &ToyTab::updated);
  const RowMatrix before = toy.result().probs;
  ASSERT_EQ(before.rows(), toy.tokens());
  // Type a number into head 1's K table: the key of token 2 now matches query 3 strongly.
  QTableWidget* keys = toy.table(ToyTab::Input::Key);
  keys->item(2, 2)->setText(QStringLiteral("5"));
  EXPECT_EQ(updated.count(), 1);
  const HeadSteps& after = toy.result();
  EXPECT_FALSE(after.probs.isApprox(before));
  // Independently: the same numbers through the reference steps.
  RowMatrix K = toy.input(ToyTab::Input::Key);
  EXPECT_EQ(K(2, 2), 5.0f);
  const HeadSteps want = head_steps(toy.input(ToyTab::Input::Query), K, toy.input(ToyTab::Input::Value), {.scale = true, .causal = false});
  EXPECT_TRUE(after.probs.isApprox(want.probs));
  EXPECT_TRUE(toy.weights_plot()->matrix().isApprox(want.probs));
  // Row 3's query is [0 0 2 0]: its dot with the new key [0 0 5 0] is 10, ÷ √4 = 5.
  EXPECT_FLOAT_EQ(after.scaled(3, 2), 5.0f);
  // Not a number: the old value comes back, nothing changes.
  keys->item(2, 2)->setText(QStringLiteral("abc"));
  EXPECT_EQ(keys->item(2, 2)->text(), QStringLiteral("5"));
  EXPECT_TRUE(toy.result().probs.isApprox(want.probs));
  // A Unicode minus is a minus.
  keys->item(0, 0)->setText(QStringLiteral("−1.5"));
  EXPECT_EQ(toy.input(ToyTab::Input::Key)(0, 0), -1.5f);
}

TEST(Teaching, ToyHandCheckedFirstRows) {
  // The starting numbers, d = 4 (√d = 2): query "the" = [0 0 0 2];
  // keys: the [1 0 0 1] → 2, cat [0 2 0 0] → 0, sat [0 0 2 0] → 0, on [2 0 0 0] → 0.
  // Scaled: [1, 0, 0, 0]; softmax: e / (e + 3) = 2.718282 / 5.718282 = 0.475367, others
  // 1 / 5.718282 = 0.174878 each.
  ToyTab toy;
  const HeadSteps& r = toy.result();
  EXPECT_FLOAT_EQ(r.dots(0, 0), 2.0f);
  EXPECT_FLOAT_EQ(r.scaled(0, 0), 1.0f);
  EXPECT_NEAR(r.probs(0, 0), 0.475367, 1e-6);
  EXPECT_NEAR(r.probs(0, 1), 0.174878, 1e-6);
  // Output row 0 = 0.475367·[1 0 0 0] + 0.174878·([0 1 0 0] + [0 0 1 0] + [0 0 0 1]).
  EXPECT_NEAR(r.output(0, 0), 0.475367, 1e-6);
  EXPECT_NEAR(r.output(0, 3), 0.174878, 1e-6);
}

TEST(Teaching, ToyMaskButtonZeroesFutureKeys) {
  ToyTab toy;
  toy.set_tokens(5);
  QPushButton* mask = nullptr;
  for (QPushButton* b : toy.findChildren<QPushButton*>())
    if (b->text() == QStringLiteral("Causal mask")) mask = b;
  ASSERT_NE(mask, nullptr);
  const RowMatrix open = toy.result().probs;
  for (int i = 0; i < 5; ++i)
    for (int j = i + 1; j < 5; ++j) ASSERT_GT(open(i, j), 0.0f);
  QTest::mouseClick(mask, Qt::LeftButton);
  ASSERT_TRUE(toy.causal());
  const HeadSteps& r = toy.result();
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(r.probs.row(i).sum(), 1.0f, 1e-6f);
    for (int j = i + 1; j < 5; ++j) {
      EXPECT_EQ(r.probs(i, j), 0.0f) << i << "," << j;
      EXPECT_EQ(r.masked(i, j), kMasked);
      EXPECT_TRUE(std::isinf(toy.scores_plot()->matrix()(i, j)));  // drawn as a masked cell
    }
  }
  EXPECT_EQ(r.probs(0, 0), 1.0f);  // the first token only sees itself
  EXPECT_TRUE(toy.explanation().contains(QStringLiteral("−∞")));
  QTest::mouseClick(mask, Qt::LeftButton);
  EXPECT_TRUE(toy.result().probs.isApprox(open));
}

TEST(Teaching, ToyScalingTemperatureAndTwoHeads) {
  ToyTab toy;
  const RowMatrix scaled = toy.result().probs;
  toy.set_scaling(false);
  EXPECT_FLOAT_EQ(toy.result().factor, 1.0f);
  // Without ÷√d the scores double here (d = 4), so the strongest weight of every row grows.
  for (int i = 0; i < toy.tokens(); ++i) EXPECT_GE(toy.result().probs.row(i).maxCoeff(), scaled.row(i).maxCoeff() - 1e-7f) << i;
  toy.set_scaling(true);
  toy.set_temperature(0.5);  // ÷ 0.5 cancels ÷ 2: the same as no scaling
  EXPECT_NEAR(toy.temperature(), 0.5, 1e-6);
  EXPECT_FLOAT_EQ(toy.result().factor, 1.0f);
  toy.set_temperature(4.0);
  for (int i = 0; i < toy.tokens(); ++i) EXPECT_LT(toy.result().probs.row(i).maxCoeff(), scaled.row(i).maxCoeff() + 1e-7f);
  toy.set_temperature(1.0);
  toy.set_two_heads(true);
  EXPECT_TRUE(toy.two_heads());
  EXPECT_FALSE(toy.result(1).probs.isApprox(toy.result(0).probs));  // another head looks elsewhere
  EXPECT_TRUE(toy.explanation().contains(QStringLiteral("head 2")));
  toy.set_value(ToyTab::Input::Query, 1, 0, 0, 3.0);
  EXPECT_EQ(toy.input(ToyTab::Input::Query, 1)(0, 0), 3.0f);
  toy.set_tokens(3);
  toy.set_dims(2);
  EXPECT_EQ(toy.result().probs.rows(), 3);
  EXPECT_EQ(toy.result().output.cols(), 2);
  EXPECT_EQ(toy.table(ToyTab::Input::Value)->rowCount(), 3);
}

namespace {

// Runs guided example `index` on a fixture model and waits for it.
bool run_guided(GuidedTab& tab, int index, const QString& fixture) {
  tab.set_model_dir(index, test::fixture_model(fixture));
  QSignalSpy ready(&tab, &GuidedTab::example_ready), failed(&tab, &GuidedTab::example_failed);
  tab.show_example(index);
  while (ready.isEmpty() && failed.isEmpty())
    if (!ready.wait(30000)) break;
  if (!failed.isEmpty()) ADD_FAILURE() << failed[0][1].toString().toStdString();
  return !ready.isEmpty();
}

}  // namespace

TEST(Teaching, GuidedExamplesMeasureTheirHead) {
  GuidedTab tab;
  ASSERT_TRUE(run_guided(tab, 0, QStringLiteral("gpt2")));
  // The shown head is the one an independent measurement of the same recording picks.
  const HeadFinding want = find_previous_token_head(*tab.recording());
  EXPECT_EQ(tab.finding().layer, want.layer);
  EXPECT_EQ(tab.finding().head, want.head);
  EXPECT_EQ(tab.recording()->meta().text, stdstr(guided_examples()[0].text));
  EXPECT_TRUE(tab.heatmap()->content().matrix.map().isApprox(RowMatrix(tab.recording()->head(want.layer, want.head))))
      << tab.heatmap()->content().matrix.map().rows() << "x" << tab.heatmap()->content().matrix.map().cols() << " vs " << tab.recording()->num_tokens();
  EXPECT_EQ(tab.scores_plot()->bar_values().size(), tab.recording()->num_layers() * tab.recording()->num_heads());
  EXPECT_TRUE(tab.explanation().contains(QStringLiteral("head %1").arg(want.head)));
  // The open button asks for the example's input, then the head.
  QSignalSpy example(&tab, &GuidedTab::open_example_requested), head(&tab, &GuidedTab::open_head_requested);
  QPushButton* open = nullptr;
  for (QPushButton* b : tab.findChildren<QPushButton*>())
    if (b->text().startsWith(QStringLiteral("Open this head"))) open = b;
  ASSERT_NE(open, nullptr);
  QTest::mouseClick(open, Qt::LeftButton);
  ASSERT_EQ(head.count(), 1);
  EXPECT_EQ(head[0][0].toInt(), want.layer);
  EXPECT_EQ(head[0][1].toInt(), want.head);
  ASSERT_EQ(example.count(), 1);
  EXPECT_EQ(example[0][1].toString(), guided_examples()[0].text);

  // Induction: the repeated syllables on the GPT-2 fixture; parking on the BERT fixture.
  ASSERT_TRUE(run_guided(tab, 1, QStringLiteral("gpt2")));
  const HeadFinding ind = find_induction_head(*tab.recording());
  EXPECT_EQ(tab.finding().layer * 100 + tab.finding().head, ind.layer * 100 + ind.head);
  ASSERT_TRUE(run_guided(tab, 2, QStringLiteral("bert_mlm")));
  const HeadFinding park = find_parking_head(*tab.recording());
  EXPECT_EQ(tab.finding().layer * 100 + tab.finding().head, park.layer * 100 + park.head);
  EXPECT_FALSE(tab.recording()->meta().pair.empty());

  // Alignment: the example translates (on the Marian fixture, random weights: no clear head); the
  // heatmap is the chosen head's cross-attention, target × source (the bundled translator's
  // clear alignment head: BundledTranslator.TheGuidedExampleFindsAHeadThatReorders).
  ASSERT_TRUE(run_guided(tab, 3, QStringLiteral("marian_tiny")));
  ASSERT_TRUE(tab.recording()->meta().encoder_decoder());
  const HeadFinding align = find_alignment_head(*tab.recording());
  ASSERT_TRUE(align.found());
  EXPECT_EQ(tab.finding().layer * 100 + tab.finding().head, align.layer * 100 + align.head);
  EXPECT_EQ(tab.heatmap()->content().matrix.map(), alignment(*tab.recording(), align.layer, align.head, false).weights);
  EXPECT_EQ(tab.heatmap()->content().col_labels.size(), int(tab.recording()->meta().source_tokens.size()));
  EXPECT_TRUE(tab.explanation().contains(QStringLiteral("head %1").arg(align.head))) << qPrintable(tab.explanation());
  // Inside the head, one row from the model itself: q from the decoder, k and v from the
  // encoder, and the weights they give are the recorded row.
  ASSERT_TRUE(tab.cross_steps());
  const CrossSteps& walk = *tab.cross_steps();
  EXPECT_EQ(walk.layer * 100 + walk.head, align.layer * 100 + align.head);
  const int S = int(tab.recording()->meta().source_tokens.size());
  const RowMatrix row = tab.recording()->block(AttentionRecording::Part::CrossAttention, walk.layer, walk.head, walk.query, walk.query + 1, 0, S);
  EXPECT_LT((walk.steps.probs.transpose() - row).cwiseAbs().maxCoeff(), 2e-5f);
  EXPECT_TRUE(tab.explanation().contains(QStringLiteral("makes the query q"))) << qPrintable(tab.explanation());
}

TEST(Teaching, GuidedExampleWithoutItsModelSaysSo) {
  GuidedTab tab;
  tab.set_model_dir(1, QStringLiteral("/nonexistent/attnscope-induction-toy"));
  QSignalSpy failed(&tab, &GuidedTab::example_failed);
  tab.show_example(1);
  ASSERT_TRUE(failed.count() > 0 || failed.wait(30000));
  EXPECT_FALSE(tab.finding().found());
}

TEST(Teaching, RepeatedSyllablesRepeat) {
  const QStringList words = repeated_syllables(20, 4).split(QLatin1Char(' '));
  ASSERT_EQ(words.size(), 40);
  EXPECT_EQ(words.mid(0, 20), words.mid(20));
  EXPECT_EQ(QSet<QString>(words.begin(), words.end()).size(), 20);
}

TEST(Teaching, EveryTabExportsPngSvgAndPdf) {
  QTemporaryDir dir;
  TeachingWindow window;
  window.set_recording(record(QStringLiteral("gpt2"), "The quick brown fox jumps over the lazy dog."));
  window.guided()->set_model_dir(0, test::fixture_model(QStringLiteral("gpt2")));
  {
    QSignalSpy ready(window.guided(), &GuidedTab::example_ready);
    window.guided()->show_example(0);
    ASSERT_TRUE(ready.wait(30000));
  }
  window.toy()->set_two_heads(true);
  const char* names[] = {"live", "toy", "guided"};
  for (int t = 0; t < 3; ++t) {
    window.show_tab(TeachingWindow::Tab(t));
    const QString base = dir.filePath(QString::fromLatin1(names[t]));
    ASSERT_TRUE(window.export_current(base + ".png", {QSize(900, 700), 96})) << names[t];
    const QImage png(base + ".png");
    ASSERT_FALSE(png.isNull()) << names[t];
    EXPECT_EQ(png.size(), QSize(900, 700)) << names[t];
    EXPECT_GT(distinct_colours(png), 20) << names[t];
    // A higher DPI keeps the pixel size and scales the drawing.
    ASSERT_TRUE(window.export_current(base + "-hi.png", {QSize(1200, 900), 192}));
    EXPECT_EQ(QImage(base + "-hi.png").size(), QSize(1200, 900));
    ASSERT_TRUE(window.export_current(base + ".svg"));
    QSvgRenderer svg(base + ".svg");
    EXPECT_TRUE(svg.isValid()) << names[t];
    EXPECT_EQ(svg.viewBox(), QRect(QPoint(0, 0), window.render_size()));
    QFile svg_file(base + ".svg");
    ASSERT_TRUE(svg_file.open(QIODevice::ReadOnly));
    EXPECT_TRUE(svg_file.readAll().contains(t == 0 ? "Softmax" : t == 1 ? "Weights" : "Every head")) << names[t];  // text stays text
    ASSERT_TRUE(window.export_current(base + ".pdf"));
    QFile pdf(base + ".pdf");
    ASSERT_TRUE(pdf.open(QIODevice::ReadOnly));
    EXPECT_TRUE(pdf.read(5).startsWith("%PDF-")) << names[t];
  }
  QSignalSpy failed(&window, &TeachingWindow::failed);
  EXPECT_FALSE(window.export_current(dir.filePath(QStringLiteral("x.bmp"))));
  EXPECT_EQ(failed.count(), 1);
}

// Not a check: pictures of each tab for people to look at (ATTN_TEACHING_SCREENSHOTS=DIR).
// Uses the bundled models when they are there, the fixtures otherwise.
TEST(TeachingScreenshots, EveryTab) {
  const QString out = qEnvironmentVariable("ATTN_TEACHING_SCREENSHOTS");
  if (out.isEmpty()) GTEST_SKIP() << "set ATTN_TEACHING_SCREENSHOTS=DIR to write screenshots";
  QDir().mkpath(out);
  const QString bundled = QStringLiteral(ATTN_FIXTURES_DIR "/../../resources/models/attnscope-gpt2-small");
  RecordingPtr rec;
  if (QFile::exists(bundled + "/model.safetensors")) {
    const auto model = Model::load(fspath(bundled));
    RunOptions options;
    options.record_qkv = options.record_scores = true;
    rec = model->forward(model->encode("The cat sat on the mat because it was warm."), options).recording;
  } else {
    rec = record(QStringLiteral("gpt2"), "The cat sat on the mat because it was warm.");
  }
  TeachingWindow window;
  window.resize(1400, 1000);
  window.set_recording(rec);
  window.select(rec->num_layers() - 1, 0, 5);
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  auto shoot = [&](const QString& name) {
    QTest::qWait(200);
    window.grab().save(out + "/teaching-" + name + ".png");
    window.export_current(out + "/teaching-" + name + "-export.png");
  };
  shoot(QStringLiteral("live"));
  window.show_tab(TeachingWindow::ToyTabIndex);
  shoot(QStringLiteral("toy"));
  window.toy()->set_two_heads(true);
  window.toy()->set_causal(true);
  window.toy()->set_temperature(0.5);
  shoot(QStringLiteral("toy-two-heads"));
  window.show_tab(TeachingWindow::GuidedTabIndex);
  const char* fallback[] = {"gpt2", "gpt2", "bert_mlm"};
  for (int i = 0; i < 3; ++i) {
    if (window.guided()->model_dir(i).isEmpty()) window.guided()->set_model_dir(i, test::fixture_model(QString::fromLatin1(fallback[i])));
    QSignalSpy ready(window.guided(), &GuidedTab::example_ready);
    window.guided()->show_example(i);
    ASSERT_TRUE(ready.wait(60000));
    shoot(QStringLiteral("guided-%1").arg(i + 1));
  }
}
