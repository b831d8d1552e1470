#pragma once
// The whole signature check of one plugin image in the fixed order of docs/plugin-abi.md, for
// hosts and tools that do not need to arrange the pieces themselves.
//
// Threads: verifySignature() may run on any thread, concurrently, as long as the objects the
// policy points to live (VersionStore is internally locked; the others are immutable).

#include <cstdint>
#include <string>
#include <string_view>

#include "signing/manifest.h"
#include "signing/sealed_image.h"
#include "signing/trust_store.h"
#include "signing/version_store.h"

namespace gatehouse::core::signing {

struct VerifyPolicy {
  const TrustStore* trust = nullptr;         // null: no key is trusted (everything UnknownKey)
  const RevocationList* revoked = nullptr;   // null: no revocation check
  const VersionStore* versions = nullptr;    // null: no rollback check
  std::int64_t nowEpochSeconds = 0;
  std::string hostAbi = "1.0";               // "MAJOR.MINOR" the host implements
};

enum class VerifyFailure { None, File, Signature, UnknownKey, Revoked, Expired, HashMismatch, Rollback, Abi, Malformed };

// A stable lower-case word for logs and metrics ("none", "file", "signature", "unknown_key", ...).
const char* toString(VerifyFailure failure);

struct VerifyOutcome {
  VerifyFailure failure = VerifyFailure::None;
  std::string reason;        // one line naming the key id / versions / sizes involved; empty on success
  SignatureFile signature;   // filled once the .sig file parsed
  bool ok() const { return failure == VerifyFailure::None; }
};

// Checks, stopping at the first failure: the image is open (File); the .sig text parses
// (Malformed); its key is in policy.trust (UnknownKey); not revoked (Revoked); the Ed25519
// signature over line 1 verifies (Signature); now <= not_after (Expired); the manifest's size
// and sha256 equal the image's (HashMismatch); manifest ABI major == host major and minor <=
// host minor (Abi); version >= the high-water mark (Rollback). It records nothing: after a
// successful load the host calls VersionStore::record(name, version).
VerifyOutcome verifySignature(const SealedImage& image, std::string_view sigFileText, const VerifyPolicy& policy);

}  // namespace gatehouse::core::signing
