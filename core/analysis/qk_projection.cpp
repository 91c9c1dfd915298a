#include "analysis/qk_projection.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <string>

#include "util/error.h"

namespace attn {

namespace {

// The mean distance of the rows from their mean.
double spread(const Eigen::MatrixXd& m) { return (m.rowwise() - m.colwise().mean()).rowwise().norm().mean(); }

// Flips `axis` so that its largest-magnitude entry (the first, on ties) is positive.
void fix_sign(Eigen::Ref<Eigen::VectorXd> axis) {
  Eigen::Index at = 0;
  for (Eigen::Index i = 1; i < axis.size(); ++i)
    if (std::abs(axis(i)) > std::abs(axis(at)) + 1e-12) at = i;
  if (axis(at) < 0) axis = -axis;
}

}  // namespace

QkProjection project_qk(const Eigen::Ref<const RowMatrix>& q_in, const Eigen::Ref<const RowMatrix>& k_in, const QkOptions& options) {
  if (q_in.rows() == 0 || q_in.cols() == 0 || q_in.rows() != k_in.rows() || q_in.cols() != k_in.cols())
    throw Error("query/key projection: queries (" + std::to_string(q_in.rows()) + " × " + std::to_string(q_in.cols()) + ") and keys (" +
                std::to_string(k_in.rows()) + " × " + std::to_string(k_in.cols()) + ") must be the same non-empty shape");
  const Eigen::Index n = q_in.rows(), d = q_in.cols();
  Eigen::MatrixXd q = q_in.cast<double>(), k = k_in.cast<double>();
  QkProjection out;
  if (options.scale) {
    const double nq = spread(q), nk = spread(k);
    if (nq > 0 && nk > 0) out.scale = std::sqrt(nk / nq);
    q *= out.scale;
    k /= out.scale;
  }
  out.key_shift = (q.colwise().mean() - k.colwise().mean()).transpose();
  k.rowwise() += out.key_shift.transpose();

  Eigen::MatrixXd all(2 * n, d);
  all << q, k;
  const Eigen::RowVectorXd centre = all.colwise().mean();
  all.rowwise() -= centre;
  const Eigen::MatrixXd cov = all.transpose() * all / double(2 * n);  // (d, d)
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  const double total = cov.trace();
  out.axes = Eigen::MatrixXd::Zero(d, 2);
  for (int c = 0; c < 2 && c < d; ++c) {  // eigenvalues ascend: the largest are last
    const Eigen::Index i = d - 1 - c;
    out.axes.col(c) = eig.eigenvectors().col(i);
    fix_sign(out.axes.col(c));
    out.explained[size_t(c)] = total > 0 ? std::clamp(eig.eigenvalues()(i) / total, 0.0, 1.0) : 0.0;
  }
  const Eigen::MatrixXd projected = all * out.axes;  // (2N, 2)
  out.queries = projected.topRows(n).cast<float>();
  out.keys = projected.bottomRows(n).cast<float>();
  return out;
}

std::string qk_missing(const AttentionRecording& rec) {
  if (rec.has_qkv()) return {};
  return "the recording of " + rec.meta().model +
         " holds no query/key vectors: run the model again with them (the view's button, or 'attnscope record --qkv', or "
         "'attnscope export --view qk --model DIR --text STR')";
}

QkProjection project_qk(const AttentionRecording& rec, int layer, int head, const QkOptions& options) {
  if (const std::string why = qk_missing(rec); !why.empty()) throw Error(why);
  if (layer < 0 || layer >= rec.num_layers() || head < 0 || head >= rec.num_heads())
    throw Error("query/key projection: layer " + std::to_string(layer) + ", head " + std::to_string(head) + " is not in the recording of " +
                rec.meta().model + " (" + std::to_string(rec.num_layers()) + " layers × " + std::to_string(rec.num_heads()) +
                " heads); choose one head, not the mean or max");
  const RowMatrix q = rec.head_copy(layer, head, AttentionRecording::Part::Query);
  const RowMatrix k = rec.head_copy(layer, head, AttentionRecording::Part::Key);
  return project_qk(q, k, options);
}

std::vector<AttendedKey> attended_keys(const AttentionRecording& rec, int layer, int head, int query, float min_weight) {
  std::vector<AttendedKey> out;
  if (query < 0 || query >= rec.num_tokens()) return out;
  const RowMatrix row = rec.block(AttentionRecording::Part::Attention, layer, head, query, query + 1, 0, rec.num_tokens());
  for (int j = 0; j < int(row.cols()); ++j)
    if (row(0, j) >= min_weight && row(0, j) > 0) out.push_back({j, row(0, j)});
  std::stable_sort(out.begin(), out.end(), [](const AttendedKey& a, const AttendedKey& b) { return a.weight > b.weight; });
  return out;
}

}  // namespace attn
