#pragma once
// Reading a plugin file exactly once, safely (B9, B11), into a sealed memfd so that the bytes
// that are verified are the bytes that are loaded (B8): the host hashes/verifies bytes() and then
// dlopen()s procPath(), which names the same sealed, unchangeable memory.
//
// Threads: readSealed() on any thread. A SealedImage is immutable after creation; its const
// accessors may be used from any thread; moving or destroying it needs exclusive access.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gatehouse::core::signing {

struct FilePolicy {
  std::uint64_t maxBytes = 64ull << 20;   // plugin_host.max_file_bytes
  bool checkOwner = true;                  // file and directory owned by root or the effective user
};

// Owns a sealed memfd (and a read-only mapping of it). Move-only.
class SealedImage {
 public:
  SealedImage(SealedImage&& other) noexcept;
  SealedImage& operator=(SealedImage&& other) noexcept;
  SealedImage(const SealedImage&) = delete;
  SealedImage& operator=(const SealedImage&) = delete;
  ~SealedImage();

  int fd() const { return fd_; }   // -1 after a move
  std::uint64_t size() const { return size_; }
  const std::string& sha256Hex() const { return sha256Hex_; }   // computed while copying
  const std::string& sourcePath() const { return sourcePath_; }
  std::string procPath() const;    // "/proc/self/fd/N", for dlopen
  std::string_view bytes() const;  // read-only mapping of the whole memfd (empty for an empty file)

 private:
  friend Result<SealedImage> readSealed(const std::string& path, const FilePolicy& policy);
  SealedImage() = default;
  void reset() noexcept;

  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string sha256Hex_;
  std::string sourcePath_;
  const char* map_ = nullptr;
};

// Opens `path` under the B9 rules (the containing directory: a real directory, not a symlink,
// not writable by group/others, owned by root or the effective user when policy.checkOwner; the
// file: opened with O_NOFOLLOW (a symlink is refused "is a symbolic link"), a regular file, not
// writable by group/others, owner as above), refuses it with TooLarge before reading a byte when
// it is over policy.maxBytes, then copies it into memfd_create("gatehouse-plugin") while hashing
// the same buffers, refuses a file that grew or shrank while being copied, and seals the memfd
// (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL). Every error message names the path.
Result<SealedImage> readSealed(const std::string& path, const FilePolicy& policy);

}  // namespace gatehouse::core::signing
