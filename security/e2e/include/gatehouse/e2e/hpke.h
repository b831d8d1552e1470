#pragma once
// gatehouse::e2e::hpke: RFC 9180 HPKE, base mode only (mode_base, no PSK, no sender auth), for
// one KEM and KDF: DHKEM(X25519, HKDF-SHA256) (kem_id 0x0020) with HKDF-SHA256 (kdf_id 0x0001),
// and the AEADs AES-128-GCM (0x0001) and AES-256-GCM (0x0002), 16-byte tags pinned.
//
// Composed from OpenSSL 3.0 primitives (Debian 12's OpenSSL 3.0 has no HPKE API): X25519 through
// EVP_PKEY raw keys and EVP_PKEY_derive, HKDF through EVP_KDF "HKDF" (EXTRACT_ONLY / EXPAND_ONLY),
// AES-GCM through EVP_CIPHER_CTX. Checked against the RFC 9180 appendix A test vectors.
//
// This is the key-wrap brick of security/e2e (docs/e2e-protocol.md, section 4.3): a publisher wraps an epoch's
// content key for a subscriber's certified X25519 key with seal(), using wrapInfo() so that the
// wrap is bound to topic, epoch and the subscriber key's fingerprint.
//
// Byte strings are std::string (as in the kit's codecs). Secret members are wiped on destruction.
// No exceptions cross this API except std::bad_alloc; every failure is a kit::Error:
// BadRequest for malformed input (wrong key or enc size, low-order peer key, ciphertext shorter
// than a tag, tag mismatch), Conflict for an exhausted sequence number, Internal for OpenSSL failures.
//
// Threads: free functions are reentrant; a Context is a plain value that must not be used from
// two threads at once (seal/open advance its sequence number).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gatehouse/kit/result.h"

namespace gatehouse::e2e::hpke {

inline constexpr std::uint16_t kKemX25519HkdfSha256 = 0x0020;
inline constexpr std::uint16_t kKdfHkdfSha256 = 0x0001;
inline constexpr std::size_t kX25519KeySize = 32;      // Nsk = Npk = Nenc = 32
inline constexpr std::size_t kSharedSecretSize = 32;   // Nsecret
inline constexpr std::size_t kHashSize = 32;           // Nh of HKDF-SHA256
inline constexpr std::size_t kNonceSize = 12;          // Nn
inline constexpr std::size_t kTagSize = 16;            // Nt, pinned

enum class Aead : std::uint16_t { Aes128Gcm = 0x0001, Aes256Gcm = 0x0002 };
std::size_t keySize(Aead aead) noexcept;  // Nk: 16 or 32

// Overwrites the bytes of `s` with zeros (OPENSSL_cleanse) and empties it.
void wipe(std::string& s) noexcept;

// An X25519 key pair, raw 32-byte encodings (RFC 7748). The private key is wiped on destruction.
struct KeyPair {
  std::string privateKey;
  std::string publicKey;
  KeyPair() = default;
  KeyPair(std::string sk, std::string pk) : privateKey(std::move(sk)), publicKey(std::move(pk)) {}
  KeyPair(const KeyPair&) = default;
  KeyPair(KeyPair&&) noexcept = default;
  KeyPair& operator=(const KeyPair&) = default;
  KeyPair& operator=(KeyPair&&) noexcept = default;
  ~KeyPair() { wipe(privateKey); }
};

// A fresh random key pair.
kit::Result<KeyPair> generateKeyPair();
// DeriveKeyPair(ikm) of RFC 9180 section 7.1.3 (deterministic; ikm should have >= 32 bytes of entropy).
kit::Result<KeyPair> deriveKeyPair(std::string_view ikm);
// The public key of a raw X25519 private key.
kit::Result<std::string> publicKeyOf(std::string_view privateKey);

// Encap result: the KEM shared secret (wiped on destruction) and enc (the ephemeral public key).
struct Encapsulation {
  std::string sharedSecret;
  std::string enc;
  Encapsulation() = default;
  Encapsulation(std::string ss, std::string e) : sharedSecret(std::move(ss)), enc(std::move(e)) {}
  Encapsulation(const Encapsulation&) = default;
  Encapsulation(Encapsulation&&) noexcept = default;
  Encapsulation& operator=(const Encapsulation&) = default;
  Encapsulation& operator=(Encapsulation&&) noexcept = default;
  ~Encapsulation() { wipe(sharedSecret); }
};

// DHKEM Encap(pkR) with a fresh ephemeral key.
kit::Result<Encapsulation> encap(std::string_view recipientPublicKey);
// The same with a given ephemeral private key (known-answer tests only: never reuse skE).
kit::Result<Encapsulation> encapWithEphemeral(std::string_view recipientPublicKey, std::string_view ephemeralPrivateKey);
// DHKEM Decap(enc, skR).
kit::Result<std::string> decap(std::string_view enc, std::string_view recipientPrivateKey);

// An HPKE encryption context (RFC 9180 section 5.2), base mode. Secrets wiped on destruction.
class Context {
 public:
  Context(Aead aead, std::string key, std::string baseNonce, std::string exporterSecret);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  Context(Context&& other) noexcept;
  Context& operator=(Context&& other) noexcept;
  ~Context();

  // Seal(aad, pt) / Open(aad, ct) at the current sequence number, which then advances. Open
  // returns an error and no plaintext when the tag does not verify; the sequence number then does
  // not advance (RFC 9180 section 5.2).
  kit::Result<std::string> seal(std::string_view aad, std::string_view plaintext);
  kit::Result<std::string> open(std::string_view aad, std::string_view ciphertext);
  // Export(exporter_context, L), L <= 255 * 32.
  kit::Result<std::string> exportSecret(std::string_view exporterContext, std::size_t length) const;

  Aead aead() const noexcept { return aead_; }
  std::uint64_t sequence() const noexcept { return seq_; }
  // The nonce for sequence number `seq`: base_nonce XOR I2OSP(seq, Nn).
  std::string nonceFor(std::uint64_t seq) const;
  // For known-answer tests.
  const std::string& key() const noexcept { return key_; }
  const std::string& baseNonce() const noexcept { return baseNonce_; }
  const std::string& exporterSecret() const noexcept { return exporterSecret_; }
  // Sets the sequence number (known-answer tests jump to 255, 256; never reuse a number to seal).
  void setSequenceForTesting(std::uint64_t seq) noexcept { seq_ = seq; }

 private:
  Aead aead_;
  std::string key_;
  std::string baseNonce_;
  std::string exporterSecret_;
  std::uint64_t seq_ = 0;
};

// KeySchedule(mode_base, shared_secret, info, "", "") of RFC 9180 section 5.1.
kit::Result<Context> keySchedule(Aead aead, std::string_view sharedSecret, std::string_view info);

struct SenderSetup {
  std::string enc;
  Context context;
};
// SetupBaseS(pkR, info) / SetupBaseR(enc, skR, info).
kit::Result<SenderSetup> setupBaseSender(Aead aead, std::string_view recipientPublicKey, std::string_view info);
kit::Result<SenderSetup> setupBaseSenderWithEphemeral(Aead aead, std::string_view recipientPublicKey,
                                                      std::string_view info, std::string_view ephemeralPrivateKey);
kit::Result<Context> setupBaseRecipient(Aead aead, std::string_view enc, std::string_view recipientPrivateKey,
                                        std::string_view info);

// Single-shot APIs (RFC 9180 section 6.1), base mode: one message per fresh ephemeral key.
struct Sealed {
  std::string enc;
  std::string ciphertext;   // AEAD ciphertext || 16-byte tag
};
kit::Result<Sealed> seal(Aead aead, std::string_view recipientPublicKey, std::string_view info,
                         std::string_view aad, std::string_view plaintext);
kit::Result<std::string> open(Aead aead, std::string_view enc, std::string_view recipientPrivateKey,
                              std::string_view info, std::string_view aad, std::string_view ciphertext);

// The HPKE info of a gatehouse content-key wrap: binds topic, epoch and the subscriber key's
// fingerprint so that a wrap made for one (topic, epoch, subscriber) opens for no other.
// Encoding: "gatehouse-e2e-wrap-v1" || u16be(len topic) || topic || u64be(epoch)
//           || u8(len fingerprint) || fingerprint. BadRequest if topic > 65535 or fingerprint > 255 bytes.
kit::Result<std::string> wrapInfo(std::string_view topic, std::uint64_t epoch, std::string_view subscriberKeyFingerprint);

}  // namespace gatehouse::e2e::hpke
