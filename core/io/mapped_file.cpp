#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "util/error.h"

namespace attn {

namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw Error(path.string() + ": " + what);
}

}  // namespace

MappedFile MappedFile::open(const std::filesystem::path& path) {
  MappedFile file;
  file.path_ = path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, expected a file");

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, std::string("cannot stat: ") + std::strerror(err));
  }
  file.size_ = static_cast<size_t>(st.st_size);
  if (file.size_ == 0) {
    ::close(fd);
    return file;  // an empty file: callers report "empty" in their own terms
  }
  void* p = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p != MAP_FAILED) {
    file.data_ = static_cast<const std::byte*>(p);
    file.mapped_ = true;
    return file;
  }
  // Fall back to reading the file.
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot be read");
  file.fallback_.resize(file.size_);
  in.read(reinterpret_cast<char*>(file.fallback_.data()), static_cast<std::streamsize>(file.size_));
  if (static_cast<size_t>(in.gcount()) != file.size_) fail(path, "short read");
  file.data_ = file.fallback_.data();
  return file;
}

MappedFile MappedFile::from_bytes(const std::filesystem::path& path, std::vector<std::byte> bytes) {
  MappedFile file;
  file.path_ = path;
  file.fallback_ = std::move(bytes);
  file.size_ = file.fallback_.size();
  file.data_ = file.fallback_.data();
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept { *this = std::move(other); }

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this == &other) return *this;
  if (mapped_ && data_) ::munmap(const_cast<std::byte*>(data_), size_);
  path_ = std::move(other.path_);
  size_ = std::exchange(other.size_, 0);
  mapped_ = std::exchange(other.mapped_, false);
  fallback_ = std::move(other.fallback_);
  data_ = mapped_ ? std::exchange(other.data_, nullptr) : fallback_.data();
  other.data_ = nullptr;
  return *this;
}

MappedFile::~MappedFile() {
  if (mapped_ && data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace attn
