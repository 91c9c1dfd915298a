#pragma once
// The weights of a model folder: model.safetensors, or shards listed by
// model.safetensors.index.json. F32 tensors stay memory-mapped (non-owning views);
// F16/BF16/F64 tensors are converted to F32 once, when first requested as a matrix or vector,
// or stay as stored when requested through stored() (converted block by block in products).
// Not thread-safe while tensors are being requested; read-only use afterwards is.
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "kernels/gemm.h"
#include "model/stored_matrix.h"
#include "model/tensor_types.h"
#include "util/zeroed_array.h"

namespace attn {

class WeightStore {
 public:
  // Opens the weights of `model_dir`. Throws attn::Error naming the folder when no
  // safetensors weights exist (with a conversion hint for pytorch_model.bin), or naming the
  // file when one is corrupt.
  static WeightStore open(const std::filesystem::path& model_dir);

  bool contains(const std::string& name) const;
  // The first of `names` present, or "" when none is.
  std::string first_present(std::initializer_list<std::string> names) const;

  // A [rows, cols] matrix / [n] vector. Throws attn::Error naming the file and tensor when
  // it is missing or its shape differs (the message says which config value implies it).
  ConstMatrixMap matrix(const std::string& name, int64_t rows, int64_t cols);
  ConstVectorMap vector(const std::string& name, int64_t n);
  // A [rows, cols] matrix left as stored when F32, F16 or BF16 (no converted copy: the
  // product converts blocks as it goes; see StoredMatrix); other dtypes are converted once.
  // Throws as matrix().
  StoredMatrix stored(const std::string& name, int64_t rows, int64_t cols);
  // A [rows, cols] matrix packed by the active GEMM kernel for products x · Wᵀ
  // (`transposed`: an nn.Linear weight [out, in]) or x · W (GPT-2's Conv1D, [in, out]), so that
  // no product re-packs it (kernels::PackedMatrix). Packed once per name and orientation and
  // owned by the store, the copies of a model sharing a few large blocks of 2 MB pages.
  // Throws as matrix().
  const kernels::PackedMatrix& packed(const std::string& name, int64_t rows, int64_t cols, bool transposed);
  // A tensor of stored shape `shape` viewed as a row-major [rows, cols] matrix (rows · cols
  // = its element count), e.g. a Conv2d weight [C, 3, p, p] as [C, 3·p·p].
  ConstMatrixMap reshaped(const std::string& name, const std::vector<int64_t>& shape, int64_t rows, int64_t cols);

  // Sum of the element counts of all tensors.
  int64_t parameter_count() const;
  // The bytes the weights occupy: their tensors in the mapped files, plus converted and packed
  // copies.
  uint64_t resident_bytes() const;
  // Names of all tensors, sorted.
  std::vector<std::string> names() const;
  // Number of non-finite values seen in the tensors requested so far (NaN/Inf).
  int64_t non_finite_count() const { return non_finite_; }
  std::string source_description() const;  // "model.safetensors" or "3 shards"

 private:
  struct Entry {
    std::shared_ptr<const SafetensorsFile> file;
    const TensorInfo* info = nullptr;
  };
  const float* f32_data(const std::string& name, std::vector<int64_t> expected, const std::string& what);
  // The entry of `name`, whose shape must be `expected`; throws naming the file otherwise.
  const Entry& checked(const std::string& name, const std::vector<int64_t>& expected, const std::string& what) const;

  std::filesystem::path dir_;
  std::vector<std::shared_ptr<const SafetensorsFile>> files_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, const float*> converted_index_;
  std::deque<std::vector<float>> converted_;  // owned F32 copies of non-F32 tensors
  std::deque<kernels::PackedMatrix> packed_;
  std::map<std::pair<std::string, bool>, const kernels::PackedMatrix*> packed_index_;  // (name, transposed)
  std::vector<ZeroedArray<float>> pack_blocks_;  // the packed matrices' storage
  size_t pack_block_used_ = 0;                   // floats taken from the last block
  uint64_t packed_bytes_ = 0;
  std::set<std::string> counted_;             // tensors whose non-finite values are counted
  int64_t non_finite_ = 0;
};

}  // namespace attn
