#pragma once
// The signed manifest (line 1 of a plugin's .sig file) and the .sig file itself. The formats are
// described at the top of signing/signing.h.
//
// Threads: plain values and pure functions; any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gatehouse::core::signing {

inline constexpr std::size_t kMaxSignatureFileBytes = 4096;
inline constexpr std::size_t kSignatureBytes = 64;   // Ed25519

struct Manifest {
  int format = 1;
  std::string name;        // [a-z0-9_-]{1,64}
  std::string version;     // semver, see parseSemVer()
  std::string abi;         // "MAJOR.MINOR"
  std::string sha256Hex;   // 64 lowercase hex: SHA-256 of the plugin file
  std::uint64_t size = 0;  // bytes of the plugin file
  std::string keyId;       // 16 lowercase hex: the signing key's id (PublicKey::keyId())
  std::int64_t notAfter = 0;   // epoch seconds; the last second the signature is valid
  std::string notAfterText;    // the same as written, "YYYY-MM-DDTHH:MM:SSZ"
};

// Line 1 in canonical form (keys in the fixed order, no spaces, no newline). not_after is
// notAfterText when set, else notAfter formatted. It does not validate: a signer should run the
// result through parseManifest() before signing it.
std::string serializeManifest(const Manifest& manifest);

// Strict parse of line 1 (without its newline). BadRequest whose message starts with "manifest: "
// and says what is wrong: not one flat JSON object, a missing, unknown or duplicate key
// ('duplicate key "name"'), a wrong type, a field not matching its format, trailing bytes.
// Accepted JSON: spaces/tabs between tokens, keys in any order, string escapes \" \\ \/ only
// (\uXXXX and the control escapes are refused: no valid field value needs them), printable
// ASCII only. At most kMaxSignatureFileBytes.
Result<Manifest> parseManifest(std::string_view line);

struct SignatureFile {
  std::string manifestLine;   // the exact bytes the signature covers
  Manifest manifest;
  std::string signature;      // kSignatureBytes raw bytes
};

// Both lines: the manifest, then strict base64 of the signature, optionally followed by one
// "\n" and nothing else; no CR anywhere. TooLarge over kMaxSignatureFileBytes, else BadRequest
// with a message starting "signature file: ".
Result<SignatureFile> parseSignatureFile(std::string_view text);

// manifestLine + "\n" + base64(signature) + "\n".
std::string writeSignatureFile(const std::string& manifestLine, std::string_view signature);

struct AbiVersion {
  int major = 0;
  int minor = 0;
};
// "MAJOR.MINOR": decimal without leading zeros, at most 9 digits each.
std::optional<AbiVersion> parseAbiVersion(std::string_view text);

// "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, UTC, no fraction, years 1970..9999) to epoch seconds;
// every field's range is checked, including the month's length (2027-02-30 is refused).
std::optional<std::int64_t> parseUtcTimestamp(std::string_view text);
// The inverse; empty outside years 1970..9999.
std::string formatUtcTimestamp(std::int64_t epochSeconds);

}  // namespace gatehouse::core::signing
