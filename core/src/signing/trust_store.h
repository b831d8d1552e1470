#pragma once
// Which keys may sign plugins (a directory of public keys) and which of them are withdrawn (a
// revocation list). Both are loaded once at start; a problem refuses the start (fail closed).
//
// Threads: load on any thread; a loaded TrustStore / RevocationList is immutable, so any number
// of threads may query it concurrently.

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "signing/crypto.h"

namespace gatehouse::core::signing {

class TrustStore {
 public:
  // Every regular file named "*.pub" in `dir` must be a PEM Ed25519 public key; other names are
  // ignored. A key's id is computed from the key, never taken from the file name. The directory
  // and each .pub file must pass the B9 rules (not a symlink, not group/world-writable, owned by
  // root or the effective user). Errors name the file: NotFound (no directory), NotAllowed
  // (permissions, symlink, not a regular file), BadRequest (not an Ed25519 PEM public key).
  static Result<TrustStore> loadDirectory(const std::string& dir);

  // The key with this id, or null. The pointer lives as long as the store.
  const PublicKey* find(std::string_view keyId) const;
  std::vector<std::string> keyIds() const;   // sorted
  const std::string& directory() const { return dir_; }

 private:
  std::string dir_;
  std::map<std::string, PublicKey, std::less<>> keys_;
};

class RevocationList {
 public:
  // One key id per line (16 hex digits; upper case is accepted and folded); blank lines and lines
  // starting with '#' are ignored; spaces, tabs and a CR around an id are trimmed. Anything else:
  // BadRequest "FILE:LINE: expected a 16-hex-digit key id". NotFound when the file is missing.
  // The file and its directory must pass the same B9 rules as the trust store (whoever can edit
  // the list can un-revoke a key). At most 1 MiB.
  static Result<RevocationList> loadFile(const std::string& path);

  bool isRevoked(std::string_view keyId) const;
  std::size_t size() const { return revoked_.size(); }

 private:
  std::set<std::string, std::less<>> revoked_;
};

}  // namespace gatehouse::core::signing
