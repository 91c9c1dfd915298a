#pragma once
// RecordingStream: a recording written to its file layer by layer while the model runs
// (`attnscope record --stream`, the window's "stream to a file"), so that a run holds one
// layer's attention in memory however many layers and tokens it records.
//
// Every tensor's size follows from the metadata, so the header is written first, with room
// to spare, and each layer goes to its place as soon as the layer ends. finish() appends the
// logits and the image, rewrites the header with the metadata the run added (text,
// predictions), and renames the file over `path`. The result is an ordinary version-1
// recording (docs/recording-format.md), tensor for tensor what AttentionRecording::save
// writes. A stream dropped before finish() (an error, a cancelled run) removes its file; a
// previous file at `path` stays as it was.
#include <filesystem>
#include <vector>

#include "io/safetensors.h"
#include "record/recording.h"

namespace attn {

class RecordingStream {
 public:
  using Part = AttentionRecording::Part;

  // Creates the file beside `path` and writes the header. `dtype` (F32 or F16) is the file's;
  // values arrive as F32. Throws attn::Error naming `path` when the folder cannot be written
  // or has too little free space for the whole file.
  RecordingStream(std::filesystem::path path, const RecordingMeta& meta, bool with_qkv, bool with_scores, DType dtype);
  ~RecordingStream();
  RecordingStream(const RecordingStream&) = delete;
  RecordingStream& operator=(const RecordingStream&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const RecordingMeta& meta() const { return shape_->meta(); }
  // The parts each layer holds, as AttentionRecording::parts().
  const std::vector<Part>& parts() const { return parts_; }
  bool has(Part part) const;
  // Values per head of `part`: N × N, or N × head_dim.
  size_t head_values(Part part) const;

  // Writes recorded layer `layer`'s `part`: (H, N, cols) floats, rounded to F16 when the file
  // is F16. Layers may come in any order; each exactly once. A long recording's attention also
  // writes its max-pooled levels (record/pyramid.h).
  void write(Part part, int layer, const float* values);
  // Completes the file from the run's recording (metadata, logits, image; its values are not
  // read) and renames it over path(). Throws when a layer was never written.
  void finish(const AttentionRecording& run);

 private:
  void write_at(uint64_t offset, const void* data, size_t bytes);
  void write_values(uint64_t offset, const float* values, size_t count);  // in the file's dtype
  size_t slot(Part part, int layer) const;

  std::filesystem::path path_, tmp_;
  int fd_ = -1;
  std::shared_ptr<AttentionRecording> shape_;  // metadata and parts, no values
  std::vector<Part> parts_;
  std::vector<int> factors_;  // the pyramid's (pyramid_factors), after the parts in layout_
  DType dtype_;
  std::vector<TensorLayout> layout_;   // every layer's tensors, in file order
  std::vector<uint64_t> offsets_;      // where each begins, after the header
  std::vector<bool> written_;
  uint64_t header_bytes_ = 0;          // 8 + the reserved header
  uint64_t data_end_ = 0;
  bool finished_ = false;
};

}  // namespace attn
