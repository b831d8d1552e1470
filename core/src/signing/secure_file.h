#pragma once
// Opening files an attacker might have planted or swapped (B9), in one place for the plugin
// image, the trust store, the revocation list and the version store (internal to
// core/src/signing).
//
// The rule: the containing directory is a real directory (not a symlink), not writable by group
// or others, owned by root or by the effective user; the file is opened through that directory's
// descriptor (openat, so a swapped directory cannot redirect it) with O_NOFOLLOW, and must be a
// regular file with the same mode and owner rules. O_NONBLOCK keeps a FIFO from hanging the caller.
// Every message starts with the path it is about.
//
// Threads: free functions without shared state; any thread.

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"

namespace gatehouse::core::signing::detail {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

struct OpenedFile {
  UniqueFd fd;
  struct stat st {};
};

// "a/b/c" -> {"a/b", "c"}; "c" -> {".", "c"}; "/c" -> {"/", "c"}.
std::pair<std::string, std::string> splitPath(const std::string& path);

// Opens `dir` (O_DIRECTORY|O_NOFOLLOW) and checks it. `subject` prefixes messages (the path the
// caller is really about, e.g. the plugin file). NotFound when it does not exist.
Result<UniqueFd> openCheckedDirectory(const std::string& dir, const std::string& subject, bool checkOwner);

// Opens `name` inside the checked directory `dirFd` and checks it; `path` is its full name for
// messages. TooLarge when st_size > maxBytes (before any byte is read). NotFound when missing.
Result<OpenedFile> openCheckedFile(int dirFd, const std::string& name, const std::string& path, bool checkOwner,
                                   std::uint64_t maxBytes, const std::string& limitName);

// Reads an opened file to its end; refuses more than maxBytes or a size differing from st_size.
Result<std::string> readAll(const OpenedFile& file, const std::string& path, std::uint64_t maxBytes);

// Writes all of `bytes` to `fd` (retrying short writes and EINTR); Internal naming `path` on failure.
Result<void> writeAll(int fd, std::string_view bytes, const std::string& path);

// Directory check + file check + readAll for a small text file at `path`.
Result<std::string> readCheckedFile(const std::string& path, std::uint64_t maxBytes);

std::string modeText(mode_t mode);   // "0775"

}  // namespace gatehouse::core::signing::detail
