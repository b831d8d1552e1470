#include "signing/secure_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gatehouse::core::signing::detail {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

std::string errnoText(int e) { return std::strerror(e); }

// "subject: what" or just "what" when the subject is the thing itself.
std::string prefixed(const std::string& subject, const std::string& thing, const std::string& what) {
  return subject == thing || subject.empty() ? what : subject + ": " + what;
}

std::string ownerProblem(uid_t owner) {
  return "owned by uid " + std::to_string(owner) + "; expected root (uid 0) or the gateway's user (uid " +
         std::to_string(geteuid()) + ")";
}

bool ownerAllowed(uid_t owner) { return owner == 0 || owner == geteuid(); }

}  // namespace

std::string modeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::pair<std::string, std::string> splitPath(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

Result<UniqueFd> openCheckedDirectory(const std::string& dir, const std::string& subject, bool checkOwner) {
  const std::string label = "directory " + dir;
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    const int e = errno;
    struct stat lst {};
    if (e == ENOENT) return makeError(ErrorCode::NotFound, prefixed(subject, dir, label + " does not exist"));
    if (::lstat(dir.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      return makeError(ErrorCode::NotAllowed,
                       prefixed(subject, dir, label + " is a symbolic link; configure the real directory instead"));
    }
    if (e == ENOTDIR) return makeError(ErrorCode::BadRequest, prefixed(subject, dir, dir + " is not a directory"));
    if (e == EACCES) return makeError(ErrorCode::NotAllowed, prefixed(subject, dir, "cannot open " + label + ": " + errnoText(e)));
    return makeError(ErrorCode::Internal, prefixed(subject, dir, "cannot open " + label + ": " + errnoText(e)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return makeError(ErrorCode::Internal, prefixed(subject, dir, "cannot stat " + label + ": " + errnoText(errno)));
  }
  if (!S_ISDIR(st.st_mode)) return makeError(ErrorCode::BadRequest, prefixed(subject, dir, dir + " is not a directory"));
  if (st.st_mode & 022) {
    return makeError(ErrorCode::NotAllowed, prefixed(subject, dir, label + " is writable by group or others (mode " +
                                                                       modeText(st.st_mode) + "); run chmod go-w on it"));
  }
  if (checkOwner && !ownerAllowed(st.st_uid)) {
    return makeError(ErrorCode::NotAllowed, prefixed(subject, dir, label + " is " + ownerProblem(st.st_uid)));
  }
  return fd;
}

Result<OpenedFile> openCheckedFile(int dirFd, const std::string& name, const std::string& path, bool checkOwner,
                                   std::uint64_t maxBytes, const std::string& limitName) {
  OpenedFile f;
  if (name.empty() || name == "." || name == "..") {
    return makeError(ErrorCode::BadRequest, path + " does not name a file");
  }
  f.fd = UniqueFd(::openat(dirFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (f.fd.get() < 0) {
    const int e = errno;
    if (e == ELOOP) return makeError(ErrorCode::NotAllowed, path + " is a symbolic link; refusing to follow it");
    if (e == ENOENT) return makeError(ErrorCode::NotFound, path + " does not exist");
    if (e == EACCES) return makeError(ErrorCode::NotAllowed, "cannot open " + path + ": " + errnoText(e));
    return makeError(ErrorCode::Internal, "cannot open " + path + ": " + errnoText(e));
  }
  if (::fstat(f.fd.get(), &f.st) != 0) return makeError(ErrorCode::Internal, "cannot stat " + path + ": " + errnoText(errno));
  if (!S_ISREG(f.st.st_mode)) return makeError(ErrorCode::NotAllowed, path + " is not a regular file");
  if (f.st.st_mode & 022) {
    return makeError(ErrorCode::NotAllowed,
                     path + " is writable by group or others (mode " + modeText(f.st.st_mode) + "); run chmod go-w on it");
  }
  if (checkOwner && !ownerAllowed(f.st.st_uid)) return makeError(ErrorCode::NotAllowed, path + " is " + ownerProblem(f.st.st_uid));
  if (f.st.st_size < 0 || static_cast<std::uint64_t>(f.st.st_size) > maxBytes) {
    return makeError(ErrorCode::TooLarge, path + " is " + std::to_string(f.st.st_size) + " bytes, over the limit of " +
                                              std::to_string(maxBytes) + (limitName.empty() ? "" : " (" + limitName + ")"));
  }
  return f;
}

Result<std::string> readAll(const OpenedFile& file, const std::string& path, std::uint64_t maxBytes) {
  const auto expected = static_cast<std::uint64_t>(file.st.st_size);
  std::string out;
  out.resize(static_cast<std::size_t>(expected) + 1);   // one spare byte notices growth
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(file.fd.get(), out.data() + total, out.size() - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return makeError(ErrorCode::Internal, "cannot read " + path + ": " + errnoText(errno));
    }
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
    if (total > expected || total > maxBytes) {
      return makeError(ErrorCode::Conflict, path + " grew while being read; refusing it");
    }
  }
  if (total != expected) return makeError(ErrorCode::Conflict, path + " shrank while being read; refusing it");
  out.resize(total);
  return out;
}

Result<void> writeAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return makeError(ErrorCode::Internal, "cannot write " + path + ": " + errnoText(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<std::string> readCheckedFile(const std::string& path, std::uint64_t maxBytes) {
  const auto [dir, name] = splitPath(path);
  auto dirFd = openCheckedDirectory(dir, path, true);
  if (!dirFd.ok()) return std::move(dirFd).error();
  auto file = openCheckedFile(dirFd->get(), name, path, true, maxBytes, "");
  if (!file.ok()) return std::move(file).error();
  return readAll(*file, path, maxBytes);
}

}  // namespace gatehouse::core::signing::detail
