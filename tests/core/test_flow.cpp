#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "analysis/flow.h"

using namespace attn;

namespace {

RowMatrix matrix(int n, std::initializer_list<float> values) {
  RowMatrix m(n, n);
  std::copy(values.begin(), values.end(), m.data());
  return m;
}

// Three layers over tokens 0–2; [l](to, from). Drawn as boundaries s = (0, 0) … (3, ·):
//   (0,0) → (1,0): 1, (0,0) → (1,1): 1, (0,1) → (1,2): 0.7
//   (1,0) → (2,0): 1, (1,0) → (2,1): 1, (1,1) → (2,0): 1, (1,1) → (2,2): 0.2
//   (2,0) → (3,0): 1, (2,1) → (3,0): 1, (2,0) → (3,1): 0.3, (2,2) → (3,1): 5
std::vector<RowMatrix> hand_graph() {
  return {matrix(3, {1, 0, 0, 1, 0, 0, 0, 0.7f, 0}), matrix(3, {1, 1, 0, 1, 0, 0, 0, 0.2f, 0}), matrix(3, {1, 1, 0, 0.3f, 0, 5, 0, 0, 0})};
}

// Row-stochastic random (N, N) capacities, as attention after the residual step.
std::vector<RowMatrix> random_layers(int L, int N, unsigned seed) {
  std::mt19937 rng(seed);
  std::gamma_distribution<float> g(0.4f);
  std::vector<RowMatrix> layers;
  for (int l = 0; l < L; ++l) {
    RowMatrix a(N, N);
    for (int i = 0; i < N; ++i) {
      for (int j = 0; j < N; ++j) a(i, j) = g(rng) + 1e-4f;
      a.row(i) /= a.row(i).sum();
    }
    layers.push_back(a);
  }
  return layers;
}

std::shared_ptr<AttentionRecording> recording(int L, int H, int N, const std::vector<float>& values) {
  RecordingMeta m;
  m.num_layers = L, m.num_heads = H, m.num_tokens = N;
  m.tokens.assign(size_t(N), "t");
  auto r = AttentionRecording::create(m, false, false);
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      auto a = r->mutable_matrix(AttentionRecording::Part::Attention, l, h);
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) a(i, j) = values[size_t(((l * H + h) * N + i) * N + j)];
    }
  return r;
}

}  // namespace

// By hand. (0,0) → (3,0): the min cut is the two edges into (3,0), 1 + 1 = 2, and two paths
// carry it: (0,0)→(1,0)→(2,1)→(3,0) and (0,0)→(1,1)→(2,0)→(3,0). Greedy first takes
// (1,0)→(2,0), and Dinic's second phase must undo it along the backward edge (2,0)→(1,0).
// (0,0) → (3,1): into (3,1) come (2,0) with 0.3 and (2,2) with 5, but (2,2) is fed only by
// (1,1) with 0.2: the cut {(2,0)→(3,1), (1,1)→(2,2)} = 0.5, met by 0.3 + 0.2 along paths.
// (0,1) feeds (1,2), which has no way on: 0. Nothing leaves (0,2), nothing enters (3,2): 0.
TEST(AttentionFlow, HandMadeGraphEqualsTheMaxFlowComputedByHand) {
  const auto g = hand_graph();
  EXPECT_NEAR(max_flow(g, 0, 0), 2.0, 1e-9);
  EXPECT_NEAR(max_flow(g, 0, 1), 0.5, 1e-7);
  EXPECT_EQ(max_flow(g, 1, 0), 0.0);
  EXPECT_EQ(max_flow(g, 1, 1), 0.0);
  EXPECT_EQ(max_flow(g, 2, 0), 0.0);
  EXPECT_EQ(max_flow(g, 0, 2), 0.0);
  const RowMatrix f = attention_flow(g);  // rows = sinks, columns = sources
  EXPECT_TRUE(f.isApprox(matrix(3, {2, 0, 0, 0.5f, 0, 0, 0, 0, 0}), 1e-6f)) << f;
}

TEST(AttentionFlow, TwoLayersEqualTheSumOfBottlenecks) {
  // With one boundary between source and sink, every path is j → m → i: flow = Σ_m min(A0[m, j], A1[i, m]).
  const auto g = random_layers(2, 9, 7);
  const RowMatrix f = attention_flow(g);
  for (int i = 0; i < 9; ++i)
    for (int j = 0; j < 9; ++j) {
      double want = 0;
      for (int m = 0; m < 9; ++m) want += std::min(g[0](m, j), g[1](i, m));
      EXPECT_NEAR(f(i, j), want, 1e-6) << i << ", " << j;
    }
}

TEST(AttentionFlow, StaysWithinTheCutsAtSourceAndSink) {
  const auto g = random_layers(4, 12, 3);
  const RowMatrix f = attention_flow(g);
  for (int i = 0; i < 12; ++i)
    for (int j = 0; j < 12; ++j) {
      EXPECT_GT(f(i, j), 0.0f);
      EXPECT_LE(f(i, j), g[0].col(j).sum() + 1e-6f);  // all that leaves the input token
      EXPECT_LE(f(i, j), g[3].row(i).sum() + 1e-6f);  // all that reaches the output token: 1
    }
  for (int t = 0; t < 12; ++t) {  // any one path's bottleneck is a lower bound: here the token's own
    float own = 1.0f;
    for (const RowMatrix& a : g) own = std::min(own, a(t, t));
    EXPECT_GE(f(t, t), own - 1e-6f);
  }
}

TEST(AttentionFlow, IdentityLayersFlowOnlyToThemselves) {
  const std::vector<RowMatrix> g(3, RowMatrix::Identity(5, 5));
  EXPECT_TRUE(attention_flow(g).isApprox(RowMatrix::Identity(5, 5)));
}

TEST(AttentionFlow, PermutingTheTokensPermutesTheFlow) {
  const auto g = random_layers(3, 8, 11);
  const std::vector<int> p = {3, 0, 7, 1, 6, 2, 5, 4};  // new index of token t is p[t]
  std::vector<RowMatrix> permuted;
  for (const RowMatrix& a : g) {
    RowMatrix b(8, 8);
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) b(p[size_t(i)], p[size_t(j)]) = a(i, j);
    permuted.push_back(b);
  }
  const RowMatrix f = attention_flow(g), fp = attention_flow(permuted);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) EXPECT_NEAR(fp(p[size_t(i)], p[size_t(j)]), f(i, j), 1e-6);
}

TEST(AttentionFlow, SymmetricTokensGetEqualFlow) {
  // Uniform attention treats every token alike: the same flow between any two distinct tokens.
  const std::vector<RowMatrix> g(3, RowMatrix::Constant(6, 6, 1.0f / 6));
  const RowMatrix f = attention_flow(g);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) EXPECT_NEAR(f(i, j), f(0, 1), 1e-6);
  EXPECT_NEAR(f(0, 1), 1.0, 1e-6);  // 1/6 along each of the 6 straight paths j → m → m → i fills both end cuts
}

TEST(AttentionFlow, CausalCapacitiesFlowOnlyForward) {
  auto g = random_layers(3, 7, 5);
  for (RowMatrix& a : g) {
    a = a.triangularView<Eigen::Lower>();
    for (int i = 0; i < 7; ++i) a.row(i) /= a.row(i).sum();
  }
  const RowMatrix f = attention_flow(g);
  for (int i = 0; i < 7; ++i)
    for (int j = 0; j < 7; ++j)
      if (j > i) EXPECT_EQ(f(i, j), 0.0f);
      else EXPECT_GT(f(i, j), 0.0f);
  EXPECT_NEAR(f(0, 0), 1.0, 1e-6);  // the first token attends only to itself
}

TEST(AttentionFlow, ProgressReachesOneAndCancelStops) {
  const auto g = random_layers(3, 10, 2);
  std::vector<double> seen;
  attention_flow(g, [&](double f, std::string_view) {
    seen.push_back(f);
    return true;
  });
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), 0.0);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), 1.0);
  int calls = 0;
  EXPECT_THROW(attention_flow(g, [&](double, std::string_view) { return ++calls < 2; }), Cancelled);
  EXPECT_THROW(attention_flow(g, [](double, std::string_view) { return false; }), Cancelled);
}

TEST(AttentionFlow, BadInputThrowsNamingWhatIsWrong) {
  EXPECT_THROW(attention_flow(std::vector<RowMatrix>{}), Error);
  try {
    attention_flow({RowMatrix::Identity(4, 4), RowMatrix::Identity(3, 3)});
    FAIL() << "mismatched layers accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 1 is 3 × 3, expected 4 × 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(attention_flow({RowMatrix::Ones(3, 4)}), Error);
  RowMatrix negative = RowMatrix::Identity(3, 3);
  negative(1, 2) = -0.5f;
  EXPECT_THROW(attention_flow({negative}), Error);
  EXPECT_THROW(max_flow(hand_graph(), 3, 0), Error);
  EXPECT_THROW(max_flow(hand_graph(), 0, -1), Error);
  RolloutOptions o;
  o.last_layer = 5;
  EXPECT_THROW(attention_flow(*recording(2, 1, 3, std::vector<float>(18, 1.0f / 3)), o), Error);
}

// tools/reference/flow.py: plain-Python Edmonds–Karp on the full graph (networkx is not
// installed here), from random recordings with mean fusion and the residual step.
TEST(AttentionFlow, EqualsThePythonReference) {
  std::ifstream in(std::string(ATTN_FIXTURES_DIR) + "/flow/random_small.json");
  ASSERT_TRUE(in) << "tests/fixtures/flow/random_small.json missing: run tools/reference/flow.py";
  const auto doc = nlohmann::json::parse(in);
  ASSERT_EQ(doc["cases"].size(), 3u);
  for (const auto& c : doc["cases"]) {
    const int L = c["layers"], H = c["heads"], N = c["tokens"];
    const auto rec = recording(L, H, N, c["attention"].get<std::vector<float>>());
    const auto want = c["flow"].get<std::vector<double>>();
    RolloutOptions o;
    o.method = RolloutMethod::Flow;
    const RowMatrix got = attention_attribution(*rec, o);
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) EXPECT_NEAR(got(i, j), want[size_t(i * N + j)], 1e-6) << c["name"] << " " << i << ", " << j;
    if (L == 1) {
      EXPECT_TRUE(got.isApprox(attention_rollout(*rec), 1e-6f));  // one layer: the flow is the edge itself
    }
  }
}
