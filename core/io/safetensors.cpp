#include "io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "io/json_fields.h"
#include "util/error.h"
#include "util/half.h"

namespace attn {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the format's own limit is 100 MB

struct DTypeName {
  DType dtype;
  std::string_view name;
  size_t size;
};
constexpr DTypeName kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2}, {DType::I8, "I8", 1}, {DType::U8, "U8", 1},
    {DType::Bool, "BOOL", 1},
};

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw Error(path.string() + ": " + what);
}

template <typename T>
T load_le(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the format is little-endian, as is every supported host
  return v;
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.name;
  return "?";
}

size_t dtype_size(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.size;
  return 0;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorInfo::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  return open(MappedFile::open(path));
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(MappedFile mapped) {
  auto st = std::make_shared<SafetensorsFile>();
  st->file_ = std::move(mapped);
  const auto& path = st->file_.path();
  const auto bytes = st->file_.bytes();
  if (bytes.size() == 0) fail(path, "file is empty (expected a safetensors file)");
  if (bytes.size() < 8) fail(path, "file is truncated: " + std::to_string(bytes.size()) + " bytes, too short for a safetensors header");
  const uint64_t header_len = load_le<uint64_t>(bytes.data());
  if (header_len > kMaxHeaderBytes)
    fail(path, "safetensors header length " + std::to_string(header_len) + " is implausible (not a safetensors file, or corrupt)");
  if (header_len > bytes.size() - 8)
    fail(path, "file is truncated: header says " + std::to_string(header_len) + " header bytes but the file has only " +
                   std::to_string(bytes.size() - 8) + " after the length field");
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("safetensors header is not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) fail(path, "safetensors header is not a JSON object");

  const size_t data_begin = 8 + header_len;
  const size_t data_size = bytes.size() - data_begin;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(path, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail(path, "__metadata__ key '" + m.key() + "' is not a string");
        st->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      fail(path, where + "header entry needs dtype, shape and data_offsets");
    TensorInfo info;
    info.name = name;
    const auto& dt = v["dtype"];
    if (!dt.is_string()) fail(path, where + "dtype is not a string");
    const auto dts = dt.get<std::string>();
    const auto* found = std::find_if(std::begin(kDTypes), std::end(kDTypes), [&](const DTypeName& d) { return d.name == dts; });
    if (found == std::end(kDTypes)) fail(path, where + "unsupported dtype " + dts);
    info.dtype = found->dtype;
    const auto& shape = v["shape"];
    if (!shape.is_array()) fail(path, where + "shape is not an array");
    uint64_t numel = 1;
    for (const auto& d : shape) {
      const auto dim_or = json_int(d, 0, std::numeric_limits<int64_t>::max());
      if (!dim_or) fail(path, where + "shape has a negative or non-integer dimension");
      const auto dim = uint64_t(*dim_or);
      if (dim != 0 && numel > (uint64_t{1} << 62) / dim) fail(path, where + "shape is too large");
      numel *= dim;
      info.shape.push_back(static_cast<int64_t>(dim));
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail(path, where + "data_offsets must be two non-negative integers");
    const auto b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    if (b > e) fail(path, where + "data_offsets begin > end");
    if (e > data_size)
      fail(path, where + "data ends at byte " + std::to_string(e) + " but the file holds only " + std::to_string(data_size) +
                     " data bytes (truncated download?)");
    if (numel > (uint64_t{1} << 62) / found->size || e - b != numel * found->size)
      fail(path, where + "holds " + std::to_string(e - b) + " bytes but shape " + info.shape_string() + " of " + dts +
                     " needs " + std::to_string(numel * found->size));
    info.begin = data_begin + b;
    info.nbytes = e - b;
    st->tensors_.push_back(std::move(info));
  }
  // Overlapping tensors mean a corrupt or hostile header.
  std::vector<const TensorInfo*> sorted;
  for (const auto& t : st->tensors_) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->nbytes && sorted[i - 1]->begin + sorted[i - 1]->nbytes > sorted[i]->begin)
      fail(path, "tensors '" + sorted[i - 1]->name + "' and '" + sorted[i]->name + "' overlap in the file");
  for (size_t i = 0; i < st->tensors_.size(); ++i) st->index_[st->tensors_[i].name] = i;
  return st;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  if (const auto* t = find(name)) return *t;
  fail(path(), "missing tensor '" + std::string(name) + "'");
}

std::span<const std::byte> SafetensorsFile::data(const TensorInfo& info) const {
  return file_.bytes().subspan(info.begin, info.nbytes);
}

std::vector<float> SafetensorsFile::to_f32(const TensorInfo& info) const {
  std::vector<float> out(static_cast<size_t>(info.numel()));
  to_f32(info, out.data());
  return out;
}

void SafetensorsFile::to_f32(const TensorInfo& info, float* out) const {
  const auto bytes = data(info);
  const size_t n = static_cast<size_t>(info.numel());
  const std::byte* p = bytes.data();
  switch (info.dtype) {
    case DType::F32: if (n) std::memcpy(out, p, n * 4); break;
    case DType::F64: for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<double>(p + 8 * i)); break;
    case DType::F16: halves_to_floats(p, out, n); break;
    case DType::BF16: for (size_t i = 0; i < n; ++i) out[i] = bf16_to_float(load_le<uint16_t>(p + 2 * i)); break;
    case DType::I64: for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<int64_t>(p + 8 * i)); break;
    case DType::I32: for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<int32_t>(p + 4 * i)); break;
    case DType::I16: for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<int16_t>(p + 2 * i)); break;
    case DType::I8: for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<int8_t>(p + i)); break;
    case DType::U8:
    case DType::Bool: for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<uint8_t>(p + i)); break;
  }
}

std::vector<int64_t> SafetensorsFile::to_i64(const TensorInfo& info) const {
  const auto bytes = data(info);
  const size_t n = static_cast<size_t>(info.numel());
  std::vector<int64_t> out(n);
  const std::byte* p = bytes.data();
  switch (info.dtype) {
    case DType::I64: for (size_t i = 0; i < n; ++i) out[i] = load_le<int64_t>(p + 8 * i); break;
    case DType::I32: for (size_t i = 0; i < n; ++i) out[i] = load_le<int32_t>(p + 4 * i); break;
    case DType::I16: for (size_t i = 0; i < n; ++i) out[i] = load_le<int16_t>(p + 2 * i); break;
    case DType::I8: for (size_t i = 0; i < n; ++i) out[i] = load_le<int8_t>(p + i); break;
    case DType::U8:
    case DType::Bool: for (size_t i = 0; i < n; ++i) out[i] = load_le<uint8_t>(p + i); break;
    default: fail(path(), "tensor '" + info.name + "' is " + std::string(dtype_name(info.dtype)) + ", expected an integer type");
  }
  return out;
}

uint64_t TensorLayout::nbytes() const {
  uint64_t numel = 1;
  for (auto d : shape) numel *= static_cast<uint64_t>(d);
  return numel * dtype_size(dtype);
}

std::string safetensors_header(const std::vector<TensorLayout>& tensors, const std::map<std::string, std::string>& metadata,
                               size_t min_length) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string hs = header.dump();
  if (hs.size() < min_length) hs.append(min_length - hs.size(), ' ');
  hs.append((8 - hs.size() % 8) % 8, ' ');
  const uint64_t len = hs.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &len, 8);
  return out + hs;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorLayout> layout;
  for (const auto& t : tensors) {
    layout.push_back({t.name, t.dtype, t.shape});
    if (layout.back().nbytes() != t.data.size())
      throw Error(path.string() + ": internal error writing tensor '" + t.name + "': data size does not match its shape");
  }
  const std::string header = safetensors_header(layout, metadata);

  auto tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path.string() + ": cannot write (cannot create " + tmp.filename().string() + " in that folder)");
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& t : tensors) out.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw Error(path.string() + ": write failed (disk full?); the previous file, if any, is unchanged");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw Error(path.string() + ": cannot replace the file: " + ec.message());
  }
}

}  // namespace attn
