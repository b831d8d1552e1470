#include "gatehouse/kit/config/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>

namespace gatehouse::kit::config {

namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Result<std::string> readConfigFile(const std::string& path, std::size_t maxBytes, std::string_view what) {
  const std::string name(what);
  // O_NONBLOCK: opening a FIFO by mistake must not hang; it is refused below as not a regular file.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    const int err = errno;
    return makeError(err == ENOENT ? ErrorCode::NotFound : ErrorCode::BadRequest,
                     path + ": cannot open " + name + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return badRequest(path + ": cannot read " + name + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return badRequest(path + ": " + name + " is not a regular file");
  const std::string tooLarge = path + ": " + name + " is larger than " + std::to_string(maxBytes) + " bytes";
  if (static_cast<std::uint64_t>(st.st_size) > maxBytes) return badRequest(tooLarge);

  // Read at most one byte past the limit: the file may have grown since fstat.
  const std::size_t cap = maxBytes < std::numeric_limits<std::size_t>::max() ? maxBytes + 1 : maxBytes;
  std::string text(static_cast<std::size_t>(st.st_size) + 1, '\0');   // st_size <= maxBytes, so <= cap
  std::size_t used = 0;
  for (;;) {
    if (used == text.size()) {
      if (text.size() >= cap) break;
      text.resize(text.size() > cap / 2 ? cap : text.size() * 2);
    }
    const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return badRequest(path + ": cannot read " + name + ": " + std::strerror(errno));
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > maxBytes) return badRequest(tooLarge);
  text.resize(used);
  return text;
}

}  // namespace gatehouse::kit::config
