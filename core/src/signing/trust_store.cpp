#include "signing/trust_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "signing/secure_file.h"
#include "signing/text_util.h"

namespace gatehouse::core::signing {

namespace {

constexpr std::uint64_t kMaxPublicKeyFileBytes = 64 * 1024;
constexpr std::uint64_t kMaxRevocationFileBytes = 1024 * 1024;

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Names in the directory `dirFd`, sorted so errors and keyIds() do not depend on readdir order.
Result<std::vector<std::string>> listNames(int dirFd, const std::string& dir) {
  // fdopendir takes ownership of the descriptor it is given, so it gets its own duplicate.
  const int dupFd = ::fcntl(dirFd, F_DUPFD_CLOEXEC, 0);
  DIR* d = dupFd >= 0 ? ::fdopendir(dupFd) : nullptr;
  if (d == nullptr) {
    const int e = errno;
    if (dupFd >= 0) ::close(dupFd);
    return makeError(ErrorCode::Internal, "cannot list directory " + dir + ": " + std::strerror(e));
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(d)) names.emplace_back(entry->d_name);
  const int e = errno;
  ::closedir(d);
  if (e != 0) return makeError(ErrorCode::Internal, "cannot list directory " + dir + ": " + std::strerror(e));
  std::sort(names.begin(), names.end());
  return names;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<TrustStore> TrustStore::loadDirectory(const std::string& dir) {
  auto dirFd = detail::openCheckedDirectory(dir, "trust store " + dir, true);
  if (!dirFd.ok()) return std::move(dirFd).error();
  auto names = listNames(dirFd->get(), dir);
  if (!names.ok()) return std::move(names).error();

  TrustStore store;
  store.dir_ = dir;
  for (const std::string& name : *names) {
    if (!endsWith(name, ".pub")) continue;
    const std::string path = dir + "/" + name;
    auto file = detail::openCheckedFile(dirFd->get(), name, path, true, kMaxPublicKeyFileBytes, "");
    if (!file.ok()) return std::move(file).error();
    auto pem = detail::readAll(*file, path, kMaxPublicKeyFileBytes);
    if (!pem.ok()) return std::move(pem).error();
    auto key = PublicKey::fromPem(*pem);
    if (!key.ok()) return makeError(key.error().code, path + ": " + key.error().message);
    store.keys_.emplace(key->keyId(), std::move(*key));   // the same key twice is harmless
  }
  return store;
}

const PublicKey* TrustStore::find(std::string_view keyId) const {
  const auto it = keys_.find(keyId);
  return it == keys_.end() ? nullptr : &it->second;
}

std::vector<std::string> TrustStore::keyIds() const {
  std::vector<std::string> ids;
  ids.reserve(keys_.size());
  for (const auto& [id, key] : keys_) ids.push_back(id);
  return ids;
}

Result<RevocationList> RevocationList::loadFile(const std::string& path) {
  auto text = detail::readCheckedFile(path, kMaxRevocationFileBytes);
  if (!text.ok()) return std::move(text).error();

  RevocationList list;
  std::string_view rest = *text;
  for (std::size_t lineNo = 1; !rest.empty(); ++lineNo) {
    const std::size_t nl = rest.find('\n');
    const std::string_view raw = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    std::string id(line);
    std::transform(id.begin(), id.end(), id.begin(), [](char c) { return c >= 'A' && c <= 'F' ? static_cast<char>(c + 32) : c; });
    if (!detail::isLowerHex(id, 16)) {
      return makeError(ErrorCode::BadRequest, path + ":" + std::to_string(lineNo) + ": expected a 16-hex-digit key id, got " +
                                                  detail::quoted(line, 40));
    }
    list.revoked_.insert(std::move(id));
  }
  return list;
}

bool RevocationList::isRevoked(std::string_view keyId) const { return revoked_.find(keyId) != revoked_.end(); }

}  // namespace gatehouse::core::signing
