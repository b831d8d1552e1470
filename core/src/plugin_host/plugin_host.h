#pragma once
// The plugin host: finds, verifies, loads, configures, starts, hot-replaces and stops the
// plugins named in the configuration (docs/plugin-abi.md, plugins-signed/README.md).
//
// Loading one plugin, in order, stopping at the first failure (the plugin is then "refused" or
// "failed" with the reason, and the gateway goes on without it):
//   1. read <directory>/gh-<name>.so once, safely (no symlink, not group/world-writable, owner,
//      size limit before reading) into a sealed memfd, hashing the bytes as they are copied;
//   2. verify <file>.sig: trusted key, not revoked, Ed25519 signature, not expired, size and
//      SHA-256 of those bytes, ABI from the manifest, version >= the persisted high-water mark;
//   3. refuse an ELF image carrying RPATH/RUNPATH;
//   4. dlopen exactly the sealed bytes (/proc/self/fd/N), check the descriptor (ABI major,
//      minor, struct size, name/version/ABI equal to the signed manifest) before calling any
//      plugin function other than the entry point;
//   5. validate the plugin's config block against the schema it declares;
//   6. create, configure, start; each call guarded (exceptions and crashes are contained).
//
// Threads: every public method is called from one control thread (main's), except statuses(),
// which any thread may call. Plugins call back into the model from their own threads.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "model/model.h"

namespace gatehouse::core::plugin_host {

struct PluginHostOptions {
  std::string directory;        // absolute or relative to the current directory
  std::string trustStore;
  std::string revocationList;   // a missing file means "nothing revoked" only if revocationListOptional
  bool revocationListOptional = true;
  std::string stateDir;
  std::uint64_t maxFileBytes = 64ull << 20;
  bool checkOwner = true;
  std::string configPath;       // shown in config-block diagnostics
  // Tests only: runs after the file was verified and before it is loaded (proves B8).
  std::function<void(const std::string& pluginFile)> afterVerify;
};

// Resolves the plugin_host section (defaults, paths relative to the config file's folder).
PluginHostOptions optionsFromConfig(const config::Config& cfg);

struct PluginStatus {
  std::string name;
  std::string version;    // from the signed manifest; "" when refused before it was read
  std::string keyId;      // signer's key id; "" when unknown
  std::string state;      // loaded | refused | stopped | failed
  std::string reason;     // why refused/failed/stopped, or the plugin's own status message
  std::string health;     // running | degraded | failed (as the plugin reports), "" when not loaded
  std::string file;
  std::string sha256;
};

class PluginHost {
 public:
  PluginHost(model::Model& model, PluginHostOptions options);
  ~PluginHost();   // stops every plugin
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Loads every plugin of `blocks` (config order). A plugin that is refused or fails is reported
  // in statuses() and the others go on. The one error returned is a config block that does not
  // match the schema its plugin declares (BadRequest, every problem as FILE:LINE:COL: key: message):
  // like any bad configuration, it stops the start.
  Result<void> loadAll(const std::vector<config::PluginBlock>& blocks);

  // Applies a new list of blocks: new names are loaded; names no longer listed are stopped
  // (their providers removed); for the others the file is re-verified: a new signed version
  // replaces the running one with its providers handed over, a changed config block restarts it,
  // and a running plugin whose signing key was revoked (or whose signature expired) is stopped.
  // A new file that is refused (tampered, unsigned, older) or fails to start leaves the running
  // version in place. Returns a one-line summary per plugin.
  std::vector<std::string> reload(const std::vector<config::PluginBlock>& blocks);

  // For `gatehouse config check`: verifies and loads each plugin's library (running none of its
  // functions but the entry point) and validates its block against the schema it declares.
  // BadRequest with every settings problem; otherwise one note per plugin that could not be
  // checked (refused: its settings are unknown until it verifies).
  Result<std::vector<std::string>> checkSettings(const std::vector<config::PluginBlock>& blocks);

  void stopAll();
  std::vector<PluginStatus> statuses() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The plugin file for a name: "gh-<name>.so".
std::string pluginFileName(const std::string& name);

}  // namespace gatehouse::core::plugin_host
