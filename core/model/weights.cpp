#include "model/weights.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>

#include "io/json_file.h"
#include "util/error.h"
#include "util/memory.h"

namespace attn {

namespace fs = std::filesystem;

WeightStore WeightStore::open(const fs::path& model_dir) {
  WeightStore store;
  store.dir_ = model_dir;
  std::error_code ec;
  const auto single = model_dir / "model.safetensors";
  const auto index = model_dir / "model.safetensors.index.json";
  std::vector<fs::path> paths;
  if (fs::exists(single, ec)) {
    paths.push_back(single);
  } else if (fs::exists(index, ec)) {
    const auto j = read_json_file(index);
    if (!j.contains("weight_map") || !j["weight_map"].is_object())
      throw Error(index.string() + ": missing 'weight_map' object");
    std::set<std::string> shard_names;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string()) throw Error(index.string() + ": weight_map entry '" + it.key() + "' is not a file name");
      const auto shard = it.value().get<std::string>();
      if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
        throw Error(index.string() + ": shard name '" + shard + "' must be a plain file name");
      shard_names.insert(shard);
    }
    for (const auto& s : shard_names) {
      if (!fs::exists(model_dir / s, ec)) throw Error((model_dir / s).string() + ": shard listed in " + index.filename().string() + " is missing");
      paths.push_back(model_dir / s);
    }
  } else if (fs::exists(model_dir / "pytorch_model.bin", ec) || fs::exists(model_dir / "pytorch_model.bin.index.json", ec)) {
    throw Error((model_dir / "pytorch_model.bin").string() +
                ": PyTorch pickle weights are not supported (they can run arbitrary code). Convert them to "
                "model.safetensors, e.g. in Python: `from safetensors.torch import save_file; "
                "save_file(torch.load('pytorch_model.bin'), 'model.safetensors')`, or download the safetensors version");
  } else {
    throw Error(model_dir.string() + ": no weights found (expected model.safetensors or model.safetensors.index.json)");
  }
  for (const auto& p : paths) {
    auto file = SafetensorsFile::open(p);
    for (const auto& t : file->tensors()) {
      if (store.entries_.count(t.name))
        throw Error(p.string() + ": tensor '" + t.name + "' also appears in another shard");
      store.entries_[t.name] = Entry{file, &t};
    }
    store.files_.push_back(std::move(file));
  }
  return store;
}

bool WeightStore::contains(const std::string& name) const { return entries_.count(name) > 0; }

std::string WeightStore::first_present(std::initializer_list<std::string> names) const {
  for (const auto& n : names)
    if (contains(n)) return n;
  return {};
}

const WeightStore::Entry& WeightStore::checked(const std::string& name, const std::vector<int64_t>& expected, const std::string& what) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    const auto where = files_.size() == 1 ? files_[0]->path().string() : dir_.string();
    throw Error(where + ": missing tensor '" + name + "' (" + what + ")");
  }
  const auto& [file, info] = it->second;
  // A [n] vector may be stored as [1, n] and vice versa in some exports; compare element
  // counts only when the ranks differ by leading ones.
  auto squeeze = [](std::vector<int64_t> s) {
    while (s.size() > 1 && s.front() == 1) s.erase(s.begin());
    return s;
  };
  if (squeeze(info->shape) != squeeze(expected)) {
    TensorInfo want;
    want.shape = expected;
    throw Error(file->path().string() + ": tensor '" + name + "' has shape " + info->shape_string() + ", but config.json implies " +
                want.shape_string() + " (" + what + ")");
  }
  return it->second;
}

StoredMatrix WeightStore::stored(const std::string& name, int64_t rows, int64_t cols) {
  const auto& [file, info] = checked(name, {rows, cols}, "a matrix");
  const auto bytes = file->data(*info);
  if ((info->dtype == DType::F16 || info->dtype == DType::BF16) && !converted_index_.count(name)) {
    StoredMatrix m(bytes.data(), info->dtype, rows, cols);
    if (!counted_.count(name)) {
      non_finite_ += m.count_non_finite();
      counted_.insert(name);
    }
    return m;
  }
  const float* data = f32_data(name, {rows, cols}, "a matrix");
  return StoredMatrix(reinterpret_cast<const std::byte*>(data), DType::F32, rows, cols);
}

const float* WeightStore::f32_data(const std::string& name, std::vector<int64_t> expected, const std::string& what) {
  const auto& [file, info] = checked(name, expected, what);
  if (auto c = converted_index_.find(name); c != converted_index_.end()) return c->second;
  const auto bytes = file->data(*info);
  const bool aligned = reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float) == 0;
  const float* data = nullptr;
  if (info->dtype == DType::F32 && aligned) {
    data = reinterpret_cast<const float*>(bytes.data());
  } else {
    if (info->dtype != DType::F32 && info->dtype != DType::F16 && info->dtype != DType::BF16 && info->dtype != DType::F64)
      throw Error(file->path().string() + ": tensor '" + name + "' has dtype " + std::string(dtype_name(info->dtype)) +
                  ", expected a floating-point type (F32, F16 or BF16)");
    converted_.push_back(file->to_f32(*info));
    data = converted_.back().data();
  }
  converted_index_[name] = data;
  if (counted_.insert(name).second) {
    const int64_t n = info->numel();
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(data[i])) ++non_finite_;
  }
  return data;
}

ConstMatrixMap WeightStore::matrix(const std::string& name, int64_t rows, int64_t cols) {
  return ConstMatrixMap(f32_data(name, {rows, cols}, "a matrix"), rows, cols);
}

const kernels::PackedMatrix& WeightStore::packed(const std::string& name, int64_t rows, int64_t cols, bool transposed) {
  const float* data = f32_data(name, {rows, cols}, "a matrix");
  if (auto it = packed_index_.find({name, transposed}); it != packed_index_.end()) return *it->second;
  const int64_t n = transposed ? rows : cols, k = transposed ? cols : rows;
  populate_for_reading(data, size_t(rows * cols) * sizeof(float));
  // 64-byte slices of 64 MB blocks: one mapping of 2 MB pages per block, not a heap allocation
  // (first touched 4 kB at a time) per matrix.
  constexpr size_t kBlockFloats = size_t(16) << 20;
  const size_t floats = (kernels::PackedMatrix::storage_floats(n, k) + 15) / 16 * 16;
  if (pack_blocks_.empty() || pack_block_used_ + floats > pack_blocks_.back().size()) {
    pack_blocks_.emplace_back(std::max(floats, kBlockFloats));
    pack_block_used_ = 0;
  }
  float* storage = pack_blocks_.back().data() + pack_block_used_;
  pack_block_used_ += floats;
  packed_bytes_ += floats * sizeof(float);
  const kernels::PackedMatrix& p = packed_.emplace_back(data, cols, n, k, transposed, kernels::active_isa(), storage);
  packed_index_[{name, transposed}] = &p;
  return p;
}

ConstMatrixMap WeightStore::reshaped(const std::string& name, const std::vector<int64_t>& shape, int64_t rows, int64_t cols) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n != rows * cols) throw Error("tensor '" + name + "': cannot view " + std::to_string(n) + " values as a matrix");
  return ConstMatrixMap(f32_data(name, shape, "a tensor"), rows, cols);
}

ConstVectorMap WeightStore::vector(const std::string& name, int64_t n) {
  return ConstVectorMap(f32_data(name, {n}, "a vector"), n);
}

int64_t WeightStore::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, e] : entries_) n += e.info->numel();
  return n;
}

uint64_t WeightStore::resident_bytes() const {
  uint64_t n = 0;
  for (const auto& [name, e] : entries_) n += e.info->nbytes;
  for (const auto& c : converted_) n += c.size() * sizeof(float);
  n += packed_bytes_;
  return n;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

std::string WeightStore::source_description() const {
  if (files_.size() == 1) return files_[0]->path().filename().string();
  return std::to_string(files_.size()) + " safetensors shards";
}

}  // namespace attn
