#include "nn/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "util/error.h"

namespace attn {

namespace {

// yarn's magnitude scale (modeling_rope_utils.get_mscale).
double yarn_mscale(double scale, double m = 1.0) { return scale <= 1.0 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; }

}  // namespace

std::vector<float> RopeTable::inverse_frequencies(const RopeConfig& rope, int head_dim, int max_positions,
                                                  float* attention_factor, int tokens) {
  // HF: dim = int(head_dim * partial_rotary_factor), the rotated channels; every formula below
  // runs over it.
  const int dim = rope.rotary_dim(head_dim);
  if (dim <= 0 || dim % 2 != 0 || dim > head_dim)
    throw Error("rotary embeddings need an even number of rotated channels, not " + std::to_string(dim) + " (head_dim " +
                std::to_string(head_dim) + ")");
  const int half = dim / 2;
  // HF: base ** (arange(0, dim, 2).float() / dim), in float32.
  std::vector<float> base_freq(static_cast<size_t>(half)), inv(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i) {
    const float exponent = float(2 * i) / float(dim);
    base_freq[size_t(i)] = std::pow(float(rope.theta), exponent);
    inv[size_t(i)] = 1.0f / base_freq[size_t(i)];
  }
  float factor_out = 1.0f;
  if (rope.type == "linear") {
    for (float& f : inv) f = float(f / rope.factor);
  } else if (rope.type == "llama3") {
    const double old_len = rope.original_max_positions;
    const double low_wavelen = old_len / rope.low_freq_factor, high_wavelen = old_len / rope.high_freq_factor;
    for (float& f : inv) {
      const double wavelen = 2.0 * std::numbers::pi / f;
      const double scaled = wavelen > low_wavelen ? f / rope.factor : f;
      if (wavelen < high_wavelen || wavelen > low_wavelen) {
        f = float(scaled);
      } else {  // the band between: interpolate smoothly
        const double smooth = (old_len / wavelen - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor);
        f = float((1.0 - smooth) * scaled / rope.factor + smooth * scaled);
      }
    }
  } else if (rope.type == "yarn") {
    double factor = rope.factor, original = max_positions;
    // transformers 4.5x: an original_max_position_embeddings makes factor max / original.
    if (rope.original_max_positions > 0) {
      original = rope.original_max_positions;
      factor = double(max_positions) / original;
    }
    double af = rope.attention_factor;
    if (af < 0) af = rope.mscale != 0 && rope.mscale_all_dim != 0 ? yarn_mscale(factor, rope.mscale) / yarn_mscale(factor, rope.mscale_all_dim)
                                                                  : yarn_mscale(factor);
    auto correction_dim = [&](double rotations) {
      return (dim * std::log(original / (rotations * 2.0 * std::numbers::pi))) / (2.0 * std::log(rope.theta));
    };
    double low = correction_dim(rope.beta_fast), high = correction_dim(rope.beta_slow);
    if (rope.truncate) low = std::floor(low), high = std::ceil(high);
    low = std::max(low, 0.0), high = std::min(high, double(dim - 1));
    if (low == high) high += 0.001;
    for (int i = 0; i < half; ++i) {
      const float ramp = std::clamp(float((double(i) - low) / (high - low)), 0.0f, 1.0f);
      const float extrapolation = 1.0f - ramp;
      const float inv_extra = 1.0f / base_freq[size_t(i)];
      const float inv_inter = 1.0f / (float(factor) * base_freq[size_t(i)]);
      inv[size_t(i)] = inv_inter * (1.0f - extrapolation) + inv_extra * extrapolation;
    }
    factor_out = float(af);
  } else if (rope.type == "longrope") {
    // _compute_longrope_parameters: inv_freq = 1 / (ext · base^(2i/dim)), ext the long factors
    // when the run is longer than the pretrained context, else the short ones.
    const double original = rope.original_max_positions > 0 ? rope.original_max_positions : max_positions;
    const std::vector<float>& ext = tokens > original ? rope.long_factor : rope.short_factor;
    if (int(ext.size()) != half)
      throw Error("longrope needs " + std::to_string(half) + " short and long factors, not " + std::to_string(ext.size()));
    for (int i = 0; i < half; ++i) inv[size_t(i)] = 1.0f / (ext[size_t(i)] * base_freq[size_t(i)]);
    double af = rope.attention_factor;
    if (af < 0) af = rope.factor <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(rope.factor) / std::log(original));
    factor_out = float(af);
  } else if (rope.type != "default") {
    throw Error("unsupported rope type '" + rope.type + "' (supported: default, linear, llama3, yarn, longrope)");
  }
  if (attention_factor) *attention_factor = factor_out;
  return inv;
}

RopeTable::RopeTable(const RopeConfig& rope, int head_dim, int max_positions, int tokens, int first)
    : head_dim_(head_dim), half_(rope.rotary_dim(head_dim) / 2) {
  float af = 1.0f;
  const std::vector<float> inv = inverse_frequencies(rope, head_dim, max_positions, &af, tokens);
  const int rows = std::max(0, tokens - first);
  cos_.resize(rows, half_);
  sin_.resize(rows, half_);
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < half_; ++i) {
      const float angle = float(first + r) * inv[size_t(i)];  // float32, as HF
      cos_(r, i) = std::cos(angle) * af;
      sin_(r, i) = std::sin(angle) * af;
    }
}

void RopeTable::apply(Eigen::Ref<RowMatrix> x) const {
  const Eigen::Index n = x.rows(), d = head_dim_, heads = x.cols() / d;
#pragma omp parallel for if (n * x.cols() > 65536)
  for (Eigen::Index r = 0; r < n; ++r) {
    for (Eigen::Index h = 0; h < heads; ++h) {
      float* v = x.row(r).data() + h * d;
      for (int i = 0; i < half_; ++i) {
        const float a = v[i], b = v[i + half_], c = cos_(r, i), s = sin_(r, i);
        v[i] = a * c - b * s;          // x·cos + rotate_half(x)·sin, rotate_half([a, b]) = [-b, a]
        v[i + half_] = b * c + a * s;
      }  // channels 2 · half_ .. d pass through (partial rotary)
    }
  }
}

}  // namespace attn
