// The query/key projection (analysis/qk_projection.h): PCA on sets whose axes are known, the
// keys' translation and the scaling (attention unchanged by both), the explained variance,
// the axes' signs, and recordings with and without Q/K.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "analysis/qk_projection.h"
#include "util/error.h"

using namespace attn;
using Part = AttentionRecording::Part;

namespace {

RowMatrix random_matrix(int rows, int cols, unsigned seed, float offset = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0, 1);
  RowMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = n(rng) + offset;
  return m;
}

RowMatrix softmax_rows(const Eigen::MatrixXd& s) {
  RowMatrix out(s.rows(), s.cols());
  for (Eigen::Index i = 0; i < s.rows(); ++i) {
    const Eigen::RowVectorXd e = (s.row(i).array() - s.row(i).maxCoeff()).exp();
    out.row(i) = (e / e.sum()).cast<float>();
  }
  return out;
}

std::shared_ptr<AttentionRecording> recording(bool qkv, int L = 2, int H = 3, int N = 6, int d = 4) {
  RecordingMeta m;
  m.model = "toy-model";
  m.family = "gpt2";
  m.num_layers = L, m.num_heads = H, m.num_tokens = N, m.head_dim = d;
  for (int i = 0; i < N; ++i) m.tokens.push_back(std::string(1, char('a' + i)));
  auto r = AttentionRecording::create(m, qkv, false);
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      unsigned seed = unsigned(10 * l + h);
      const RowMatrix a = softmax_rows(random_matrix(N, N, seed).cast<double>() * 2.0);
      r->mutable_matrix(Part::Attention, l, h) = a;
      if (!qkv) continue;
      r->mutable_matrix(Part::Query, l, h) = random_matrix(N, d, seed + 100, 1.0f);
      r->mutable_matrix(Part::Key, l, h) = random_matrix(N, d, seed + 200, -2.0f);
    }
  return r;
}

}  // namespace

// Points spread along u = (1, 1, 0)/√2 (variance 16) and v = (0, 0, 1) (variance 1), nothing
// else: the first axis is u, the second v, each with its share of the variance, and every
// point's coordinates are its (centred) u and v components.
TEST(QkProjection, FindsTheKnownPrincipalAxes) {
  const Eigen::Vector3d u(1 / std::sqrt(2.0), 1 / std::sqrt(2.0), 0), v(0, 0, 1), centre(0.5, -1, 2);
  const double a[] = {-4, 4, -4, 4}, b[] = {-1, -1, 1, 1};  // variances 16 and 1, uncorrelated
  RowMatrix q(4, 3);
  for (int i = 0; i < 4; ++i) q.row(i) = (centre + a[i] * u + b[i] * v).cast<float>().transpose();
  const QkProjection p = project_qk(q, q, QkOptions{.scale = false});
  EXPECT_NEAR(p.axes.col(0).dot(u), 1.0, 1e-9);  // the sign too: the tie (0.707, 0.707) goes to the first, positive
  EXPECT_NEAR(p.axes.col(1).dot(v), 1.0, 1e-9);
  EXPECT_NEAR(p.explained[0], 16.0 / 17.0, 1e-6);  // the points are floats
  EXPECT_NEAR(p.explained[1], 1.0 / 17.0, 1e-6);
  EXPECT_NEAR(p.key_shift.norm(), 0.0, 1e-9);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(p.queries(i, 0), a[i], 1e-5) << i;
    EXPECT_NEAR(p.queries(i, 1), b[i], 1e-5) << i;
    EXPECT_NEAR(p.keys(i, 0), a[i], 1e-5) << i;
  }
}

TEST(QkProjection, KeysAreTranslatedOntoTheQueriesMean) {
  const RowMatrix q = random_matrix(9, 5, 1, 3.0f), k = random_matrix(9, 5, 2, -1.5f);
  for (bool scale : {false, true}) {
    const QkProjection p = project_qk(q, k, QkOptions{.scale = scale});
    const Eigen::VectorXd qs = q.cast<double>().colwise().mean().transpose() * p.scale;
    const Eigen::VectorXd ks = k.cast<double>().colwise().mean().transpose() / p.scale;
    EXPECT_NEAR((ks + p.key_shift - qs).norm(), 0.0, 1e-9) << scale;
    EXPECT_GT(p.key_shift.norm(), 1.0) << "the sets' means differ by far more than that";
    // The projection is linear: the 2-D means coincide too.
    EXPECT_NEAR((p.queries.colwise().mean() - p.keys.colwise().mean()).norm(), 0.0, 1e-4) << scale;
  }
}

TEST(QkProjection, ScalingGivesEqualSpreads) {
  RowMatrix q = RowMatrix::Zero(4, 2), k = RowMatrix::Zero(4, 2);
  q << 1, 0, 0, 1, -1, 0, 0, -1;          // 1 from their mean
  k = q * 4.0f;                           // 4 from theirs, far away
  k.col(0).array() += 30.0f;
  k.col(1).array() -= 7.0f;
  EXPECT_NEAR(project_qk(q, k).scale, 2.0, 1e-6);
  EXPECT_NEAR(project_qk(q, k, QkOptions{.scale = false}).scale, 1.0, 1e-12);
  const RowMatrix q2 = random_matrix(7, 6, 3, 0.5f) * 0.1f, k2 = random_matrix(7, 6, 4, 9.0f) * 5.0f;
  const QkProjection p = project_qk(q2, k2);
  auto spread = [](const Eigen::MatrixXd& m) { return (m.rowwise() - m.colwise().mean()).rowwise().norm().mean(); };
  EXPECT_NEAR(spread(q2.cast<double>() * p.scale), spread(k2.cast<double>() / p.scale), 1e-9);
  // In 2-D the two clouds then have comparable sizes.
  auto spread2 = [](const RowMatrix& m) { return double((m.rowwise() - m.colwise().mean()).rowwise().norm().mean()); };
  EXPECT_NEAR(spread2(p.queries) / spread2(p.keys), 1.0, 0.5);
}

// The point of both changes: softmax(q'·k') equals softmax(q·k) row by row.
TEST(QkProjection, ScalingAndTranslationLeaveAttentionAsItWas) {
  const RowMatrix q = random_matrix(8, 4, 5, 1.0f), k = random_matrix(8, 4, 6, -2.0f);
  const QkProjection p = project_qk(q, k);
  ASSERT_NE(p.scale, 1.0);
  const Eigen::MatrixXd qd = q.cast<double>(), kd = k.cast<double>();
  const Eigen::MatrixXd q2 = qd * p.scale;
  const Eigen::MatrixXd k2 = (kd / p.scale).rowwise() + p.key_shift.transpose();
  const RowMatrix before = softmax_rows(qd * kd.transpose()), after = softmax_rows(q2 * k2.transpose());
  EXPECT_LT((before - after).cwiseAbs().maxCoeff(), 1e-6f);
  EXPECT_GT((qd * kd.transpose() - q2 * k2.transpose()).cwiseAbs().maxCoeff(), 0.1) << "the scores themselves did move";
}

TEST(QkProjection, ExplainedVarianceSharesSumToAtMostOne) {
  for (unsigned seed : {1u, 2u, 3u}) {
    const QkProjection p = project_qk(random_matrix(12, 8, seed), random_matrix(12, 8, seed + 50));
    EXPECT_GE(p.explained[1], 0.0);
    EXPECT_GE(p.explained[0], p.explained[1]);
    EXPECT_LE(p.explained[0] + p.explained[1], 1.0);
    EXPECT_LT(p.explained[0] + p.explained[1], 0.95) << "8 random dimensions: two axes hold far from everything";
  }
  // A 1-D head (d = 1): one axis holds everything, the other nothing.
  const QkProjection one = project_qk(random_matrix(5, 1, 9), random_matrix(5, 1, 10));
  EXPECT_NEAR(one.explained[0], 1.0, 1e-9);
  EXPECT_EQ(one.explained[1], 0.0);
  EXPECT_EQ(one.queries.col(1).cwiseAbs().maxCoeff(), 0.0f);
}

TEST(QkProjection, AxisSignsAreFixedByTheData) {
  const RowMatrix q = random_matrix(10, 6, 11), k = random_matrix(10, 6, 12);
  const QkProjection p = project_qk(q, k);
  for (int c = 0; c < 2; ++c) {
    Eigen::Index at;
    p.axes.col(c).cwiseAbs().maxCoeff(&at);
    EXPECT_GT(p.axes(at, c), 0.0) << "axis " << c << ": its largest loading is positive";
  }
  // The same sets in another order, and negated: the same axes (not flipped), the coordinates
  // permuted, and negated.
  RowMatrix qr = q.colwise().reverse(), kr = k.colwise().reverse();
  const QkProjection r = project_qk(qr, kr);
  const QkProjection n = project_qk(-q, -k);
  EXPECT_NEAR((r.axes - p.axes).cwiseAbs().maxCoeff(), 0.0, 1e-9);
  EXPECT_NEAR((n.axes - p.axes).cwiseAbs().maxCoeff(), 0.0, 1e-9);
  for (int i = 0; i < 10; ++i) {
    EXPECT_NEAR((r.queries.row(9 - i) - p.queries.row(i)).norm(), 0.0, 1e-4) << i;
    EXPECT_NEAR((n.keys.row(i) + p.keys.row(i)).norm(), 0.0, 1e-4) << i;
  }
}

TEST(QkProjection, RefusesMismatchedShapes) {
  EXPECT_THROW(project_qk(random_matrix(3, 4, 1), random_matrix(4, 4, 2)), Error);
  EXPECT_THROW(project_qk(RowMatrix(0, 4), RowMatrix(0, 4)), Error);
}

TEST(QkProjection, OneHeadOfARecording) {
  const auto rec = recording(true);
  const QkProjection p = project_qk(*rec, 1, 2);
  const QkProjection direct = project_qk(rec->head_copy(1, 2, Part::Query), rec->head_copy(1, 2, Part::Key));
  ASSERT_EQ(p.queries.rows(), 6);
  EXPECT_EQ(p.queries, direct.queries);
  EXPECT_EQ(p.keys, direct.keys);
  EXPECT_EQ(qk_missing(*rec), "");
  EXPECT_THROW(project_qk(*rec, 1, kHeadMean), Error);
  EXPECT_THROW(project_qk(*rec, 2, 0), Error);
}

TEST(QkProjection, ARecordingWithoutQkSaysSo) {
  const auto rec = recording(false);
  try {
    project_qk(*rec, 0, 0);
    FAIL() << "no Q/K, no projection";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("toy-model"), std::string::npos) << m;
    EXPECT_NE(m.find("no query/key vectors"), std::string::npos) << m;
    EXPECT_NE(m.find("--qkv"), std::string::npos) << m;
  }
  EXPECT_EQ(qk_missing(*rec).substr(0, 28), "the recording of toy-model h");
}

TEST(QkProjection, AttendedKeysAboveTheThresholdHeaviestFirst) {
  const auto rec = recording(false);
  const ConstMatrixMap a = rec->head(0, 1);
  const auto keys = attended_keys(*rec, 0, 1, 3, 0.1f);
  int expected = 0;
  for (int j = 0; j < 6; ++j) expected += a(3, j) >= 0.1f;
  ASSERT_EQ(int(keys.size()), expected);
  ASSERT_GT(expected, 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(keys[i].weight, a(3, keys[i].key));
    if (i > 0) {
      EXPECT_GE(keys[i - 1].weight, keys[i].weight);
    }
  }
  EXPECT_EQ(attended_keys(*rec, 0, 1, 0, 0.0f).size(), 6u);
  EXPECT_TRUE(attended_keys(*rec, 0, 1, -1, 0.0f).empty());
}
