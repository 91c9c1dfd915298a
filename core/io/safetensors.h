#pragma once
// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors):
// 8-byte little-endian header length, a JSON header, then the raw tensor bytes.
// Reading maps the file and validates every header entry before any tensor is used.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/mapped_file.h"

namespace attn {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

std::string_view dtype_name(DType dtype);  // "F32", ...
size_t dtype_size(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  size_t begin = 0;   // offset of the first byte in the file
  size_t nbytes = 0;

  int64_t numel() const;
  std::string shape_string() const;  // "[2, 3]"
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws attn::Error naming the file and the problem: too
  // short, header length beyond the file, malformed JSON, unknown dtype, offsets outside
  // the data or overlapping, size not matching shape × dtype.
  static std::shared_ptr<const SafetensorsFile> open(const std::filesystem::path& path);
  // The same checks on a file already in memory.
  static std::shared_ptr<const SafetensorsFile> open(MappedFile file);

  const std::filesystem::path& path() const { return file_.path(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // nullptr when absent.
  const TensorInfo* find(std::string_view name) const;
  // Throws attn::Error "FILE: missing tensor NAME" when absent.
  const TensorInfo& at(std::string_view name) const;

  std::span<const std::byte> data(const TensorInfo& info) const;
  // Converts any floating or integer tensor to float32.
  std::vector<float> to_f32(const TensorInfo& info) const;
  // The same into out[0, numel).
  void to_f32(const TensorInfo& info, float* out) const;
  // Copies an integer tensor to int64.
  std::vector<int64_t> to_i64(const TensorInfo& info) const;

 private:
  MappedFile file_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: `data` holds numel × dtype_size bytes, little-endian.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::span<const std::byte> data;
};

// Where a tensor goes in a file being written: its name, type and shape.
struct TensorLayout {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t nbytes() const;  // numel × dtype_size
};

// The header of a file holding `tensors` in this order, back to back, with
// its 8-byte length in front, padded with spaces to a multiple of 8 and to at least
// `min_length` bytes after the length (safetensors allows trailing spaces): a writer that
// reserves room can rewrite the header in place once more metadata is known.
std::string safetensors_header(const std::vector<TensorLayout>& tensors, const std::map<std::string, std::string>& metadata,
                               size_t min_length = 0);

// Writes a safetensors file atomically: to a temporary file beside `path`, then renamed
// over it, so a failed write leaves any previous file intact. Throws attn::Error.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace attn
