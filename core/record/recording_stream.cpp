#include "record/recording_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "record/pyramid.h"
#include "util/error.h"
#include "util/half.h"
#include "util/memory.h"

namespace attn {

namespace {

// Room kept in the header for what the run adds to the metadata after the first layer is on
// disk: the input text (about as long as the token list), the predictions, logits rows.
size_t header_room(size_t header) { return header + header / 2 + (64 << 10); }

std::string os_error() { return std::strerror(errno); }

}  // namespace

RecordingStream::RecordingStream(std::filesystem::path path, const RecordingMeta& meta, bool with_qkv, bool with_scores, DType dtype)
    : path_(std::move(path)), dtype_(dtype) {
  if (dtype != DType::F32 && dtype != DType::F16) throw Error(path_.string() + ": recordings are saved as F32 or F16");
  if (with_qkv && meta.head_dim <= 0) throw Error(path_.string() + ": recording Q/K/V needs the head size");
  shape_ = AttentionRecording::metadata_only(meta, with_qkv, with_scores, dtype);
  parts_ = shape_->parts();
  const int64_t H = meta.num_heads, N = meta.num_tokens;
  for (Part part : parts_)
    for (int l = 0; l < meta.num_layers; ++l) {
      layout_.push_back({AttentionRecording::tensor_name(part, l), dtype, {H, N, int64_t(head_values(part) / size_t(N))}});
      offsets_.push_back(data_end_);
      data_end_ += layout_.back().nbytes();
    }
  // A long recording's max-pooled levels, written with each layer's attention (as save()).
  factors_ = pyramid_factors(meta.num_tokens);
  for (int f : factors_)
    for (int l = 0; l < meta.num_layers; ++l) {
      const int64_t side = pyramid_side(meta.num_tokens, f);
      layout_.push_back({AttentionRecording::pyramid_tensor_name(f, l), dtype, {H, side, side}});
      offsets_.push_back(data_end_);
      data_end_ += layout_.back().nbytes();
    }
  written_.assign(layout_.size(), false);

  const auto md = AttentionRecording::file_metadata(meta);
  const std::string header = safetensors_header(layout_, md, header_room(safetensors_header(layout_, md).size()));
  header_bytes_ = header.size();

  std::error_code ec;
  const auto folder = std::filesystem::absolute(path_, ec).parent_path();
  const auto space = std::filesystem::space(folder, ec);
  if (!ec && space.available < header_bytes_ + data_end_)
    throw Error(path_.string() + ": the recording needs " + format_bytes(header_bytes_ + data_end_) + " on disk, but that folder has " +
                format_bytes(space.available) + " free");
  tmp_ = path_;
  tmp_ += ".tmp-" + std::to_string(::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path_.string() + ": cannot write (cannot create " + tmp_.filename().string() + " in that folder: " + os_error() + ")");
  // Claim the space now: a disk that fills up fails here, before the model runs.
  if (::posix_fallocate(fd_, 0, off_t(header_bytes_ + data_end_)) == ENOSPC) {
    ::close(fd_);
    fd_ = -1;
    std::filesystem::remove(tmp_, ec);
    throw Error(path_.string() + ": no space left on that disk for the recording's " + format_bytes(header_bytes_ + data_end_));
  }
  write_at(0, header.data(), header.size());
}

RecordingStream::~RecordingStream() {
  if (fd_ >= 0) ::close(fd_);
  if (!finished_ && !tmp_.empty()) {
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

bool RecordingStream::has(Part part) const { return std::find(parts_.begin(), parts_.end(), part) != parts_.end(); }

size_t RecordingStream::head_values(Part part) const {
  const auto& m = shape_->meta();
  return size_t(m.num_tokens) * size_t(part == Part::Attention || part == Part::Scores ? m.num_tokens : m.head_dim);
}

size_t RecordingStream::slot(Part part, int layer) const {
  const auto p = std::find(parts_.begin(), parts_.end(), part);
  if (p == parts_.end() || layer < 0 || layer >= shape_->num_layers())
    throw Error(path_.string() + ": internal error: no place for " + AttentionRecording::tensor_name(part, layer));
  return size_t(p - parts_.begin()) * size_t(shape_->num_layers()) + size_t(layer);
}

void RecordingStream::write_at(uint64_t offset, const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd_, p, std::min<size_t>(bytes, size_t(1) << 30), off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(path_.string() + ": write failed (" + (n < 0 ? os_error() : std::string("nothing written")) + "; disk full?)");
    p += n, offset += uint64_t(n), bytes -= size_t(n);
  }
}

void RecordingStream::write_values(uint64_t at, const float* values, size_t count) {
  if (dtype_ == DType::F32) {
    write_at(at, values, count * sizeof(float));
    return;
  }
  std::vector<uint16_t> half(std::min<size_t>(count, size_t(1) << 20));
  for (size_t done = 0; done < count; done += half.size()) {
    const size_t n = std::min(half.size(), count - done);
    floats_to_halves(values + done, half.data(), n);
    write_at(at + done * 2, half.data(), n * 2);
  }
}

void RecordingStream::write(Part part, int layer, const float* values) {
  const size_t i = slot(part, layer);
  const size_t count = size_t(shape_->num_heads()) * head_values(part);
  write_values(header_bytes_ + offsets_[i], values, count);
  written_[i] = true;
  if (part != Part::Attention || factors_.empty()) return;
  // The pyramid of each head, into its place in every level's tensor.
  const int N = shape_->num_tokens(), L = shape_->num_layers();
  const size_t base = size_t(parts_.size()) * size_t(L), width = dtype_ == DType::F32 ? 4 : 2;
  for (int h = 0; h < shape_->num_heads(); ++h) {
    const ConstMatrixMap head(values + size_t(h) * N * N, N, N);
    const std::vector<RowMatrix> levels = pyramid_levels(head, factors_);
    for (size_t k = 0; k < levels.size(); ++k) {
      const size_t slot_k = base + k * size_t(L) + size_t(layer), n = size_t(levels[k].size());
      write_values(header_bytes_ + offsets_[slot_k] + size_t(h) * n * width, levels[k].data(), n);
      written_[slot_k] = true;
    }
  }
}

void RecordingStream::finish(const AttentionRecording& run) {
  for (size_t i = 0; i < written_.size(); ++i)
    if (!written_[i]) throw Error(path_.string() + ": internal error: " + layout_[i].name + " was never written");
  std::vector<TensorLayout> layout = layout_;
  std::vector<std::span<const std::byte>> tail;
  if (const auto& logits = run.logits()) {
    layout.push_back({"logits", DType::F32, {logits->rows(), logits->cols()}});
    tail.push_back(std::as_bytes(std::span(logits->data(), size_t(logits->size()))));
  }
  if (const auto& image = run.image()) {
    layout.push_back({"image", DType::F32, {image->channels, image->height, image->width}});
    tail.push_back(std::as_bytes(std::span(image->data)));
  }
  const auto md = AttentionRecording::file_metadata(run.meta());
  std::string header = safetensors_header(layout, md);
  if (header.size() <= header_bytes_) {
    header = safetensors_header(layout, md, header_bytes_ - 8);
  } else {
    // The metadata outgrew the room kept for it: the layers move back by the difference.
    std::filesystem::path bigger = tmp_;
    bigger += "b";
    int out = ::open(bigger.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int in = ::open(tmp_.c_str(), O_RDONLY | O_CLOEXEC);
    if (out < 0 || in < 0) {
      if (out >= 0) ::close(out);
      if (in >= 0) ::close(in);
      throw Error(path_.string() + ": cannot rewrite the recording's header: " + os_error());
    }
    ::close(fd_);  // from here on the bigger file is the one written, and removed on failure
    fd_ = out;
    std::swap(tmp_, bigger);
    struct RemoveOnExit {  // the first file, copied or not
      const std::filesystem::path& file;
      ~RemoveOnExit() {
        std::error_code ec;
        std::filesystem::remove(file, ec);
      }
    } first{bigger};
    std::vector<char> buffer(8 << 20);
    for (uint64_t done = 0; done < data_end_;) {
      const ssize_t n = ::pread(in, buffer.data(), std::min<uint64_t>(buffer.size(), data_end_ - done), off_t(header_bytes_ + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(in);
        throw Error(path_.string() + ": cannot read back the streamed layers: " + (n < 0 ? os_error() : "the file is short"));
      }
      write_at(header.size() + done, buffer.data(), size_t(n));
      done += uint64_t(n);
    }
    ::close(in);
    header_bytes_ = header.size();
  }
  uint64_t at = header_bytes_ + data_end_;
  for (const auto& bytes : tail) {
    write_at(at, bytes.data(), bytes.size());
    at += bytes.size();
  }
  write_at(0, header.data(), header.size());
  if (::ftruncate(fd_, off_t(at)) != 0) throw Error(path_.string() + ": cannot set the file's size: " + os_error());
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw Error(path_.string() + ": write failed (" + os_error() + "; disk full?)");
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) throw Error(path_.string() + ": cannot replace the file: " + ec.message());
  finished_ = true;
}

}  // namespace attn
