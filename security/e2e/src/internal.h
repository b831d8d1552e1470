#pragma once
// Internal helpers of gatehouse_e2e: the wire codec (big-endian integers, str8/str16), RAII
// wrappers of the OpenSSL handles used here, and the encoders of the signed messages. Not
// installed; only src/*.cpp include it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "gatehouse/e2e/e2e.h"
#include "gatehouse/e2e/hpke.h"

namespace gatehouse::e2e::detail {

inline constexpr std::string_view kCertMagic = "GHC";
inline constexpr std::string_view kCrlMagic = "GHR";
inline constexpr std::string_view kMessageMagic = "GHE";
inline constexpr std::string_view kCertLabel = "gh-e2e-cert-v1";
inline constexpr std::string_view kCrlLabel = "gh-e2e-crl-v1";
inline constexpr std::string_view kDataLabel = "gh-e2e-data-v1";
inline constexpr std::string_view kWrapLabel = "gh-e2e-wrap-v1";
inline constexpr std::string_view kAadLabel = "gh-e2e-aad-v1";
inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kSignatureSize = 64;
inline constexpr std::size_t kAuthorityKeyIdSize = 8;
inline constexpr std::size_t kContentKeySize = 32;
inline constexpr std::size_t kIvSize = 12;
inline constexpr std::size_t kSealedSize = kContentKeySize + kIvSize + kTagSize;   // 60
inline constexpr std::size_t kMaxFilters = 32;
inline constexpr std::size_t kMaxCrlSerials = 100000;
inline constexpr std::uint64_t kMaxSeq = 0xfffffffffffffffeULL;   // 2^64 - 2 (6.2)

// A std::string wiped (OPENSSL_cleanse) when it goes out of scope.
struct Secret {
  std::string s;
  Secret() = default;
  explicit Secret(std::string v) : s(std::move(v)) {}
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& o) noexcept : s(std::move(o.s)) { hpke::wipe(o.s); }
  Secret& operator=(Secret&& o) noexcept {
    if (this != &o) {
      hpke::wipe(s);
      s = std::move(o.s);
      hpke::wipe(o.s);
    }
    return *this;
  }
  ~Secret() { hpke::wipe(s); }
};

// --- wire codec ------------------------------------------------------------------------------------
struct Writer {
  std::string out;
  void u8(std::uint8_t v) { out.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { be(v, 2); }
  void u32(std::uint32_t v) { be(v, 4); }
  void u64(std::uint64_t v) { be(v, 8); }
  void i64(std::int64_t v) { be(static_cast<std::uint64_t>(v), 8); }
  void bytes(std::string_view b) { out.append(b); }
  void str8(std::string_view b) { u8(static_cast<std::uint8_t>(b.size())); bytes(b); }     // caller checks <= 255
  void str16(std::string_view b) { u16(static_cast<std::uint16_t>(b.size())); bytes(b); }  // caller checks <= 65535
  void be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
};

// Reads fields off the front of a byte string; any read past the end sets ok = false and returns
// zeros / an empty view from then on.
struct Reader {
  std::string_view in;
  std::size_t pos = 0;
  bool ok = true;
  explicit Reader(std::string_view b) : in(b) {}
  std::string_view bytes(std::size_t n) {
    if (!ok || in.size() - pos < n) {
      ok = false;
      return {};
    }
    std::string_view v = in.substr(pos, n);
    pos += n;
    return v;
  }
  std::uint64_t be(std::size_t n) {
    std::string_view b = bytes(n);
    std::uint64_t v = 0;
    for (char c : b) v = (v << 8) | static_cast<unsigned char>(c);
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(be(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(be(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(be(4)); }
  std::uint64_t u64() { return be(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(be(8)); }
  std::string_view str8() { return bytes(u8()); }
  std::string_view str16() { return bytes(u16()); }
  bool done() const noexcept { return ok && pos == in.size(); }
  std::size_t offset() const noexcept { return pos; }
};

// --- OpenSSL handles -------------------------------------------------------------------------------
struct PkeyFree { void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); } };
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// An Ed25519 key imported once (signing with a cached EVP_PKEY avoids re-deriving the public key
// on every signature).
Result<Pkey> ed25519PrivateKey(std::string_view privateKey);
Result<Pkey> ed25519PublicKey(std::string_view publicKey);
Result<std::string> ed25519SignWith(EVP_PKEY* key, std::string_view message);
bool ed25519VerifyWith(EVP_PKEY* key, std::string_view message, std::string_view signature) noexcept;

// X25519 public keys of small order (RFC 7748 section 6.1 / the "blacklist" of the curve), compared
// with bit 255 cleared because X25519 ignores it.
bool isLowOrderX25519(std::string_view publicKey) noexcept;

// Checks the authority key id and signature of a structurally parsed certificate.
Result<void> checkCertificateSignature(const Certificate& cert, std::string_view authorityPublicKey);

// The 12-byte data nonce of 4.1: IV XOR (prefix4 || u64(seq)), prefix4 = SHA256(publisher_id)[0..4].
std::string dataNonce(std::string_view iv, std::string_view prefix4, std::uint64_t seq);
// The data AAD of 4.1.
std::string dataAad(std::string_view topic, std::uint64_t epoch, std::uint64_t seq, std::string_view publisherId);
// The bytes the data signature covers: "gh-e2e-data-v1" || str16(topic) || signedPart.
std::string dataSigningInput(std::string_view topic, std::string_view signedPart);
// Data message up to (excluding) the signature.
std::string encodeDataBody(std::string_view publisherId, std::uint64_t epoch, std::uint64_t seq, std::string_view ct);
// Key wrap up to (excluding) the signature.
std::string encodeWrapBody(std::string_view topic, std::string_view publisherCert, std::string_view fingerprint,
                           std::uint64_t epoch, std::string_view enc, std::string_view sealed);
std::string wrapSigningInput(std::string_view signedPart);

}  // namespace gatehouse::e2e::detail
