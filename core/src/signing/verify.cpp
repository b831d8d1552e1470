#include "signing/verify.h"

#include "signing/semver.h"
#include "signing/text_util.h"

namespace gatehouse::core::signing {

namespace {

VerifyOutcome refuse(VerifyOutcome out, VerifyFailure failure, std::string reason) {
  out.failure = failure;
  out.reason = std::move(reason);
  return out;
}

std::string timeText(std::int64_t t) {
  std::string s = formatUtcTimestamp(t);
  return s.empty() ? std::to_string(t) + " (epoch seconds)" : s;
}

}  // namespace

const char* toString(VerifyFailure failure) {
  switch (failure) {
    case VerifyFailure::None: return "none";
    case VerifyFailure::File: return "file";
    case VerifyFailure::Signature: return "signature";
    case VerifyFailure::UnknownKey: return "unknown_key";
    case VerifyFailure::Revoked: return "revoked";
    case VerifyFailure::Expired: return "expired";
    case VerifyFailure::HashMismatch: return "hash_mismatch";
    case VerifyFailure::Rollback: return "rollback";
    case VerifyFailure::Abi: return "abi";
    case VerifyFailure::Malformed: return "malformed";
  }
  return "unknown";
}

VerifyOutcome verifySignature(const SealedImage& image, std::string_view sigFileText, const VerifyPolicy& policy) {
  VerifyOutcome out;
  if (image.fd() < 0) return refuse(std::move(out), VerifyFailure::File, "the plugin image is not open (moved from?)");

  auto parsed = parseSignatureFile(sigFileText);
  if (!parsed.ok()) return refuse(std::move(out), VerifyFailure::Malformed, parsed.error().message);
  out.signature = std::move(*parsed);
  const Manifest& m = out.signature.manifest;
  const std::string plugin = "plugin " + detail::quoted(m.name, 64);

  const PublicKey* key = policy.trust != nullptr ? policy.trust->find(m.keyId) : nullptr;
  if (key == nullptr) {
    const std::string where = policy.trust != nullptr ? "the trust store " + policy.trust->directory() : "any trust store";
    return refuse(std::move(out), VerifyFailure::UnknownKey,
                  plugin + " is signed with key " + m.keyId + ", which is not in " + where +
                      "; add that key's .pub file there only if you trust it");
  }
  if (policy.revoked != nullptr && policy.revoked->isRevoked(m.keyId)) {
    return refuse(std::move(out), VerifyFailure::Revoked,
                  plugin + " is signed with key " + m.keyId + ", which is on the revocation list; re-sign it with a current key");
  }
  if (!key->verify(out.signature.manifestLine, out.signature.signature)) {
    return refuse(std::move(out), VerifyFailure::Signature,
                  plugin + ": the signature by key " + m.keyId +
                      " does not verify over the manifest; the .sig file was altered or made with another key");
  }
  if (policy.nowEpochSeconds > m.notAfter) {
    return refuse(std::move(out), VerifyFailure::Expired,
                  plugin + ": the signature expired at " + m.notAfterText + " (now " + timeText(policy.nowEpochSeconds) +
                      "); re-sign it with a later not_after");
  }
  if (m.size != image.size() || m.sha256Hex != image.sha256Hex()) {
    return refuse(std::move(out), VerifyFailure::HashMismatch,
                  plugin + ": the file does not match its signed manifest: file is " + std::to_string(image.size()) +
                      " bytes with sha256 " + image.sha256Hex() + ", manifest says " + std::to_string(m.size) +
                      " bytes with sha256 " + m.sha256Hex);
  }
  const auto abi = parseAbiVersion(m.abi);
  const auto host = parseAbiVersion(policy.hostAbi);
  if (!host) {
    return refuse(std::move(out), VerifyFailure::Abi, "the host ABI " + detail::quoted(policy.hostAbi) + " is not MAJOR.MINOR");
  }
  if (!abi || abi->major != host->major || abi->minor > host->minor) {
    return refuse(std::move(out), VerifyFailure::Abi,
                  plugin + " is built for ABI " + m.abi + "; this gateway implements ABI " + policy.hostAbi +
                      " (same major, minor at most " + std::to_string(host->minor) + " needed)");
  }
  if (policy.versions != nullptr) {
    const auto version = parseSemVer(m.version);   // valid: parseManifest checked it
    const auto mark = policy.versions->highWater(m.name);
    if (version && mark && compare(*version, *mark) < 0) {
      return refuse(std::move(out), VerifyFailure::Rollback,
                    plugin + " version " + m.version + " is older than " + toString(*mark) +
                        ", which was loaded before (high-water mark in " + policy.versions->filePath() +
                        "); install " + toString(*mark) + " or later");
    }
  }
  return out;
}

}  // namespace gatehouse::core::signing
