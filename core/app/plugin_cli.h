#pragma once
// `gatehouse plugin keygen | sign | verify | list` (plugins-signed/README.md has the exit codes).
// Runs on the main thread of a short-lived process.

#include <string_view>
#include <vector>

namespace gatehouse::app {

// args[0] is "plugin". Returns the process exit code.
int pluginCommand(const std::vector<std::string_view>& args);

// Exit codes of `gatehouse plugin verify` (and `list`, which returns the first failure's code).
enum PluginExit : int {
  kPluginValid = 0,
  kPluginUsage = 2,
  kPluginFile = 10,        // missing, symlink, permissions, owner, oversized, no .sig
  kPluginMalformed = 11,   // the .sig file or its manifest is malformed
  kPluginUnknownKey = 12,  // signed by a key not in the trust store
  kPluginRevoked = 13,     // signed by a revoked key
  kPluginBadSignature = 14,
  kPluginExpired = 15,
  kPluginHashMismatch = 16,   // the manifest is not for these bytes
  kPluginAbi = 17,            // built for an ABI this gateway cannot run
  kPluginRollback = 18,       // older than a version already loaded here
  kPluginElf = 19,            // not a loadable ELF for this machine, or carries RPATH/RUNPATH
  kPluginFailure = 1,         // anything else (keygen/sign I/O errors)
};

}  // namespace gatehouse::app
