#pragma once
// Raw numbers out: NumPy .npy (format 1.0, little-endian float32, C order) and CSV with token
// labels. Qt-free. Every function throws attn::Error naming the file when it cannot write.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "model/tensor_types.h"
#include "record/recording.h"

namespace attn {

void write_npy(const std::filesystem::path& path, const float* data, const std::vector<int64_t>& shape);
void write_npy(const std::filesystem::path& path, const Eigen::Ref<const RowMatrix>& m);
// A matrix with a header row of column labels and a first column of row labels (RFC 4180
// quoting); values with 9 significant digits, enough to read back the float exactly.
void write_matrix_csv(const std::filesystem::path& path, const Eigen::Ref<const RowMatrix>& m, const std::vector<std::string>& row_labels,
                      const std::vector<std::string>& col_labels, const std::string& corner = "query\\key");
// "r0", "r1", …: labels for the rows or columns of a grid.
std::vector<std::string> numbered_labels(const std::string& prefix, int count);
// A table: header, then rows of cells (already formatted).
void write_csv(const std::filesystem::path& path, const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
// The whole recording as one (H, N, N) file per layer: DIR/layer_00.npy, ..., and
// DIR/tokens.json. Returns the files written.
std::vector<std::filesystem::path> write_recording_npy(const AttentionRecording& recording, const std::filesystem::path& dir);

}  // namespace attn
