#include "record/recording.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "io/json_fields.h"
#include "record/pyramid.h"
#include "util/error.h"
#include "util/half.h"

namespace attn {

namespace {

constexpr const char* kFormat = "attnscope-recording";
constexpr int kVersion = 1;

const char* part_prefix(AttentionRecording::Part part) {
  switch (part) {
    case AttentionRecording::Part::Attention: return "attention";
    case AttentionRecording::Part::Scores: return "scores";
    case AttentionRecording::Part::Query: return "query";
    case AttentionRecording::Part::Key: return "key";
    case AttentionRecording::Part::Value: return "value";
    case AttentionRecording::Part::QueryRaw: return "query_raw";
    case AttentionRecording::Part::KeyRaw: return "key_raw";
    case AttentionRecording::Part::EncoderAttention: return "encoder_attention";
    case AttentionRecording::Part::CrossAttention: return "cross_attention";
  }
  return "?";
}

// Metadata keys this class writes itself; everything else round-trips through `extra`.
const char* const kOwnKeys[] = {"format", "version", "model", "family", "num_layers", "num_heads", "num_tokens",
                                "head_dim", "tokens", "special_tokens", "causal", "text", "pair", "layers",
                                "num_key_value_heads", "sliding_windows", "rotary", "pyramid", "source_tokens",
                                "source_special_tokens", "num_encoder_layers", "architecture"};

// A metadata value quoted in an error, cut to a readable length.
std::string clipped(const std::string& value) {
  return value.size() <= 80 ? value : value.substr(0, 77) + "...";
}

int parse_int(const std::map<std::string, std::string>& md, const std::string& key, const std::filesystem::path& path) {
  auto it = md.find(key);
  if (it == md.end()) throw Error(path.string() + ": recording metadata lacks '" + key + "'");
  try {
    size_t used = 0;
    const long v = std::stol(it->second, &used);
    if (used != it->second.size() || v < 0 || v > (1L << 24)) throw std::out_of_range(key);
    return static_cast<int>(v);
  } catch (const std::exception&) {
    throw Error(path.string() + ": recording metadata '" + key + "' = '" + clipped(it->second) + "' is not a valid count");
  }
}

nlohmann::json rotary_json(const RotaryMeta& r) {
  nlohmann::json j{{"inv_freq", r.inv_freq}, {"attention_factor", r.attention_factor}};
  if (!r.local_inv_freq.empty()) j["local_inv_freq"] = r.local_inv_freq;
  if (!r.q_norm.empty()) {
    j["q_norm"] = r.q_norm;
    j["k_norm"] = r.k_norm;
    j["norm_eps"] = r.norm_eps;
    j["norm_plus_one"] = r.norm_plus_one;
  }
  return j;
}

// The `rotary` metadata: every length checked against the head size and the layer count.
RotaryMeta parse_rotary(const std::string& text, const RecordingMeta& m, const std::filesystem::path& path) {
  const auto fail = [&](const std::string& what) -> RotaryMeta {
    throw Error(path.string() + ": metadata 'rotary' " + what + " (is " + clipped(text) + ")");
  };
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return fail("must be a JSON object");
  if (m.head_dim <= 0 || m.head_dim % 2) return fail("needs an even head_dim");
  const auto numbers = [&](const nlohmann::json& v, size_t n, std::vector<float>& out) {
    if (!v.is_array() || v.size() != n) return false;
    for (const auto& x : v) {
      const auto f = json_float(x);
      if (!f) return false;
      out.push_back(*f);
    }
    return true;
  };
  // One frequency per turned channel pair: half of head_dim, or fewer when only the first
  // channels turn (partial rotary).
  const size_t d = size_t(m.head_dim);
  const size_t pairs = j.contains("inv_freq") && j["inv_freq"].is_array() ? j["inv_freq"].size() : 0;
  RotaryMeta r;
  if (pairs == 0 || pairs > d / 2 || !numbers(j["inv_freq"], pairs, r.inv_freq))
    return fail("needs 'inv_freq', one number per turned channel pair (at most " + std::to_string(d / 2) + ", half of head_dim " +
                std::to_string(m.head_dim) + ")");
  if (j.contains("local_inv_freq") && !numbers(j["local_inv_freq"], pairs, r.local_inv_freq))
    return fail("'local_inv_freq' must be " + std::to_string(pairs) + " numbers, as many as 'inv_freq'");
  const auto af = json_number(j.value("attention_factor", nlohmann::json(1.0)));
  if (!af || !(*af > 0) || *af > 1e6) return fail("'attention_factor' must be a positive number");
  r.attention_factor = float(*af);
  if (j.contains("q_norm") || j.contains("k_norm")) {
    for (auto [key, rows] : {std::pair{"q_norm", &r.q_norm}, {"k_norm", &r.k_norm}}) {
      const auto& v = j.contains(key) ? j[key] : nlohmann::json();
      bool ok = v.is_array() && int(v.size()) == m.num_layers;
      for (size_t l = 0; ok && l < v.size(); ++l) ok = numbers(v[l], d, rows->emplace_back());
      if (!ok)
        return fail("'" + std::string(key) + "' must hold " + std::to_string(m.num_layers) + " gain vectors (one per recorded layer) of " +
                    std::to_string(d) + " numbers");
    }
    const auto eps = json_number(j.value("norm_eps", nlohmann::json()));
    if (!eps || !(*eps >= 0) || *eps > 1) return fail("'norm_eps' must be a number between 0 and 1");
    r.norm_eps = float(*eps);
    if (!j.value("norm_plus_one", nlohmann::json(false)).is_boolean()) return fail("'norm_plus_one' must be true or false");
    r.norm_plus_one = j.value("norm_plus_one", false);
  }
  return r;
}

}  // namespace

std::string describe_windows(const std::vector<int>& windows, const std::vector<int>& layer_names) {
  std::map<int, std::vector<int>> by_window;  // window -> layers (0: full)
  for (size_t i = 0; i < windows.size(); ++i) by_window[windows[i]].push_back(i < layer_names.size() ? layer_names[i] : int(i));
  if (by_window.empty() || (by_window.size() == 1 && by_window.begin()->first == 0)) return "";
  auto list = [](const std::vector<int>& layers) {
    std::string out;
    for (size_t i = 0; i < layers.size(); ++i) out += (i ? ", " : "") + std::to_string(layers[i]);
    return out;
  };
  std::string out;
  for (const auto& [w, layers] : by_window) {
    if (w == 0) continue;
    if (!out.empty()) out += "; ";
    out += "window " + std::to_string(w) + (layers.size() == windows.size() ? " on every layer" : " on layer" + std::string(layers.size() > 1 ? "s " : " ") + list(layers));
  }
  if (by_window.count(0)) out += "; full attention on " + list(by_window.at(0));
  return out;
}

std::string describe_kv_groups(int num_heads, int num_kv_heads) {
  if (num_kv_heads <= 0 || num_kv_heads == num_heads || num_heads % num_kv_heads != 0) return "";
  const int group = num_heads / num_kv_heads;
  if (num_kv_heads == 1) return "1 key/value head shared by all " + std::to_string(num_heads) + " query heads (multi-query)";
  return std::to_string(num_kv_heads) + " key/value heads, each shared by " + std::to_string(group) + " query heads";
}

std::string AttentionRecording::tensor_name(Part part, int layer) {
  return std::string(part_prefix(part)) + ".layer" + std::to_string(layer);
}

// n values as a file stores them (F32, F16 or BF16; little-endian, any alignment) into floats.
static void stored_to_floats(const std::byte* p, DType type, size_t n, float* out) {
  if (type == DType::F32) {
    std::memcpy(out, p, n * 4);
  } else if (type == DType::F16) {
    halves_to_floats(p, out, n);
  } else {
    for (size_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);  // little-endian hosts
      out[i] = bf16_to_float(v);
    }
  }
}

static size_t stored_width(DType type) { return type == DType::F32 ? 4 : 2; }

std::string AttentionRecording::pyramid_tensor_name(int factor, int layer) {
  return "attention_max" + std::to_string(factor) + ".layer" + std::to_string(layer);
}

RowMatrix AttentionRecording::pyramid_level(int layer, int head, size_t level) const {
  const auto it = pyramid_tensors_.find({level, layer});
  if (it == pyramid_tensors_.end() || head < 0 || head >= meta_.num_heads)
    throw Error("recording has no pyramid level " + std::to_string(level) + " of layer " + std::to_string(layer) + " head " + std::to_string(head));
  const TensorInfo& t = *it->second;
  const int side = int(t.shape[1]);
  const size_t n = size_t(side) * side;
  RowMatrix out(side, side);
  stored_to_floats(file_->data(t).data() + size_t(head) * n * stored_width(t.dtype), t.dtype, n, out.data());
  return out;
}

RowMatrix AttentionRecording::block(Part part, int layer, int head, int r0, int r1, int c0, int c1) const {
  const int N = rows(part), C = cols(part);
  if (head < 0 || head >= meta_.num_heads || r0 < 0 || r1 > N || r0 > r1 || c0 < 0 || c1 > C || c0 > c1)
    throw Error("no block of head " + std::to_string(head) + " at rows " + std::to_string(r0) + "-" + std::to_string(r1));
  auto it = blocks_.find({int(part), layer});
  if (it == blocks_.end()) throw Error("recording has no " + tensor_name(part, layer));
  const Block& b = it->second;
  RowMatrix out(r1 - r0, c1 - c0);
  const size_t first = size_t(head) * N * C, n = size_t(c1 - c0);
  const float* floats = nullptr;
  {
    std::lock_guard lock(*mutex_);
    if (b.view) floats = b.view + first;
    else if (!b.heads.empty() && !b.heads[size_t(head)].empty()) floats = b.heads[size_t(head)].data();
    else if (!b.half.empty()) {
      for (int i = r0; i < r1; ++i) halves_to_floats(b.half.data() + first + size_t(i) * C + c0, out.row(i - r0).data(), n);
      return out;
    }
  }
  if (floats) {
    for (int i = r0; i < r1; ++i) std::memcpy(out.row(i - r0).data(), floats + size_t(i) * C + c0, n * 4);
    return out;
  }
  const TensorInfo& t = *b.source;
  const std::byte* p = file_->data(t).data();
  for (int i = r0; i < r1; ++i)
    stored_to_floats(p + (first + size_t(i) * C + size_t(c0)) * stored_width(t.dtype), t.dtype, n, out.row(i - r0).data());
  return out;
}

float AttentionRecording::value(Part part, int layer, int head, int row, int col) const {
  return block(part, layer, head, row, row + 1, col, col + 1)(0, 0);
}

std::shared_ptr<AttentionRecording> AttentionRecording::metadata_only(RecordingMeta meta, bool with_qkv, bool with_scores, DType storage) {
  if (storage != DType::F32 && storage != DType::F16) throw Error("recordings are held as F32 or F16");
  auto r = std::make_shared<AttentionRecording>();
  r->storage_ = storage;
  r->meta_ = std::move(meta);
  r->has_qkv_ = with_qkv;
  r->has_scores_ = with_scores;
  r->has_raw_qk_ = with_qkv && !r->meta_.rotary.empty();
  r->mutex_ = std::make_shared<std::mutex>();
  return r;
}

std::vector<AttentionRecording::Part> AttentionRecording::parts() const {
  std::vector<Part> parts{Part::Attention};  // the order of Part, as blocks_ sorts them
  if (has_scores_) parts.push_back(Part::Scores);
  for (Part p : {Part::Query, Part::Key, Part::Value})
    if (has_qkv_) parts.push_back(p);
  for (Part p : {Part::QueryRaw, Part::KeyRaw})
    if (has_raw_qk_) parts.push_back(p);
  if (meta_.encoder_decoder()) parts.insert(parts.end(), {Part::EncoderAttention, Part::CrossAttention});
  return parts;
}

std::shared_ptr<AttentionRecording> AttentionRecording::create(RecordingMeta meta, bool with_qkv, bool with_scores, DType storage) {
  auto r = metadata_only(std::move(meta), with_qkv, with_scores, storage);
  for (Part p : r->parts()) {
    for (int l = 0; l < r->layers(p); ++l) {
      Block& b = r->blocks_[{int(p), l}];
      const size_t n = size_t(r->meta_.num_heads) * r->rows(p) * r->cols(p);
      if (storage == DType::F16) {
        b.half = ZeroedArray<uint16_t>(n);
      } else {
        b.data = ZeroedArray<float>(n);
        b.view = b.data.data();
      }
    }
  }
  return r;
}

int AttentionRecording::rows(Part part) const { return part == Part::EncoderAttention ? int(meta_.source_tokens.size()) : meta_.num_tokens; }

int AttentionRecording::cols(Part part) const {
  switch (part) {
    case Part::Attention:
    case Part::Scores: return meta_.num_tokens;
    case Part::EncoderAttention:
    case Part::CrossAttention: return int(meta_.source_tokens.size());
    default: return meta_.head_dim;
  }
}

int AttentionRecording::layers(Part part) const { return part == Part::EncoderAttention ? meta_.num_encoder_layers : meta_.num_layers; }

const AttentionRecording::Block& AttentionRecording::block(Part part, int layer) const {
  auto it = blocks_.find({int(part), layer});
  if (it == blocks_.end())
    throw Error("recording has no " + tensor_name(part, layer) + (layer >= 0 && layer < meta_.num_layers ? "" : " (layer out of range)"));
  const Block& b = it->second;
  if (!b.view) {
    std::lock_guard lock(*mutex_);
    if (!b.view && !b.half.empty()) {
      b.data = ZeroedArray<float>(b.half.size());
      halves_to_floats(b.half.data(), b.data.data(), b.half.size());
      b.view = b.data.data();
    } else if (!b.view) {
      const auto bytes = file_->data(*b.source);
      if (b.source->dtype == DType::F32 && reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float) == 0) {
        b.view = reinterpret_cast<const float*>(bytes.data());
      } else {
        b.data = ZeroedArray<float>(size_t(b.source->numel()));
        file_->to_f32(*b.source, b.data.data());
        b.view = b.data.data();
      }
    }
  }
  return b;
}

ConstMatrixMap AttentionRecording::matrix(Part part, int layer, int head) const {
  if (head < 0 || head >= meta_.num_heads) throw Error("head " + std::to_string(head) + " out of range");
  const int N = rows(part), C = cols(part);
  auto it = blocks_.find({int(part), layer});
  if (it != blocks_.end() && !it->second.view && (!it->second.half.empty() || it->second.source->dtype != DType::F32)) {
    const Block& b = it->second;  // half precision: this head only
    std::lock_guard lock(*mutex_);
    if (!b.view) {
      if (b.heads.empty()) b.heads.resize(size_t(meta_.num_heads));
      auto& values = b.heads[size_t(head)];
      if (values.empty()) {
        values.resize(size_t(N) * C);
        convert_head(b, part, head, values.data());
      }
      return ConstMatrixMap(values.data(), N, C);
    }
  }
  const Block& b = block(part, layer);
  return ConstMatrixMap(b.view + size_t(head) * N * C, N, C);
}

size_t AttentionRecording::converted_bytes() const {
  std::lock_guard lock(*mutex_);
  size_t floats = 0;
  for (const auto& [key, b] : blocks_) {
    floats += b.data.size();
    for (const auto& h : b.heads) floats += h.size();
  }
  return floats * sizeof(float);
}

void AttentionRecording::convert_head(const Block& b, Part part, int head, float* out) const {
  const size_t n = size_t(rows(part)) * cols(part), first = size_t(head) * n;
  if (!b.half.empty()) {
    halves_to_floats(b.half.data() + first, out, n);
    return;
  }
  const DType type = b.source->dtype;  // an unaligned F32 tensor, or a half-precision one
  stored_to_floats(file_->data(*b.source).data() + first * stored_width(type), type, n, out);
}

RowMatrix AttentionRecording::head_copy(int layer, int head, Part part) const {
  if (head < 0 || head >= meta_.num_heads) throw Error("head " + std::to_string(head) + " out of range");
  auto it = blocks_.find({int(part), layer});
  if (it == blocks_.end()) return matrix(part, layer, head);  // throws, naming what is missing
  const Block& b = it->second;
  const int N = rows(part), C = cols(part);
  {
    std::lock_guard lock(*mutex_);
    if (b.view) return ConstMatrixMap(b.view + size_t(head) * N * C, N, C);
    if (!b.heads.empty() && !b.heads[size_t(head)].empty()) return ConstMatrixMap(b.heads[size_t(head)].data(), N, C);
  }
  if (b.half.empty() && b.source->dtype == DType::F32) return matrix(part, layer, head);  // mapped, nothing to convert
  RowMatrix out(N, C);
  convert_head(b, part, head, out.data());
  return out;
}

void AttentionRecording::write_matrix(Part part, int layer, int head, const Eigen::Ref<const RowMatrix>& values) {
  if (values.rows() != rows(part) || values.cols() != cols(part))
    throw Error("recording part " + tensor_name(part, layer) + " is not writable here");
  write_rows(part, layer, head, 0, values);
}

void AttentionRecording::write_rows(Part part, int layer, int head, int first_row, const Eigen::Ref<const RowMatrix>& values) {
  auto it = blocks_.find({int(part), layer});
  const int N = rows(part), C = cols(part);
  if (it == blocks_.end() || file_ || head < 0 || head >= meta_.num_heads || first_row < 0 || first_row + values.rows() > N ||
      values.cols() > C)
    throw Error("recording part " + tensor_name(part, layer) + " is not writable here");
  Block& b = it->second;
  const size_t first = (size_t(head) * N + size_t(first_row)) * C;
  if (b.half.empty()) {
    Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>(b.data.data() + first, values.rows(), values.cols(), Eigen::OuterStride<>(C)) = values;
    return;
  }
  for (Eigen::Index i = 0; i < values.rows(); ++i) {
    const Eigen::Matrix<float, 1, Eigen::Dynamic> row = values.row(i);  // contiguous
    floats_to_halves(row.data(), b.half.data() + first + size_t(i) * C, size_t(row.size()));
  }
}

void AttentionRecording::keep_first_tokens(int tokens) {
  const int N = meta_.num_tokens, H = meta_.num_heads;
  if (file_ || tokens < 1 || tokens > N) throw Error("recording: cannot keep " + std::to_string(tokens) + " of its " + std::to_string(N) + " tokens");
  if (tokens == N) return;
  for (auto& [key, b] : blocks_) {
    const Part part = Part(key.first);
    if (part == Part::EncoderAttention) continue;  // the source's: not the tokens kept
    const size_t from_cols = size_t(cols(part)), to_cols = part == Part::Attention || part == Part::Scores ? size_t(tokens) : from_cols;
    auto shrink = [&](auto& values) {  // (H, N, from_cols) -> (H, tokens, to_cols)
      std::remove_reference_t<decltype(values)> kept(size_t(H) * tokens * to_cols);
      for (int h = 0; h < H; ++h)
        for (int i = 0; i < tokens; ++i)
          std::copy_n(values.data() + (size_t(h) * N + i) * from_cols, to_cols, kept.data() + (size_t(h) * tokens + i) * to_cols);
      values = std::move(kept);
    };
    if (b.half.empty()) {
      shrink(b.data);
      b.view = b.data.data();
    } else {
      shrink(b.half);
      b.data = {};
      b.view = nullptr;
      b.heads.clear();
    }
  }
  meta_.num_tokens = tokens;
  if (meta_.tokens.size() > size_t(tokens)) meta_.tokens.resize(size_t(tokens));
  if (meta_.special.size() > size_t(tokens)) meta_.special.resize(size_t(tokens));
}

MatrixMap AttentionRecording::mutable_matrix(Part part, int layer, int head) {
  const int N = rows(part), C = cols(part);
  return MatrixMap(mutable_layer(part, layer) + size_t(head) * N * C, N, C);
}

float* AttentionRecording::mutable_layer(Part part, int layer) {
  auto it = blocks_.find({int(part), layer});
  if (it == blocks_.end() || it->second.data.empty() || !it->second.half.empty() || file_)
    throw Error("recording part " + tensor_name(part, layer) + " is not writable");
  return it->second.data.data();
}

RowMatrix fuse_heads(int heads, int fusion, const std::function<RowMatrix(int)>& read) {
  RowMatrix out = read(0);
  for (int h = 1; h < heads; ++h) {
    const RowMatrix m = read(h);
    if (fusion == kHeadMax) out = out.cwiseMax(m);
    else out += m;
  }
  if (fusion == kHeadMean) out /= float(std::max(1, heads));
  return out;
}

RowMatrix AttentionRecording::layer_mean(int layer) const {
  return fuse_heads(num_heads(), kHeadMean, [&](int h) { return head_copy(layer, h); });
}

RowMatrix AttentionRecording::layer_max(int layer) const {
  return fuse_heads(num_heads(), kHeadMax, [&](int h) { return head_copy(layer, h); });
}

std::map<std::string, std::string> AttentionRecording::file_metadata(const RecordingMeta& meta, const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> md = meta.extra;
  for (const auto& [k, v] : extra) md[k] = v;  // the format's own keys below win
  md["format"] = kFormat;
  md["version"] = std::to_string(kVersion);
  md["model"] = meta.model;
  md["family"] = meta.family;
  md["num_layers"] = std::to_string(meta.num_layers);
  md["num_heads"] = std::to_string(meta.num_heads);
  md["num_tokens"] = std::to_string(meta.num_tokens);
  md["head_dim"] = std::to_string(meta.head_dim);
  md["tokens"] = nlohmann::json(meta.tokens).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!meta.special.empty()) md["special_tokens"] = nlohmann::json(meta.special).dump();
  md["causal"] = meta.causal ? "true" : "false";
  if (!meta.text.empty()) md["text"] = meta.text;
  if (!meta.pair.empty()) md["pair"] = meta.pair;
  if (!meta.model_layers.empty()) md["layers"] = nlohmann::json(meta.model_layers).dump();
  if (meta.num_kv_heads > 0) md["num_key_value_heads"] = std::to_string(meta.num_kv_heads);
  if (!meta.windows.empty()) md["sliding_windows"] = nlohmann::json(meta.windows).dump();
  if (!meta.rotary.empty()) md["rotary"] = rotary_json(meta.rotary).dump();
  if (meta.encoder_decoder()) {
    md["architecture"] = "encoder-decoder";
    md["num_encoder_layers"] = std::to_string(meta.num_encoder_layers);
    md["source_tokens"] = nlohmann::json(meta.source_tokens).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!meta.source_special.empty()) md["source_special_tokens"] = nlohmann::json(meta.source_special).dump();
  }
  if (const auto factors = pyramid_factors(meta.num_tokens); !factors.empty()) md["pyramid"] = nlohmann::json(factors).dump();
  return md;
}

void AttentionRecording::save(const std::filesystem::path& path, DType dtype, const std::map<std::string, std::string>& extra) const {
  if (dtype != DType::F32 && dtype != DType::F16) throw Error(path.string() + ": recordings are saved as F32 or F16");
  const std::map<std::string, std::string> md = file_metadata(meta_, extra);

  // Converted copies must outlive the write call.
  std::vector<std::vector<uint16_t>> halves;
  std::vector<TensorToWrite> tensors;
  const int H = meta_.num_heads, N = meta_.num_tokens;
  auto add = [&](const std::string& name, const float* data, std::vector<int64_t> shape) {
    size_t n = 1;
    for (auto d : shape) n *= size_t(d);
    if (dtype == DType::F16) {
      auto& h = halves.emplace_back(n);
      floats_to_halves(data, h.data(), n);
      tensors.push_back({name, DType::F16, shape, std::as_bytes(std::span(h))});
    } else {
      tensors.push_back({name, DType::F32, shape, std::as_bytes(std::span(data, n))});
    }
  };
  std::vector<std::vector<float>> wides;
  for (const auto& [key, b] : blocks_) {
    const Part part = Part(key.first);
    const std::vector<int64_t> shape{H, rows(part), cols(part)};
    if (!b.half.empty() && !b.view) {  // an F16 recording's layer nobody has looked at
      if (dtype == DType::F16) {
        tensors.push_back({tensor_name(part, key.second), DType::F16, shape, std::as_bytes(std::span(b.half))});
      } else {
        auto& w = wides.emplace_back(b.half.size());
        halves_to_floats(b.half.data(), w.data(), w.size());
        tensors.push_back({tensor_name(part, key.second), DType::F32, shape, std::as_bytes(std::span(w))});
      }
      continue;
    }
    if (b.source && b.source->dtype == dtype) {  // an opened file's tensor as it is: nothing converted
      tensors.push_back({tensor_name(part, key.second), dtype, shape, file_->data(*b.source)});
      continue;
    }
    const Block& loaded = block(part, key.second);
    add(tensor_name(part, key.second), loaded.view, shape);
  }
  // The max-pooled levels of a long recording (pyramid_factors; file_metadata names them).
  const std::vector<int> factors = pyramid_factors(N);
  std::vector<std::vector<float>> levels(factors.size() * size_t(meta_.num_layers));  // (level, layer): (H, side, side)
  for (int l = 0; l < meta_.num_layers && !factors.empty(); ++l)
    for (int h = 0; h < H; ++h) {
      RowMatrix scratch;
      const std::vector<RowMatrix> pooled = pyramid_levels(head_for_sweep(l, h, scratch), factors);
      for (size_t k = 0; k < factors.size(); ++k) {
        auto& v = levels[k * size_t(meta_.num_layers) + size_t(l)];
        v.insert(v.end(), pooled[k].data(), pooled[k].data() + pooled[k].size());
      }
    }
  for (size_t k = 0; k < factors.size(); ++k)
    for (int l = 0; l < meta_.num_layers; ++l) {
      const int64_t side = pyramid_side(N, factors[k]);
      add(pyramid_tensor_name(factors[k], l), levels[k * size_t(meta_.num_layers) + size_t(l)].data(), {H, side, side});
    }
  if (logits_) tensors.push_back({"logits", DType::F32, {logits_->rows(), logits_->cols()}, std::as_bytes(std::span(logits_->data(), logits_->size()))});
  if (image_)
    tensors.push_back({"image", DType::F32, {image_->channels, image_->height, image_->width}, std::as_bytes(std::span(image_->data))});
  if (steps_) {
    tensors.push_back({"step_candidate_ids", DType::I32, {steps_->steps, steps_->k}, std::as_bytes(std::span(steps_->ids))});
    tensors.push_back({"step_candidate_probs", DType::F32, {steps_->steps, steps_->k}, std::as_bytes(std::span(steps_->probs))});
    tensors.push_back({"step_chosen_ids", DType::I32, {steps_->steps}, std::as_bytes(std::span(steps_->chosen_ids))});
    tensors.push_back({"step_chosen_probs", DType::F32, {steps_->steps}, std::as_bytes(std::span(steps_->chosen_probs))});
  }
  write_safetensors(path, tensors, md);
}

std::shared_ptr<const AttentionRecording> AttentionRecording::open(const std::filesystem::path& path) {
  return open(SafetensorsFile::open(path));
}

std::shared_ptr<const AttentionRecording> AttentionRecording::open(std::shared_ptr<const SafetensorsFile> file) {
  const std::filesystem::path path = file->path();
  const auto& md = file->metadata();
  auto fmt = md.find("format");
  if (fmt == md.end() || fmt->second != kFormat)
    throw Error(path.string() + ": not an AttnScope recording (metadata 'format' is not '" + kFormat + "')");
  const int version = parse_int(md, "version", path);
  if (version != kVersion)
    throw Error(path.string() + ": recording version " + std::to_string(version) + " is not supported (this AttnScope reads version " +
                std::to_string(kVersion) + "; a newer AttnScope may have written it)");
  auto r = std::make_shared<AttentionRecording>();
  r->file_ = file;
  r->mutex_ = std::make_shared<std::mutex>();
  RecordingMeta& m = r->meta_;
  m.num_layers = parse_int(md, "num_layers", path);
  m.num_heads = parse_int(md, "num_heads", path);
  if (m.num_layers == 0 || m.num_heads == 0) throw Error(path.string() + ": recording has no layers or no heads");
  m.model = md.count("model") ? md.at("model") : "";
  m.family = md.count("family") ? md.at("family") : "";
  m.text = md.count("text") ? md.at("text") : "";
  m.pair = md.count("pair") ? md.at("pair") : "";
  m.causal = md.count("causal") && md.at("causal") == "true";
  const auto tokens = nlohmann::json::parse(md.count("tokens") ? md.at("tokens") : "null", nullptr, false);
  if (!tokens.is_array() || !std::all_of(tokens.begin(), tokens.end(), [](const auto& t) { return t.is_string(); }))
    throw Error(path.string() + ": recording metadata 'tokens' must be a JSON array of strings");
  for (const auto& t : tokens) m.tokens.push_back(t.get<std::string>());
  if (md.count("special_tokens")) {
    // One 0/1 flag per token; anything else (1.4e56, 2, "yes") is the file's error.
    const auto flags = nlohmann::json::parse(md.at("special_tokens"), nullptr, false);
    const auto flag = [](const nlohmann::json& f) { return json_int(f, 0, 1); };
    if (!flags.is_array() || !std::all_of(flags.begin(), flags.end(), [&](const auto& f) { return flag(f).has_value(); }))
      throw Error(path.string() + ": recording metadata 'special_tokens' must be a JSON array of 0/1 flags, one per token, is " +
                  clipped(md.at("special_tokens")));
    for (const auto& f : flags) m.special.push_back(uint8_t(*flag(f)));
  }
  m.num_tokens = int(m.tokens.size());
  if (md.count("num_tokens") && parse_int(md, "num_tokens", path) != m.num_tokens)
    throw Error(path.string() + ": metadata says " + md.at("num_tokens") + " tokens but lists " + std::to_string(m.num_tokens));
  if (!m.special.empty() && int(m.special.size()) != m.num_tokens)
    throw Error(path.string() + ": 'special_tokens' has " + std::to_string(m.special.size()) + " entries for " +
                std::to_string(m.num_tokens) + " tokens");
  m.head_dim = md.count("head_dim") ? parse_int(md, "head_dim", path) : 0;
  if (md.count("layers")) {
    const auto j = nlohmann::json::parse(md.at("layers"), nullptr, false);
    bool ok = j.is_array() && int(j.size()) == m.num_layers;
    for (size_t i = 0; ok && i < j.size(); ++i) {
      const auto layer = json_int(j[i], m.model_layers.empty() ? 0 : m.model_layers.back() + 1, (1 << 24) - 1);
      ok = layer.has_value();
      if (ok) m.model_layers.push_back(int(*layer));
    }
    if (!ok)
      throw Error(path.string() + ": metadata 'layers' must list " + std::to_string(m.num_layers) +
                  " ascending model layer numbers, one per recorded layer, is " + clipped(md.at("layers")));
  }
  if (md.count("num_key_value_heads")) {
    m.num_kv_heads = parse_int(md, "num_key_value_heads", path);
    if (m.num_kv_heads == 0 || m.num_heads % m.num_kv_heads != 0)
      throw Error(path.string() + ": metadata 'num_key_value_heads' = " + md.at("num_key_value_heads") + " does not divide the " +
                  std::to_string(m.num_heads) + " heads");
  }
  if (md.count("sliding_windows")) {
    const auto j = nlohmann::json::parse(md.at("sliding_windows"), nullptr, false);
    bool ok = j.is_array() && int(j.size()) == m.num_layers;
    for (size_t i = 0; ok && i < j.size(); ++i) {
      const auto w = json_int(j[i], 0, 1 << 30);
      ok = w.has_value();
      if (ok) m.windows.push_back(int(*w));
    }
    if (!ok)
      throw Error(path.string() + ": metadata 'sliding_windows' must list " + std::to_string(m.num_layers) +
                  " window sizes (0 for a full layer), one per recorded layer, is " + clipped(md.at("sliding_windows")));
  }
  if (md.count("rotary")) m.rotary = parse_rotary(md.at("rotary"), m, path);
  if (md.count("num_encoder_layers")) {  // an encoder-decoder: the source's tokens and the encoder's layers
    m.num_encoder_layers = parse_int(md, "num_encoder_layers", path);
    const auto source = nlohmann::json::parse(md.count("source_tokens") ? md.at("source_tokens") : "null", nullptr, false);
    if (m.num_encoder_layers == 0 || !source.is_array() || source.empty() ||
        !std::all_of(source.begin(), source.end(), [](const auto& t) { return t.is_string(); }))
      throw Error(path.string() + ": an encoder-decoder recording needs 'num_encoder_layers' > 0 and 'source_tokens', a JSON array of strings");
    for (const auto& t : source) m.source_tokens.push_back(t.get<std::string>());
    if (md.count("source_special_tokens")) {
      const auto flags = nlohmann::json::parse(md.at("source_special_tokens"), nullptr, false);
      const auto flag = [](const nlohmann::json& f) { return json_int(f, 0, 1); };
      if (!flags.is_array() || flags.size() != m.source_tokens.size() ||
          !std::all_of(flags.begin(), flags.end(), [&](const auto& f) { return flag(f).has_value(); }))
        throw Error(path.string() + ": recording metadata 'source_special_tokens' must be a JSON array of 0/1 flags, one per source token");
      for (const auto& f : flags) m.source_special.push_back(uint8_t(*flag(f)));
    }
  }
  for (const auto& [k, v] : md) {
    bool own = false;
    for (const char* o : kOwnKeys) own = own || k == o;
    if (!own) m.extra[k] = v;
  }

  auto attach = [&](Part part, int layer, bool required) -> bool {
    const auto name = tensor_name(part, layer);
    const TensorInfo* t = file->find(name);
    if (!t) {
      if (required) throw Error(path.string() + ": missing tensor '" + name + "' (metadata says " + std::to_string(r->layers(part)) + " layers)");
      return false;
    }
    const bool vectors = part == Part::Query || part == Part::Key || part == Part::Value || part == Part::QueryRaw || part == Part::KeyRaw;
    if (vectors && m.head_dim == 0 && t->shape.size() == 3) m.head_dim = int(t->shape[2]);
    const std::vector<int64_t> want{m.num_heads, r->rows(part), r->cols(part)};
    if (t->shape != want) {
      TensorInfo w;
      w.shape = want;
      throw Error(path.string() + ": tensor '" + name + "' has shape " + t->shape_string() + " but the metadata implies " + w.shape_string());
    }
    if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
      throw Error(path.string() + ": tensor '" + name + "' has dtype " + std::string(dtype_name(t->dtype)) + ", expected F32 or F16");
    r->blocks_[{int(part), layer}].source = t;
    return true;
  };
  r->has_qkv_ = true;
  r->has_scores_ = true;
  for (int l = 0; l < m.num_layers; ++l) {
    attach(Part::Attention, l, true);
    r->has_scores_ = attach(Part::Scores, l, false) && r->has_scores_;
    bool q = attach(Part::Query, l, false);
    bool k = attach(Part::Key, l, false);
    bool v = attach(Part::Value, l, false);
    r->has_qkv_ = r->has_qkv_ && q && k && v;
    const bool raw_q = attach(Part::QueryRaw, l, false), raw_k = attach(Part::KeyRaw, l, false);
    r->has_raw_qk_ = (l == 0 || r->has_raw_qk_) && raw_q && raw_k;
    if (m.encoder_decoder()) attach(Part::CrossAttention, l, true);
  }
  for (int l = 0; l < m.num_encoder_layers; ++l) attach(Part::EncoderAttention, l, true);
  if (md.count("pyramid")) {
    // Factors, each at least 2 and a multiple of the one before, with a tensor per layer.
    const auto j = nlohmann::json::parse(md.at("pyramid"), nullptr, false);
    bool ok = j.is_array() && !j.empty() && j.size() <= 16;
    for (size_t i = 0; ok && i < j.size(); ++i) {
      const auto f = json_int(j[i], 2, std::max(2, m.num_tokens));
      ok = f.has_value() && (r->pyramid_.empty() || (*f % r->pyramid_.back() == 0 && *f > r->pyramid_.back()));
      if (ok) r->pyramid_.push_back(int(*f));
    }
    if (!ok)
      throw Error(path.string() + ": metadata 'pyramid' must list increasing pooling factors from 2 to the token count, each a multiple of "
                  "the one before, is " + clipped(md.at("pyramid")));
    for (size_t k = 0; k < r->pyramid_.size(); ++k)
      for (int l = 0; l < m.num_layers; ++l) {
        const std::string name = pyramid_tensor_name(r->pyramid_[k], l);
        const TensorInfo* t = file->find(name);
        const int64_t side = pyramid_side(m.num_tokens, r->pyramid_[k]);
        if (!t) throw Error(path.string() + ": missing tensor '" + name + "' (metadata 'pyramid' lists factor " + std::to_string(r->pyramid_[k]) + ")");
        if (t->shape != std::vector<int64_t>{m.num_heads, side, side}) {
          TensorInfo w;
          w.shape = {m.num_heads, side, side};
          throw Error(path.string() + ": tensor '" + name + "' has shape " + t->shape_string() + " but the metadata implies " + w.shape_string());
        }
        if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
          throw Error(path.string() + ": tensor '" + name + "' has dtype " + std::string(dtype_name(t->dtype)) + ", expected F32 or F16");
        r->pyramid_tensors_[{k, l}] = t;
      }
  }
  if (r->has_raw_qk_ && m.rotary.empty())
    throw Error(path.string() + ": the recording holds raw query/key projections but no 'rotary' metadata saying how they were turned");
  if (const TensorInfo* t = file->find(tensor_name(Part::Attention, 0)); t && t->dtype != DType::F32) r->storage_ = DType::F16;
  if (const auto* lg = file->find("logits")) {
    if (lg->shape.size() != 2) throw Error(path.string() + ": tensor 'logits' must have 2 dimensions, has " + lg->shape_string());
    auto values = file->to_f32(*lg);
    r->logits_ = ConstMatrixMap(values.data(), lg->shape[0], lg->shape[1]);
  }
  if (const auto* im = file->find("image")) {
    const auto& s = im->shape;
    if (s.size() != 3 || (s[0] != 1 && s[0] != 3) || s[1] < 1 || s[2] < 1)
      throw Error(path.string() + ": tensor 'image' must be [channels (1 or 3), height, width], is " + im->shape_string());
    if (const auto it = m.extra.find("image_input_size"); it != m.extra.end() && it->second != std::to_string(s[1]) + "x" + std::to_string(s[2]))
      throw Error(path.string() + ": tensor 'image' is " + std::to_string(s[1]) + "x" + std::to_string(s[2]) +
                  " pixels but image_input_size says " + it->second);
    PixelValues px;
    px.channels = int(s[0]);
    px.height = int(s[1]);
    px.width = int(s[2]);
    px.data = file->to_f32(*im);
    r->image_ = std::move(px);
  }
  if (const auto* ids = file->find("step_candidate_ids")) {
    const auto* probs = file->find("step_candidate_probs");
    const auto* chosen_ids = file->find("step_chosen_ids");
    const auto* chosen = file->find("step_chosen_probs");
    const std::vector<int64_t> steps{ids->shape.empty() ? 0 : ids->shape[0]};
    if (ids->shape.size() != 2 || !probs || probs->shape != ids->shape || !chosen_ids || chosen_ids->shape != steps || !chosen ||
        chosen->shape != steps || ids->shape[0] > m.num_tokens || ids->shape[1] > 1024)
      throw Error(path.string() + ": tensors step_candidate_ids " + ids->shape_string() + ", step_candidate_probs, step_chosen_ids and " +
                  "step_chosen_probs must be [steps, k], [steps, k], [steps] and [steps] (k at most 1024), with no more steps than tokens");
    StepCandidates c;
    c.steps = int(ids->shape[0]);
    c.k = int(ids->shape[1]);
    auto read_ids = [&](const TensorInfo& t, std::vector<int32_t>& to) {
      for (int64_t id : file->to_i64(t)) {
        if (id < 0 || id > INT32_MAX) throw Error(path.string() + ": tensor " + t.name + " holds id " + std::to_string(id));
        to.push_back(int32_t(id));
      }
    };
    read_ids(*ids, c.ids);
    read_ids(*chosen_ids, c.chosen_ids);
    c.probs = file->to_f32(*probs);
    c.chosen_probs = file->to_f32(*chosen);
    r->steps_ = std::move(c);
  }
  return r;
}

}  // namespace attn
