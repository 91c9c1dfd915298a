#include "analysis/attention_grid.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "io/json_fields.h"
#include "util/error.h"

namespace attn {

std::optional<ImagePatchGrid> image_patch_grid(const RecordingMeta& meta) {
  const auto it = meta.extra.find("image_grid");
  if (it == meta.extra.end()) return std::nullopt;
  const std::string& s = it->second;
  const auto bad = [&] { return Error("recording metadata image_grid = '" + s + "' is not HxW (patch rows x columns)"); };
  const size_t x = s.find('x');
  if (x == std::string::npos || x == 0 || x + 1 == s.size()) throw bad();
  ImagePatchGrid g;
  try {
    size_t used = 0;
    g.height = std::stoi(s.substr(0, x), &used);
    if (used != x) throw bad();
    g.width = std::stoi(s.substr(x + 1), &used);
    if (used != s.size() - x - 1) throw bad();
  } catch (const std::logic_error&) {
    throw bad();
  }
  if (g.height <= 0 || g.width <= 0 || int64_t(g.height) * g.width > meta.num_tokens)
    throw Error("recording metadata image_grid = '" + s + "' does not fit its " + std::to_string(meta.num_tokens) + " tokens");
  g.first_patch = meta.num_tokens - g.height * g.width;
  return g;
}

RowMatrix image_attention_grid(const AttentionRecording& rec, int layer, int head, int query_token) {
  const auto grid = image_patch_grid(rec.meta());
  if (!grid) throw Error("the recording has no image_grid: it is not of an image model");
  if (layer < 0 || layer >= rec.num_layers()) throw Error("layer " + std::to_string(layer) + " out of range");
  if (head < kHeadMax || head >= rec.num_heads()) throw Error("head " + std::to_string(head) + " out of range");
  if (query_token < 0 || query_token >= rec.num_tokens()) throw Error("token " + std::to_string(query_token) + " out of range");
  const int n = grid->height * grid->width;
  const int h0 = head < 0 ? 0 : head, h1 = head < 0 ? rec.num_heads() : head + 1;
  Eigen::RowVectorXf row = Eigen::RowVectorXf::Constant(n, head == kHeadMax ? -std::numeric_limits<float>::infinity() : 0.0f);
  for (int h = h0; h < h1; ++h) {
    const auto patches = rec.head(layer, h).row(query_token).segment(grid->first_patch, n);
    if (head == kHeadMax) row = row.cwiseMax(patches);
    else row += patches;
  }
  if (head != kHeadMax) row /= float(h1 - h0);
  return Eigen::Map<const RowMatrix>(row.data(), grid->height, grid->width);
}

std::optional<Rgb8Image> recorded_input_image(const AttentionRecording& recording) {
  const auto& image = recording.image();
  if (!image || image->height < 1 || image->width < 1 || image->data.size() != size_t(image->channels) * image->height * image->width)
    return std::nullopt;
  const auto& extra = recording.meta().extra;
  auto numbers = [&](const char* key, double fallback) {
    std::array<double, 3> out{fallback, fallback, fallback};
    const auto it = extra.find(key);
    if (it == extra.end()) return out;
    const auto j = nlohmann::json::parse(it->second, nullptr, false);
    if (const auto d = json_number(j)) out.fill(*d);
    else if (j.is_array() && j.size() == 3 && std::all_of(j.begin(), j.end(), [](const auto& v) { return json_number(v).has_value(); }))
      for (int c = 0; c < 3; ++c) out[size_t(c)] = *json_number(j[size_t(c)]);
    return out;
  };
  const auto mean = numbers("image_mean", 0.0), stdev = numbers("image_std", 1.0), rescale = numbers("image_rescale_factor", 1.0);
  Rgb8Image out(image->width, image->height);
  for (int y = 0; y < image->height; ++y) {
    uint8_t* row = out.row(y);
    for (int x = 0; x < image->width; ++x)
      for (int c = 0; c < 3; ++c) {
        const int from = std::min(c, image->channels - 1);
        const double level = (image->at(from, y, x) * stdev[size_t(from)] + mean[size_t(from)]) / (rescale[0] != 0 ? rescale[0] : 1.0);
        row[3 * x + c] = uint8_t(std::lround(std::isfinite(level) ? std::clamp(level, 0.0, 255.0) : 0.0));
      }
  }
  return out;
}

}  // namespace attn
