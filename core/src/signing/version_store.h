#pragma once
// The persisted per-plugin version high-water mark that stops rollback to an older signed
// version (B5): "<state_dir>/plugin-versions", one "NAME VERSION" line per plugin, only raised.
//
// Threads: highWater() and record() may be called from any thread concurrently (one mutex).
// open() on any thread. Meant for one process per state directory.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "signing/semver.h"

namespace gatehouse::core::signing {

class VersionStore {
 public:
  // Creates `stateDir` (mode 0700, not its parents) when missing. The directory and an existing
  // file must pass the B9 rules (whoever can write them could lower a mark). A missing file is an
  // empty store. A corrupt file is BadRequest "FILE:LINE: ..." so the host refuses to start.
  static Result<VersionStore> open(const std::string& stateDir);

  VersionStore(VersionStore&&) noexcept;
  VersionStore& operator=(VersionStore&&) noexcept;
  ~VersionStore();

  std::optional<SemVer> highWater(std::string_view name) const;

  // Raises the mark for `name` to `version` if that is higher (precedence per compare()); a lower
  // or equal version changes nothing and succeeds. A raise is persisted before it is visible:
  // temporary file in the same directory, fsync, rename over the file, fsync of the directory.
  // If persisting fails the mark stays where it was and the error says why. BadRequest for a
  // name outside [a-z0-9_-]{1,64}.
  Result<void> record(std::string_view name, const SemVer& version);

  const std::string& filePath() const;

 private:
  struct Impl;
  explicit VersionStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gatehouse::core::signing
