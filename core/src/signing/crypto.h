#pragma once
// Ed25519 keys, SHA-256 and base64 for plugin signing. OpenSSL stays behind this header: the
// key classes hold it through an opaque shared handle.
//
// Threads: PublicKey and PrivateKey are immutable after creation; any thread may use one
// (including concurrently: OpenSSL 3 keys are safe for concurrent sign/verify). Free functions
// have no shared state.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "gatehouse/kit/codec.h"

namespace gatehouse::core::signing {

// Lowercase hex SHA-256 of `bytes`.
std::string sha256Hex(std::string_view bytes);

// Standard base64 (RFC 4648 section 4) with padding: the kit's codec.
using kit::base64Encode;
// The kit's strict decoder (gatehouse/kit/codec.h), its message prefixed with "invalid base64: ".
Result<std::string> base64Decode(std::string_view text);

namespace detail {
struct KeyHandle;   // the EVP_PKEY, defined in crypto.cpp
}

// An Ed25519 public key. Copies share one immutable OpenSSL key.
class PublicKey {
 public:
  // A PEM "PUBLIC KEY" (SubjectPublicKeyInfo) holding an Ed25519 key; BadRequest otherwise
  // (including other key types, saying which).
  static Result<PublicKey> fromPem(std::string_view pem);
  // The 32 raw key bytes (RFC 8032).
  static Result<PublicKey> fromRaw(std::string_view raw);

  // First 16 lowercase hex digits of SHA-256 over the 32 raw key bytes.
  const std::string& keyId() const { return keyId_; }
  const std::string& raw() const { return raw_; }
  std::string toPem() const;
  // True only for a valid 64-byte Ed25519 signature of `message` by this key.
  bool verify(std::string_view message, std::string_view signature) const;

 private:
  PublicKey(std::shared_ptr<const detail::KeyHandle> key, std::string raw);
  std::shared_ptr<const detail::KeyHandle> key_;
  std::string raw_;
  std::string keyId_;
};

// An Ed25519 private key. Copies share one immutable OpenSSL key.
class PrivateKey {
 public:
  static Result<PrivateKey> generate();
  // An unencrypted PEM private key (PKCS#8 "PRIVATE KEY") holding an Ed25519 key. Encrypted keys
  // are refused (no passphrase prompt).
  static Result<PrivateKey> fromPem(std::string_view pem);
  // Reads a PEM key file; NotAllowed when group or others may read or write it (mode & 077),
  // saying to chmod 600 it. NotFound when missing.
  static Result<PrivateKey> loadFile(const std::string& path);

  std::string toPem() const;   // PKCS#8, unencrypted: keep it secret
  PublicKey publicKey() const;
  // The 64-byte Ed25519 signature of `message`; empty only if OpenSSL fails (out of memory).
  std::string sign(std::string_view message) const;

 private:
  PrivateKey(std::shared_ptr<const detail::KeyHandle> key, PublicKey pub);
  static Result<PrivateKey> adopt(std::shared_ptr<const detail::KeyHandle> key);
  std::shared_ptr<const detail::KeyHandle> key_;
  PublicKey public_;
};

// Writes `key` as PEM to privatePath (created with O_EXCL, mode 0600: never overwrites) and its
// public key to publicPath (also O_EXCL, mode 0644). Conflict when either file exists; when the
// public key cannot be written the private file just created is removed again. Both files are
// fsync'ed.
Result<void> writeKeyPair(const PrivateKey& key, const std::string& privatePath, const std::string& publicPath);

}  // namespace gatehouse::core::signing
