#include "signing/version_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "signing/secure_file.h"
#include "signing/text_util.h"

namespace gatehouse::core::signing {

namespace {

constexpr const char* kFileName = "plugin-versions";
constexpr std::uint64_t kMaxFileBytes = 1024 * 1024;

using Marks = std::map<std::string, SemVer, std::less<>>;

Result<Marks> parseMarks(std::string_view text, const std::string& path) {
  Marks marks;
  std::size_t lineNo = 0;
  while (!text.empty()) {
    ++lineNo;
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto fail = [&](const std::string& why) {
      return makeError(ErrorCode::BadRequest, path + ":" + std::to_string(lineNo) + ": " + why +
                                                  "; the file is corrupt, so plugins cannot be checked for rollback");
    };
    const std::size_t space = line.find(' ');
    const std::string_view name = line.substr(0, space);
    const auto version = space == std::string_view::npos ? std::nullopt : parseSemVer(line.substr(space + 1));
    if (!detail::isValidPluginName(name) || !version) {
      return fail("expected \"NAME VERSION\", got " + detail::quoted(line, 160));
    }
    if (!marks.emplace(std::string(name), *version).second) return fail("second entry for " + detail::quoted(name));
  }
  return marks;
}

std::string serialize(const Marks& marks) {
  std::string out;
  for (const auto& [name, version] : marks) out += name + ' ' + toString(version) + '\n';
  return out;
}

}  // namespace

struct VersionStore::Impl {
  std::string dir;
  std::string path;
  detail::UniqueFd dirFd;   // writes go through it, so a renamed directory cannot redirect them
  mutable std::mutex mutex;
  Marks marks;

  // Replaces the file with `next`. `renamed` tells whether the new file is in place (even when
  // a later step failed), i.e. whether the marks in memory must follow.
  Result<void> persist(const Marks& next, bool& renamed) {
    renamed = false;
    const std::string tmpName = std::string(kFileName) + ".tmp." + std::to_string(::getpid());
    const std::string tmpPath = dir + "/" + tmpName;
    ::unlinkat(dirFd.get(), tmpName.c_str(), 0);   // left over from a crash, if any
    detail::UniqueFd fd(::openat(dirFd.get(), tmpName.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
      return makeError(ErrorCode::Internal, "cannot create " + tmpPath + ": " + std::strerror(errno) + "; the version mark was not raised");
    }
    auto abandon = [&](const std::string& why) {
      ::unlinkat(dirFd.get(), tmpName.c_str(), 0);
      return makeError(ErrorCode::Internal, why + "; the version mark was not raised");
    };
    if (auto written = detail::writeAll(fd.get(), serialize(next), tmpPath); !written.ok()) return abandon(written.error().message);
    if (::fsync(fd.get()) != 0) return abandon("cannot fsync " + tmpPath + ": " + std::strerror(errno));
    if (::renameat(dirFd.get(), tmpName.c_str(), dirFd.get(), kFileName) != 0) {
      return abandon("cannot rename " + tmpPath + " to " + path + ": " + std::strerror(errno));
    }
    renamed = true;
    // The rename itself is durable only once the directory is.
    if (::fsync(dirFd.get()) != 0) {
      return makeError(ErrorCode::Internal, "cannot fsync directory " + dir + ": " + std::strerror(errno) +
                                                "; the raised version mark may not survive a crash");
    }
    return {};
  }
};

VersionStore::VersionStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VersionStore::VersionStore(VersionStore&&) noexcept = default;
VersionStore& VersionStore::operator=(VersionStore&&) noexcept = default;
VersionStore::~VersionStore() = default;

Result<VersionStore> VersionStore::open(const std::string& stateDir) {
  if (stateDir.empty()) return makeError(ErrorCode::BadRequest, "the plugin state directory is not set");
  if (::mkdir(stateDir.c_str(), 0700) != 0 && errno != EEXIST) {
    return makeError(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Internal,
                     "cannot create plugin state directory " + stateDir + ": " + std::strerror(errno));
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = stateDir;
  impl->path = stateDir + "/" + kFileName;
  auto dirFd = detail::openCheckedDirectory(stateDir, "plugin state directory " + stateDir, true);
  if (!dirFd.ok()) return std::move(dirFd).error();
  impl->dirFd = std::move(*dirFd);

  auto file = detail::openCheckedFile(impl->dirFd.get(), kFileName, impl->path, true, kMaxFileBytes, "");
  if (!file.ok() && file.error().code != ErrorCode::NotFound) return std::move(file).error();
  if (file.ok()) {
    auto text = detail::readAll(*file, impl->path, kMaxFileBytes);
    if (!text.ok()) return std::move(text).error();
    auto marks = parseMarks(*text, impl->path);
    if (!marks.ok()) return std::move(marks).error();
    impl->marks = std::move(*marks);
  }
  return VersionStore(std::move(impl));
}

std::optional<SemVer> VersionStore::highWater(std::string_view name) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->marks.find(name);
  if (it == impl_->marks.end()) return std::nullopt;
  return it->second;
}

Result<void> VersionStore::record(std::string_view name, const SemVer& version) {
  if (!detail::isValidPluginName(name)) {
    return makeError(ErrorCode::BadRequest, "plugin name " + detail::quoted(name) + " must match [a-z0-9_-]{1,64}");
  }
  // The version is written as text and read back with parseSemVer: refuse what would not parse.
  if (!parseSemVer(toString(version))) {
    return makeError(ErrorCode::BadRequest, "version " + detail::quoted(toString(version)) + " is not a valid semantic version");
  }
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->marks.find(name);
  if (it != impl_->marks.end() && compare(version, it->second) <= 0) return {};
  Marks next = impl_->marks;
  next[std::string(name)] = version;
  bool renamed = false;
  auto persisted = impl_->persist(next, renamed);
  if (renamed) impl_->marks = std::move(next);   // memory never lags behind the file
  return persisted;
}

const std::string& VersionStore::filePath() const { return impl_->path; }

}  // namespace gatehouse::core::signing
