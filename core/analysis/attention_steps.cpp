#include "analysis/attention_steps.h"

#include <cmath>
#include <string>

#include "record/recording.h"
#include "util/error.h"

namespace attn {

namespace {

void check(bool ok, const std::string& what) {
  if (!ok) throw Error("attention steps: " + what);
}

std::string shape(Eigen::Index r, Eigen::Index c) { return std::to_string(r) + "×" + std::to_string(c); }

float step_factor(Eigen::Index d, const StepOptions& o) {
  check(o.temperature > 0 && std::isfinite(o.temperature), "the temperature must be a positive number");
  const double scale = !o.scale ? 1.0 : o.scale_factor > 0 ? double(o.scale_factor) : 1.0 / std::sqrt(double(d));
  return float(scale / o.temperature);
}

float meta_number(const RecordingMeta& meta, const char* key) {
  const auto it = meta.extra.find(key);
  if (it == meta.extra.end()) return 0.0f;
  try {
    const float v = std::stof(it->second);
    return std::isfinite(v) && v > 0 ? v : 0.0f;
  } catch (const std::exception&) {
    return 0.0f;
  }
}

}  // namespace

StepOptions step_options_for(const RecordingMeta& meta, int layer) {
  StepOptions o;
  o.causal = meta.causal;
  o.window = meta.window(layer);
  o.scale_factor = meta_number(meta, "attention_scale");
  o.softcap = meta_number(meta, "attn_logit_softcapping");
  return o;
}

Vector masked_softmax(const Eigen::Ref<const Vector>& x) {
  Vector p = Vector::Zero(x.size());
  double m = -std::numeric_limits<double>::infinity();
  for (Eigen::Index j = 0; j < x.size(); ++j)
    if (x[j] != kMasked) m = std::max(m, double(x[j]));
  if (!std::isfinite(m)) {  // nothing visible: uniform, like the engine's softmax_rows
    p.setConstant(x.size() ? 1.0f / float(x.size()) : 0.0f);
    return p;
  }
  double sum = 0;
  for (Eigen::Index j = 0; j < x.size(); ++j)
    if (x[j] != kMasked) sum += std::exp(double(x[j]) - m);
  for (Eigen::Index j = 0; j < x.size(); ++j)
    if (x[j] != kMasked) p[j] = float(std::exp(double(x[j]) - m) / sum);
  return p;
}

QuerySteps query_steps(const Eigen::Ref<const Vector>& q, const Eigen::Ref<const RowMatrix>& keys,
                       const Eigen::Ref<const RowMatrix>& values, int query, const StepOptions& options) {
  const Eigen::Index N = keys.rows(), d = q.size();
  check(N > 0, "there are no keys");
  check(keys.cols() == d, "the keys are " + shape(N, keys.cols()) + " but the query has length " + std::to_string(d));
  check(values.rows() == N, "there are " + std::to_string(N) + " keys but " + std::to_string(values.rows()) + " values");
  check(query >= 0 && query < N, "query " + std::to_string(query) + " is outside the " + std::to_string(N) + " tokens");

  QuerySteps s;
  s.query = query;
  s.factor = step_factor(d, options);
  s.dots.resize(N);
  s.uncapped.resize(N);
  s.scaled.resize(N);
  s.masked.resize(N);
  for (Eigen::Index j = 0; j < N; ++j) {
    double dot = 0;
    for (Eigen::Index c = 0; c < d; ++c) dot += double(q[c]) * double(keys(j, c));
    s.dots[j] = float(dot);
    s.uncapped[j] = float(dot * double(s.factor));
    s.scaled[j] = options.softcap > 0 ? float(std::tanh(double(s.uncapped[j]) / options.softcap) * options.softcap) : s.uncapped[j];
    const bool hidden = (options.causal && j > query) || (options.window > 0 && j <= query - options.window);
    s.masked[j] = hidden ? kMasked : s.scaled[j];
  }
  s.probs = masked_softmax(s.masked);
  s.output = Vector::Zero(values.cols());
  for (Eigen::Index c = 0; c < values.cols(); ++c) {
    double sum = 0;
    for (Eigen::Index j = 0; j < N; ++j) sum += double(s.probs[j]) * double(values(j, c));
    s.output[c] = float(sum);
  }
  return s;
}

RotarySteps rotary_steps(const RecordingMeta& meta, int layer, bool key, const Eigen::Ref<const Vector>& raw, int position) {
  const RotaryMeta& r = meta.rotary;
  check(!r.empty(), "this recording is not of a rotary model");
  check(layer >= 0 && layer < meta.num_layers, "layer " + std::to_string(layer) + " is outside the recording");
  const std::vector<float>& freq = r.frequencies(meta.window(layer) > 0);
  const Eigen::Index half = Eigen::Index(freq.size()), d = raw.size();
  check(d == meta.head_dim && 2 * half <= d,
        "the vector has " + std::to_string(d) + " numbers but the heads have " + std::to_string(meta.head_dim));
  check(position >= 0, "positions start at 0");
  RotarySteps s;
  s.position = position;
  s.raw = raw;
  s.normed = raw;
  const auto& gains = key ? r.k_norm : r.q_norm;
  if (!gains.empty()) {
    check(layer < int(gains.size()) && Eigen::Index(gains[size_t(layer)].size()) == d, "the q/k norm gains do not fit the head");
    double squares = 0;
    for (Eigen::Index c = 0; c < d; ++c) squares += double(raw[c]) * double(raw[c]);
    s.rms = float(std::sqrt(squares / double(d) + double(r.norm_eps)));
    s.gain.resize(d);
    for (Eigen::Index c = 0; c < d; ++c) {
      s.gain[c] = (r.norm_plus_one ? 1.0f : 0.0f) + gains[size_t(layer)][size_t(c)];
      s.normed[c] = float(double(raw[c]) / double(s.rms) * double(s.gain[c]));
    }
  }
  s.angles.resize(half);
  s.rotated = s.normed;  // channels past 2 · half pass through (partial rotary)
  for (Eigen::Index c = 0; c < half; ++c) {
    s.angles[c] = float(position) * freq[size_t(c)];
    const double cos = std::cos(double(s.angles[c])) * r.attention_factor, sin = std::sin(double(s.angles[c])) * r.attention_factor;
    const double a = s.normed[c], b = s.normed[c + half];
    s.rotated[c] = float(a * cos - b * sin);
    s.rotated[c + half] = float(b * cos + a * sin);
  }
  return s;
}

HeadSteps head_steps(const Eigen::Ref<const RowMatrix>& queries, const Eigen::Ref<const RowMatrix>& keys,
                     const Eigen::Ref<const RowMatrix>& values, const StepOptions& options) {
  const Eigen::Index Nq = queries.rows(), N = keys.rows();
  check((!options.causal && options.window == 0) || Nq == N, "a causal or sliding-window mask needs as many queries as keys (" + std::to_string(Nq) + " vs " + std::to_string(N) + ")");
  check(queries.cols() == keys.cols(), "queries are " + shape(Nq, queries.cols()) + " but keys " + shape(N, keys.cols()));
  HeadSteps h;
  h.factor = step_factor(queries.cols(), options);
  h.dots.resize(Nq, N);
  h.scaled.resize(Nq, N);
  h.masked.resize(Nq, N);
  h.probs.resize(Nq, N);
  h.output.resize(Nq, values.cols());
  for (Eigen::Index i = 0; i < Nq; ++i) {
    // Without a mask the query's position does not matter; keep it inside [0, N).
    const int position = options.causal || options.window > 0 ? int(i) : 0;
    const Vector q = queries.row(i).transpose();
    const QuerySteps s = query_steps(q, keys, values, position, options);
    h.dots.row(i) = s.dots.transpose();
    h.scaled.row(i) = s.scaled.transpose();
    h.masked.row(i) = s.masked.transpose();
    h.probs.row(i) = s.probs.transpose();
    h.output.row(i) = s.output.transpose();
  }
  return h;
}

}  // namespace attn
