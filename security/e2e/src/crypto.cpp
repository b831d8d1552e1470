// Hashes, names and topics, Ed25519/X25519 keys and AES-256-GCM (e2e.h "small helpers" and "raw
// operations"), from OpenSSL 3.0 EVP.

#include <array>
#include <limits>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "gatehouse/kit/codec.h"
#include "internal.h"

namespace gatehouse::e2e {
namespace {

using detail::Pkey;

const unsigned char* u8p(std::string_view v) noexcept { return reinterpret_cast<const unsigned char*>(v.data()); }
unsigned char* u8p(std::string& v) noexcept { return reinterpret_cast<unsigned char*>(v.data()); }

struct MdCtxFree { void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); } };
struct CipherCtxFree { void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); } };
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// Fetched once: the implicit fetch of EVP_aes_256_gcm() costs a lookup on every init.
const EVP_CIPHER* aes256Gcm() noexcept {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

Result<std::string> rawPublic(EVP_PKEY* key) {
  std::string pk(detail::kKeySize, '\0');
  std::size_t len = pk.size();
  if (EVP_PKEY_get_raw_public_key(key, u8p(pk), &len) != 1 || len != detail::kKeySize) {
    return kit::internal("e2e: EVP_PKEY_get_raw_public_key failed");
  }
  return pk;
}

Result<KeyPair> fromPrivate(int type, std::string_view sk, const char* what) {
  if (sk.size() != detail::kKeySize) return kit::badRequest(std::string("e2e: ") + what + " private key must be 32 bytes");
  Pkey key(EVP_PKEY_new_raw_private_key(type, nullptr, u8p(sk), sk.size()));
  if (!key) return kit::internal(std::string("e2e: EVP_PKEY_new_raw_private_key failed for ") + what);
  auto pk = rawPublic(key.get());
  if (!pk) return std::move(pk).error();
  return KeyPair(std::string(sk), std::move(*pk));
}

Result<KeyPair> generate(int type, const char* what) {
  detail::Secret sk(std::string(detail::kKeySize, '\0'));
  if (RAND_priv_bytes(u8p(sk.s), static_cast<int>(sk.s.size())) != 1) return kit::internal("e2e: RAND_priv_bytes failed");
  return fromPrivate(type, sk.s, what);
}

bool validTopicBytes(std::string_view s) noexcept {
  return !s.empty() && s.size() <= 1024 && s.find('\0') == std::string_view::npos && kit::isValidUtf8(s);
}

}  // namespace

// --- helpers ---------------------------------------------------------------------------------------

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), u8p(out), &len, EVP_sha256(), nullptr) != 1) out.assign(32, '\0');
  return out;
}

std::string fingerprint(std::string_view publicKey) { return sha256(publicKey); }
std::string authorityKeyId(std::string_view authorityPublicKey) {
  return sha256(authorityPublicKey).substr(0, detail::kAuthorityKeyIdSize);
}

bool isValidId(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool isValidTopic(std::string_view topic) noexcept {
  return validTopicBytes(topic) && topic.find_first_of("+#") == std::string_view::npos;
}

bool isValidFilter(std::string_view filter) noexcept {
  if (!validTopicBytes(filter)) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = filter.find('/', start);
    const bool last = slash == std::string_view::npos;
    const std::string_view level = filter.substr(start, last ? std::string_view::npos : slash - start);
    if (level.find('+') != std::string_view::npos && level != "+") return false;
    if (level.find('#') != std::string_view::npos && (level != "#" || !last)) return false;
    if (last) return true;
    start = slash + 1;
  }
}

bool topicMatches(std::string_view filter, std::string_view topic) noexcept {
  std::size_t f = 0, t = 0;
  while (true) {
    const std::size_t fs = filter.find('/', f);
    const std::string_view flevel = filter.substr(f, fs == std::string_view::npos ? std::string_view::npos : fs - f);
    if (flevel == "#") return true;   // this level and everything below (also the parent: see below)
    if (t > topic.size()) {
      return false;
    }
    const std::size_t ts = topic.find('/', t);
    const std::string_view tlevel = topic.substr(t, ts == std::string_view::npos ? std::string_view::npos : ts - t);
    if (flevel != "+" && flevel != tlevel) return false;
    const bool fEnd = fs == std::string_view::npos, tEnd = ts == std::string_view::npos;
    if (fEnd && tEnd) return true;
    if (fEnd) return false;
    if (tEnd) {
      // The topic ends here: only "<...>/#" still matches (the parent level of '#').
      return filter.substr(fs + 1) == "#";
    }
    f = fs + 1;
    t = ts + 1;
  }
}

std::string requestTopic(std::string_view topic) { return std::string(topic) + "/_e2e/req"; }
std::string wrapTopic(std::string_view topic, std::string_view subscriberId) {
  return std::string(topic) + "/_e2e/wrap/" + std::string(subscriberId);
}

// --- keys ------------------------------------------------------------------------------------------

KeyPair::KeyPair(std::string sk, std::string pk) : privateKey(std::move(sk)), publicKey(std::move(pk)) {}
KeyPair::~KeyPair() { hpke::wipe(privateKey); }

Result<KeyPair> generateEd25519() { return generate(EVP_PKEY_ED25519, "Ed25519"); }
Result<KeyPair> generateX25519() { return generate(EVP_PKEY_X25519, "X25519"); }
Result<KeyPair> ed25519FromPrivate(std::string_view privateKey) { return fromPrivate(EVP_PKEY_ED25519, privateKey, "Ed25519"); }
Result<KeyPair> x25519FromPrivate(std::string_view privateKey) { return fromPrivate(EVP_PKEY_X25519, privateKey, "X25519"); }

Result<std::string> ed25519Sign(std::string_view privateKey, std::string_view message) {
  auto key = detail::ed25519PrivateKey(privateKey);
  if (!key) return std::move(key).error();
  return detail::ed25519SignWith(key->get(), message);
}

bool ed25519Verify(std::string_view publicKey, std::string_view message, std::string_view signature) noexcept {
  auto key = detail::ed25519PublicKey(publicKey);
  return key && detail::ed25519VerifyWith(key->get(), message, signature);
}

namespace detail {

Result<Pkey> ed25519PrivateKey(std::string_view sk) {
  if (sk.size() != kKeySize) return kit::badRequest("e2e: Ed25519 private key must be 32 bytes");
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, u8p(sk), sk.size()));
  if (!key) return kit::internal("e2e: EVP_PKEY_new_raw_private_key(Ed25519) failed");
  return key;
}

Result<Pkey> ed25519PublicKey(std::string_view pk) {
  if (pk.size() != kKeySize) return kit::badRequest("e2e: Ed25519 public key must be 32 bytes");
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, u8p(pk), pk.size()));
  if (!key) return kit::badRequest("e2e: Ed25519 public key rejected");
  return key;
}

Result<std::string> ed25519SignWith(EVP_PKEY* key, std::string_view message) {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
    return kit::internal("e2e: EVP_DigestSignInit(Ed25519) failed");
  }
  std::string sig(kSignatureSize, '\0');
  std::size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), u8p(sig), &len, u8p(message), message.size()) != 1 || len != kSignatureSize) {
    return kit::internal("e2e: EVP_DigestSign(Ed25519) failed");
  }
  return sig;
}

bool ed25519VerifyWith(EVP_PKEY* key, std::string_view message, std::string_view signature) noexcept {
  if (signature.size() != kSignatureSize || key == nullptr) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), u8p(signature), signature.size(), u8p(message), message.size()) == 1;
}

bool isLowOrderX25519(std::string_view pk) noexcept {
  if (pk.size() != kKeySize) return true;
  static const std::array<std::array<unsigned char, 32>, 7> kLowOrder = {{
      {0},                                                                    // 0
      {1},                                                                    // 1
      {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
       0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},   // order 8
      {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
       0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},   // order 8
      {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},   // p - 1
      {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},   // p
      {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},   // p + 1
  }};
  std::array<unsigned char, 32> k{};
  for (std::size_t i = 0; i < 32; ++i) k[i] = static_cast<unsigned char>(pk[i]);
  k[31] &= 0x7f;
  for (const auto& bad : kLowOrder) {
    if (k == bad) return true;
  }
  return false;
}

std::string dataNonce(std::string_view iv, std::string_view prefix4, std::uint64_t seq) {
  std::string nonce(iv);
  for (std::size_t i = 0; i < 4; ++i) nonce[i] = static_cast<char>(nonce[i] ^ prefix4[i]);
  for (std::size_t i = 0; i < 8; ++i) {
    nonce[4 + i] = static_cast<char>(static_cast<unsigned char>(nonce[4 + i]) ^ ((seq >> (8 * (7 - i))) & 0xff));
  }
  return nonce;
}

std::string dataAad(std::string_view topic, std::uint64_t epoch, std::uint64_t seq, std::string_view publisherId) {
  Writer w;
  w.out.reserve(kAadLabel.size() + 2 + topic.size() + 17 + publisherId.size());
  w.bytes(kAadLabel);
  w.str16(topic);
  w.u64(epoch);
  w.u64(seq);
  w.str8(publisherId);
  return std::move(w.out);
}

std::string dataSigningInput(std::string_view topic, std::string_view signedPart) {
  Writer w;
  w.out.reserve(kDataLabel.size() + 2 + topic.size() + signedPart.size());
  w.bytes(kDataLabel);
  w.str16(topic);
  w.bytes(signedPart);
  return std::move(w.out);
}

}  // namespace detail

// --- AES-256-GCM -----------------------------------------------------------------------------------

Result<std::string> aes256GcmSeal(std::string_view key, std::string_view nonce, std::string_view aad,
                                  std::string_view plaintext) {
  if (key.size() != 32 || nonce.size() != 12) return kit::badRequest("e2e: AES-256-GCM key must be 32 bytes, nonce 12");
  if (plaintext.size() > static_cast<std::size_t>(std::numeric_limits<int>::max() - 32) ||
      aad.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return kit::makeError(kit::ErrorCode::TooLarge, "e2e: AES-256-GCM input too large");
  }
  const EVP_CIPHER* cipher = aes256Gcm();
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (cipher == nullptr || !ctx || EVP_EncryptInit_ex2(ctx.get(), cipher, u8p(key), u8p(nonce), nullptr) != 1) {
    return kit::internal("e2e: AES-256-GCM init failed");
  }
  int len = 0;
  if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, u8p(aad), static_cast<int>(aad.size())) != 1) {
    return kit::internal("e2e: AES-256-GCM aad failed");
  }
  std::string out(plaintext.size() + kTagSize, '\0');
  if (!plaintext.empty() &&
      (EVP_EncryptUpdate(ctx.get(), u8p(out), &len, u8p(plaintext), static_cast<int>(plaintext.size())) != 1 ||
       static_cast<std::size_t>(len) != plaintext.size())) {
    hpke::wipe(out);
    return kit::internal("e2e: AES-256-GCM update failed");
  }
  std::array<unsigned char, 32> scratch{};
  if (EVP_EncryptFinal_ex(ctx.get(), scratch.data(), &len) != 1 || len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), u8p(out) + plaintext.size()) != 1) {
    hpke::wipe(out);
    return kit::internal("e2e: AES-256-GCM final failed");
  }
  return out;
}

Result<std::string> aes256GcmOpen(std::string_view key, std::string_view nonce, std::string_view aad,
                                  std::string_view ciphertextAndTag) {
  if (key.size() != 32 || nonce.size() != 12) return kit::badRequest("e2e: AES-256-GCM key must be 32 bytes, nonce 12");
  // The tag is pinned to 16 bytes: OpenSSL 3.0 would accept EVP_CTRL_GCM_SET_TAG with fewer.
  if (ciphertextAndTag.size() < kTagSize) return kit::badRequest("e2e: ciphertext shorter than the 16-byte tag");
  if (ciphertextAndTag.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      aad.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return kit::makeError(kit::ErrorCode::TooLarge, "e2e: AES-256-GCM input too large");
  }
  const std::string_view body = ciphertextAndTag.substr(0, ciphertextAndTag.size() - kTagSize);
  std::array<unsigned char, kTagSize> tag{};
  for (std::size_t i = 0; i < kTagSize; ++i) tag[i] = static_cast<unsigned char>(ciphertextAndTag[body.size() + i]);
  const EVP_CIPHER* cipher = aes256Gcm();
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (cipher == nullptr || !ctx || EVP_DecryptInit_ex2(ctx.get(), cipher, u8p(key), u8p(nonce), nullptr) != 1) {
    return kit::internal("e2e: AES-256-GCM init failed");
  }
  int len = 0;
  if (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, u8p(aad), static_cast<int>(aad.size())) != 1) {
    return kit::internal("e2e: AES-256-GCM aad failed");
  }
  std::string out(body.size(), '\0');
  if (!body.empty() && (EVP_DecryptUpdate(ctx.get(), u8p(out), &len, u8p(body), static_cast<int>(body.size())) != 1 ||
                        static_cast<std::size_t>(len) != body.size())) {
    hpke::wipe(out);
    return kit::internal("e2e: AES-256-GCM update failed");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag.data()) != 1) {
    hpke::wipe(out);
    return kit::internal("e2e: AES-256-GCM set tag failed");
  }
  std::array<unsigned char, 32> scratch{};
  if (EVP_DecryptFinal_ex(ctx.get(), scratch.data(), &len) != 1 || len != 0) {
    hpke::wipe(out);
    return kit::badRequest("e2e: AES-256-GCM open failed (tag mismatch)");
  }
  return out;
}

}  // namespace gatehouse::e2e
