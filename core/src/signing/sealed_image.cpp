#include "signing/sealed_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "signing/openssl_util.h"
#include "signing/secure_file.h"

namespace gatehouse::core::signing {

namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;

}  // namespace

SealedImage::SealedImage(SealedImage&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      size_(std::exchange(other.size_, 0)),
      sha256Hex_(std::move(other.sha256Hex_)),
      sourcePath_(std::move(other.sourcePath_)),
      map_(std::exchange(other.map_, nullptr)) {}

SealedImage& SealedImage::operator=(SealedImage&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    size_ = std::exchange(other.size_, 0);
    sha256Hex_ = std::move(other.sha256Hex_);
    sourcePath_ = std::move(other.sourcePath_);
    map_ = std::exchange(other.map_, nullptr);
  }
  return *this;
}

SealedImage::~SealedImage() { reset(); }

void SealedImage::reset() noexcept {
  if (map_ != nullptr) ::munmap(const_cast<char*>(map_), static_cast<std::size_t>(size_));
  if (fd_ >= 0) ::close(fd_);
  map_ = nullptr;
  fd_ = -1;
  size_ = 0;
}

std::string SealedImage::procPath() const { return "/proc/self/fd/" + std::to_string(fd_); }

std::string_view SealedImage::bytes() const {
  return map_ == nullptr ? std::string_view() : std::string_view(map_, static_cast<std::size_t>(size_));
}

Result<SealedImage> readSealed(const std::string& path, const FilePolicy& policy) {
  const auto [dir, name] = detail::splitPath(path);
  auto dirFd = detail::openCheckedDirectory(dir, path, policy.checkOwner);
  if (!dirFd.ok()) return std::move(dirFd).error();
  // Size is checked on fstat, before anything is read (B11).
  auto file = detail::openCheckedFile(dirFd->get(), name, path, policy.checkOwner, policy.maxBytes,
                                      "plugin_host.max_file_bytes");
  if (!file.ok()) return std::move(file).error();
  const auto expected = static_cast<std::uint64_t>(file->st.st_size);

  SealedImage image;
  image.sourcePath_ = path;
  image.fd_ = ::memfd_create("gatehouse-plugin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (image.fd_ < 0) return makeError(ErrorCode::Internal, path + ": memfd_create failed: " + std::strerror(errno));

  detail::Sha256 hash;
  std::vector<char> buf(kChunkBytes);
  std::uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(file->fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return makeError(ErrorCode::Internal, "cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
    // A file that grows after fstat could otherwise smuggle in unbounded bytes.
    if (total > expected) return makeError(ErrorCode::Conflict, path + " grew while being read; refusing it");
    hash.update(buf.data(), static_cast<std::size_t>(n));
    auto written = detail::writeAll(image.fd_, std::string_view(buf.data(), static_cast<std::size_t>(n)), path + " (in-memory copy)");
    if (!written.ok()) return std::move(written).error();
  }
  if (total != expected) return makeError(ErrorCode::Conflict, path + " shrank while being read; refusing it");
  image.size_ = total;
  image.sha256Hex_ = hash.finishHex();
  if (image.sha256Hex_.empty()) return detail::opensslError(ErrorCode::Internal, path + ": SHA-256 failed");

  if (::fcntl(image.fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return makeError(ErrorCode::Internal, path + ": cannot seal the in-memory copy: " + std::strerror(errno));
  }
  if (::lseek(image.fd_, 0, SEEK_SET) != 0) {
    return makeError(ErrorCode::Internal, path + ": cannot rewind the in-memory copy: " + std::strerror(errno));
  }
  if (total > 0) {
    // Mapped only after sealing: F_SEAL_WRITE is refused while a writable shared mapping exists.
    void* m = ::mmap(nullptr, static_cast<std::size_t>(total), PROT_READ, MAP_SHARED, image.fd_, 0);
    if (m == MAP_FAILED) return makeError(ErrorCode::Internal, path + ": cannot map the in-memory copy: " + std::strerror(errno));
    image.map_ = static_cast<const char*>(m);
  }
  return image;
}

}  // namespace gatehouse::core::signing
