#pragma once
// A read-only view of a whole file: memory-mapped when possible, read into memory when
// mapping fails (e.g. on some network file systems). Movable, not copyable.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

namespace attn {

class MappedFile {
 public:
  // Maps `path`. Throws attn::Error naming the file when it is missing, a directory,
  // unreadable or cannot be read at all.
  static MappedFile open(const std::filesystem::path& path);
  // Wraps bytes already in memory (e.g. for fuzzing); `path` only names them in messages.
  static MappedFile from_bytes(const std::filesystem::path& path, std::vector<std::byte> bytes);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::vector<std::byte> fallback_;  // owns the bytes when the file was read, not mapped
};

}  // namespace attn
