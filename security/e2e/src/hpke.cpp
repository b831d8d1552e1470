// RFC 9180 HPKE base mode from OpenSSL 3.0 primitives. See hpke.h.

#include "gatehouse/e2e/hpke.h"

#include "internal.h"

#include <array>
#include <limits>
#include <memory>
#include <utility>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace gatehouse::e2e::hpke {
namespace {

using kit::Result;

constexpr std::string_view kVersionLabel = "HPKE-v1";

struct PkeyFree { void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); } };
struct KdfFree { void operator()(EVP_KDF* p) const noexcept { EVP_KDF_free(p); } };
struct KdfCtxFree { void operator()(EVP_KDF_CTX* p) const noexcept { EVP_KDF_CTX_free(p); } };
struct CipherCtxFree { void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); } };
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using Kdf = std::unique_ptr<EVP_KDF, KdfFree>;
using KdfCtx = std::unique_ptr<EVP_KDF_CTX, KdfCtxFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

using detail::Secret;   // a std::string wiped when it goes out of scope (internal.h)

const unsigned char* u8(std::string_view v) noexcept { return reinterpret_cast<const unsigned char*>(v.data()); }
unsigned char* u8(std::string& v) noexcept { return reinterpret_cast<unsigned char*>(v.data()); }

void appendU16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

std::string kemSuiteId() {
  std::string id = "KEM";
  appendU16(id, kKemX25519HkdfSha256);
  return id;
}

std::string hpkeSuiteId(Aead aead) {
  std::string id = "HPKE";
  appendU16(id, kKemX25519HkdfSha256);
  appendU16(id, kKdfHkdfSha256);
  appendU16(id, static_cast<std::uint16_t>(aead));
  return id;
}

bool validAead(Aead aead) noexcept { return aead == Aead::Aes128Gcm || aead == Aead::Aes256Gcm; }

// HKDF-SHA256 through EVP_KDF "HKDF" in EXTRACT_ONLY or EXPAND_ONLY mode.
// An empty salt is never handed to OpenSSL as a zero-length octet string (so as not to depend on
// how 3.0's HKDF treats an empty/NULL HMAC key); RFC 5869 defines the empty salt as Nh zero bytes,
// which is what HMAC does with an empty key anyway, so extract() passes those explicitly.
Result<std::string> hkdf(int mode, std::string_view key, std::string_view salt, std::string_view info, std::size_t length) {
  // Fetched once (an explicit fetch per call is a provider lookup; a rewrap for 1000 subscribers
  // makes 8000 HKDF calls).
  static const Kdf kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return kit::internal("hpke: EVP_KDF_fetch(HKDF) failed");
  KdfCtx ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return kit::internal("hpke: EVP_KDF_CTX_new failed");
  char digest[] = "SHA256";
  std::array<OSSL_PARAM, 5> params{};
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(key.data()), key.size());
  if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size());
  } else {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  std::string out(length, '\0');
  if (EVP_KDF_derive(ctx.get(), u8(out), out.size(), params.data()) != 1) {
    wipe(out);
    return kit::internal("hpke: HKDF derive failed");
  }
  return out;
}

Result<std::string> extract(std::string_view salt, std::string_view ikm) {
  if (ikm.empty()) return kit::internal("hpke: HKDF-Extract with empty ikm");   // never: labels prefix it
  static const std::string kZeroSalt(kHashSize, '\0');
  return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, salt.empty() ? std::string_view(kZeroSalt) : salt, {}, kHashSize);
}

Result<std::string> expand(std::string_view prk, std::string_view info, std::size_t length) {
  if (length == 0 || length > 255 * kHashSize) return kit::badRequest("hpke: HKDF-Expand length out of range");
  return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, {}, info, length);
}

// LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm)
Result<std::string> labeledExtract(std::string_view suiteId, std::string_view salt, std::string_view label,
                                   std::string_view ikm) {
  Secret labeled;
  labeled.s.reserve(kVersionLabel.size() + suiteId.size() + label.size() + ikm.size());
  labeled.s.append(kVersionLabel).append(suiteId).append(label).append(ikm);
  return extract(salt, labeled.s);
}

// LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L)
Result<std::string> labeledExpand(std::string_view suiteId, std::string_view prk, std::string_view label,
                                  std::string_view info, std::size_t length) {
  if (length > 0xffff) return kit::badRequest("hpke: LabeledExpand length over 65535");
  std::string labeled;
  appendU16(labeled, static_cast<std::uint16_t>(length));
  labeled.append(kVersionLabel).append(suiteId).append(label).append(info);
  return expand(prk, labeled, length);
}

Result<Pkey> privateKey(std::string_view sk) {
  if (sk.size() != kX25519KeySize) return kit::badRequest("hpke: X25519 private key must be 32 bytes");
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, u8(sk), sk.size()));
  if (!key) return kit::internal("hpke: EVP_PKEY_new_raw_private_key failed");
  return key;
}

Result<std::string> rawPublic(EVP_PKEY* key) {
  std::string pk(kX25519KeySize, '\0');
  std::size_t len = pk.size();
  if (EVP_PKEY_get_raw_public_key(key, u8(pk), &len) != 1 || len != kX25519KeySize) {
    return kit::internal("hpke: EVP_PKEY_get_raw_public_key failed");
  }
  return pk;
}

// DH(sk, pk) = X25519(sk, pk), refusing an all-zero result (low-order pk, RFC 9180 section 7.1.4).
Result<std::string> dhWith(EVP_PKEY* key, std::string_view pk);
Result<std::string> dh(std::string_view sk, std::string_view pk) {
  if (pk.size() != kX25519KeySize) return kit::badRequest("hpke: X25519 public key must be 32 bytes");
  auto key = privateKey(sk);
  if (!key) return std::move(key).error();
  return dhWith(key->get(), pk);
}

// The same with an imported private key (the ephemeral key of encap is imported once).
Result<std::string> dhWith(EVP_PKEY* key, std::string_view pk) {
  if (pk.size() != kX25519KeySize) return kit::badRequest("hpke: X25519 public key must be 32 bytes");
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, u8(pk), pk.size()));
  if (!peer) return kit::badRequest("hpke: X25519 public key rejected");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx) return kit::internal("hpke: EVP_PKEY_CTX_new_from_pkey failed");
  if (EVP_PKEY_derive_init(ctx.get()) != 1) return kit::internal("hpke: EVP_PKEY_derive_init failed");
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) return kit::badRequest("hpke: X25519 peer key rejected");
  std::string out(kX25519KeySize, '\0');
  std::size_t len = out.size();
  // OpenSSL's X25519 derive is expected to fail by itself on an all-zero result, so a failure here
  // is reported as a rejected (low-order) peer key; the explicit zero check below stays regardless.
  if (EVP_PKEY_derive(ctx.get(), u8(out), &len) != 1 || len != kX25519KeySize) {
    wipe(out);
    return kit::badRequest("hpke: X25519 derivation failed (low-order peer key?)");
  }
  unsigned char acc = 0;
  for (char c : out) acc |= static_cast<unsigned char>(c);
  if (acc == 0) {
    wipe(out);
    return kit::badRequest("hpke: X25519 shared secret is all zero (low-order peer key)");
  }
  return out;
}

// ExtractAndExpand(dh, kem_context)
Result<std::string> extractAndExpand(std::string_view dhValue, std::string_view kemContext) {
  const std::string suite = kemSuiteId();
  auto prk = labeledExtract(suite, {}, "eae_prk", dhValue);
  if (!prk) return std::move(prk).error();
  Secret eaePrk(std::move(*prk));
  return labeledExpand(suite, eaePrk.s, "shared_secret", kemContext, kSharedSecretSize);
}

Result<std::string> aesGcm(bool encrypt, Aead aead, std::string_view key, std::string_view nonce, std::string_view aad,
                           std::string_view input) {
  if (!validAead(aead)) return kit::badRequest("hpke: unsupported AEAD");
  if (key.size() != keySize(aead) || nonce.size() != kNonceSize) return kit::internal("hpke: AEAD key or nonce size");
  if (!encrypt && input.size() < kTagSize) return kit::badRequest("hpke: ciphertext shorter than the 16-byte tag");
  if (input.size() > static_cast<std::size_t>(std::numeric_limits<int>::max() - 32) ||
      aad.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return kit::badRequest("hpke: message too large");
  }
  const EVP_CIPHER* cipher = aead == Aead::Aes128Gcm ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return kit::internal("hpke: EVP_CIPHER_CTX_new failed");
  const std::string_view body = encrypt ? input : input.substr(0, input.size() - kTagSize);
  if (EVP_CipherInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize), nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, u8(key), u8(nonce), encrypt ? 1 : 0) != 1) {
    return kit::internal("hpke: AES-GCM init failed");
  }
  int len = 0;
  if (!aad.empty() && EVP_CipherUpdate(ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size())) != 1) {
    return kit::internal("hpke: AES-GCM aad failed");
  }
  std::string out(body.size() + (encrypt ? kTagSize : 0), '\0');
  int written = 0;
  if (!body.empty()) {
    if (EVP_CipherUpdate(ctx.get(), u8(out), &len, u8(body), static_cast<int>(body.size())) != 1) {
      wipe(out);
      return kit::internal("hpke: AES-GCM update failed");
    }
    written = len;
  }
  if (!encrypt) {
    // The tag length is pinned to 16: OpenSSL 3.0 would otherwise accept a shorter tag.
    std::string tag(input.substr(input.size() - kTagSize));
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag.data()) != 1) {
      wipe(out);
      return kit::internal("hpke: AES-GCM set tag failed");
    }
  }
  // Final writes nothing for GCM, but the buffer is sized for it anyway (out has >= 16 spare bytes
  // when encrypting; when decrypting a scratch block is used).
  std::array<unsigned char, 32> scratch{};
  if (EVP_CipherFinal_ex(ctx.get(), scratch.data(), &len) != 1 || len != 0) {
    OPENSSL_cleanse(scratch.data(), scratch.size());
    wipe(out);
    if (!encrypt) return kit::badRequest("hpke: AEAD open failed (tag mismatch)");
    return kit::internal("hpke: AES-GCM final failed");
  }
  if (static_cast<std::size_t>(written) != body.size()) {
    wipe(out);
    return kit::internal("hpke: AES-GCM length mismatch");
  }
  if (encrypt) {
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), u8(out) + body.size()) != 1) {
      wipe(out);
      return kit::internal("hpke: AES-GCM get tag failed");
    }
  }
  return out;
}

// Encap with an ephemeral key already imported: one scalar multiplication for pkE (done when the
// key was made) and one for the DH, nothing re-derived.
Result<Encapsulation> encapWithKey(std::string_view pkR, EVP_PKEY* skE) {
  if (pkR.size() != kX25519KeySize) return kit::badRequest("hpke: recipient public key must be 32 bytes");
  auto pkE = rawPublic(skE);
  if (!pkE) return std::move(pkE).error();
  auto dhValue = dhWith(skE, pkR);
  if (!dhValue) return std::move(dhValue).error();
  Secret dhSecret(std::move(*dhValue));
  std::string kemContext = *pkE;
  kemContext.append(pkR);
  auto ss = extractAndExpand(dhSecret.s, kemContext);
  if (!ss) return std::move(ss).error();
  return Encapsulation(std::move(*ss), std::move(*pkE));
}

Result<Encapsulation> encapWith(std::string_view pkR, std::string_view skE) {
  if (pkR.size() != kX25519KeySize) return kit::badRequest("hpke: recipient public key must be 32 bytes");
  auto key = privateKey(skE);
  if (!key) return std::move(key).error();
  return encapWithKey(pkR, key->get());
}

// A fresh ephemeral X25519 key, generated inside OpenSSL (its private half never leaves it).
Result<Encapsulation> encapFresh(std::string_view pkR) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!key) return kit::internal("hpke: X25519 key generation failed");
  return encapWithKey(pkR, key.get());
}

}  // namespace

std::size_t keySize(Aead aead) noexcept { return aead == Aead::Aes256Gcm ? 32 : 16; }

void wipe(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

Result<KeyPair> generateKeyPair() {
  Secret sk(std::string(kX25519KeySize, '\0'));
  if (RAND_priv_bytes(u8(sk.s), static_cast<int>(sk.s.size())) != 1) return kit::internal("hpke: RAND_priv_bytes failed");
  auto pk = publicKeyOf(sk.s);
  if (!pk) return std::move(pk).error();
  return KeyPair(std::move(sk.s), std::move(*pk));
}

Result<KeyPair> deriveKeyPair(std::string_view ikm) {
  const std::string suite = kemSuiteId();
  auto prk = labeledExtract(suite, {}, "dkp_prk", ikm);
  if (!prk) return std::move(prk).error();
  Secret dkpPrk(std::move(*prk));
  auto sk = labeledExpand(suite, dkpPrk.s, "sk", {}, kX25519KeySize);
  if (!sk) return std::move(sk).error();
  Secret skS(std::move(*sk));
  auto pk = publicKeyOf(skS.s);
  if (!pk) return std::move(pk).error();
  return KeyPair(std::move(skS.s), std::move(*pk));
}

Result<std::string> publicKeyOf(std::string_view sk) {
  auto key = privateKey(sk);
  if (!key) return std::move(key).error();
  return rawPublic(key->get());
}

Result<Encapsulation> encap(std::string_view recipientPublicKey) { return encapFresh(recipientPublicKey); }

Result<Encapsulation> encapWithEphemeral(std::string_view recipientPublicKey, std::string_view ephemeralPrivateKey) {
  return encapWith(recipientPublicKey, ephemeralPrivateKey);
}

Result<std::string> decap(std::string_view enc, std::string_view recipientPrivateKey) {
  if (enc.size() != kX25519KeySize) return kit::badRequest("hpke: enc must be 32 bytes");
  auto dhValue = dh(recipientPrivateKey, enc);
  if (!dhValue) return std::move(dhValue).error();
  Secret dhSecret(std::move(*dhValue));
  auto pkR = publicKeyOf(recipientPrivateKey);
  if (!pkR) return std::move(pkR).error();
  std::string kemContext(enc);
  kemContext.append(*pkR);
  return extractAndExpand(dhSecret.s, kemContext);
}

// --- Context -------------------------------------------------------------------------------------

Context::Context(Aead aead, std::string key, std::string baseNonce, std::string exporterSecret)
    : aead_(aead), key_(std::move(key)), baseNonce_(std::move(baseNonce)), exporterSecret_(std::move(exporterSecret)) {}

Context::Context(Context&& other) noexcept
    : aead_(other.aead_),
      key_(std::move(other.key_)),
      baseNonce_(std::move(other.baseNonce_)),
      exporterSecret_(std::move(other.exporterSecret_)),
      seq_(other.seq_) {
  wipe(other.key_);
  wipe(other.baseNonce_);
  wipe(other.exporterSecret_);
}

Context& Context::operator=(Context&& other) noexcept {
  if (this != &other) {
    wipe(key_);
    wipe(baseNonce_);
    wipe(exporterSecret_);
    aead_ = other.aead_;
    key_ = std::move(other.key_);
    baseNonce_ = std::move(other.baseNonce_);
    exporterSecret_ = std::move(other.exporterSecret_);
    seq_ = other.seq_;
    wipe(other.key_);
    wipe(other.baseNonce_);
    wipe(other.exporterSecret_);
  }
  return *this;
}

Context::~Context() {
  wipe(key_);
  wipe(baseNonce_);
  wipe(exporterSecret_);
}

std::string Context::nonceFor(std::uint64_t seq) const {
  std::string nonce = baseNonce_;
  if (nonce.size() != kNonceSize) return nonce;
  for (std::size_t i = 0; i < sizeof(seq); ++i) {
    nonce[kNonceSize - 1 - i] = static_cast<char>(static_cast<unsigned char>(nonce[kNonceSize - 1 - i]) ^
                                                  static_cast<unsigned char>((seq >> (8 * i)) & 0xff));
  }
  return nonce;
}

Result<std::string> Context::seal(std::string_view aad, std::string_view plaintext) {
  // The RFC's limit is 2^96 - 1; a 64-bit counter reaches its own limit first.
  if (seq_ == std::numeric_limits<std::uint64_t>::max()) return kit::makeError(kit::ErrorCode::Conflict, "hpke: sequence number exhausted");
  auto ct = aesGcm(true, aead_, key_, nonceFor(seq_), aad, plaintext);
  if (!ct) return std::move(ct).error();
  ++seq_;
  return ct;
}

Result<std::string> Context::open(std::string_view aad, std::string_view ciphertext) {
  if (seq_ == std::numeric_limits<std::uint64_t>::max()) return kit::makeError(kit::ErrorCode::Conflict, "hpke: sequence number exhausted");
  auto pt = aesGcm(false, aead_, key_, nonceFor(seq_), aad, ciphertext);
  if (!pt) return std::move(pt).error();
  ++seq_;
  return pt;
}

Result<std::string> Context::exportSecret(std::string_view exporterContext, std::size_t length) const {
  if (length == 0 || length > 255 * kHashSize) return kit::badRequest("hpke: export length must be 1..8160");
  return labeledExpand(hpkeSuiteId(aead_), exporterSecret_, "sec", exporterContext, length);
}

// --- key schedule and setup ---------------------------------------------------------------------

Result<Context> keySchedule(Aead aead, std::string_view sharedSecret, std::string_view info) {
  if (!validAead(aead)) return kit::badRequest("hpke: unsupported AEAD");
  if (sharedSecret.size() != kSharedSecretSize) return kit::badRequest("hpke: shared secret must be 32 bytes");
  const std::string suite = hpkeSuiteId(aead);
  auto pskIdHash = labeledExtract(suite, {}, "psk_id_hash", {});
  if (!pskIdHash) return std::move(pskIdHash).error();
  auto infoHash = labeledExtract(suite, {}, "info_hash", info);
  if (!infoHash) return std::move(infoHash).error();
  std::string context(1, '\0');   // mode_base = 0x00
  context.append(*pskIdHash).append(*infoHash);
  auto secret = labeledExtract(suite, sharedSecret, "secret", {});   // psk = ""
  if (!secret) return std::move(secret).error();
  Secret secretS(std::move(*secret));
  auto key = labeledExpand(suite, secretS.s, "key", context, keySize(aead));
  if (!key) return std::move(key).error();
  Secret keyS(std::move(*key));
  auto nonce = labeledExpand(suite, secretS.s, "base_nonce", context, kNonceSize);
  if (!nonce) return std::move(nonce).error();
  Secret nonceS(std::move(*nonce));
  auto exporter = labeledExpand(suite, secretS.s, "exp", context, kHashSize);
  if (!exporter) return std::move(exporter).error();
  return Context(aead, std::move(keyS.s), std::move(nonceS.s), std::move(*exporter));
}

Result<SenderSetup> setupBaseSenderWithEphemeral(Aead aead, std::string_view recipientPublicKey, std::string_view info,
                                                 std::string_view ephemeralPrivateKey) {
  if (!validAead(aead)) return kit::badRequest("hpke: unsupported AEAD");
  auto e = encapWith(recipientPublicKey, ephemeralPrivateKey);
  if (!e) return std::move(e).error();
  auto ctx = keySchedule(aead, e->sharedSecret, info);
  if (!ctx) return std::move(ctx).error();
  return SenderSetup{std::move(e->enc), std::move(*ctx)};
}

Result<SenderSetup> setupBaseSender(Aead aead, std::string_view recipientPublicKey, std::string_view info) {
  if (!validAead(aead)) return kit::badRequest("hpke: unsupported AEAD");
  auto e = encapFresh(recipientPublicKey);
  if (!e) return std::move(e).error();
  auto ctx = keySchedule(aead, e->sharedSecret, info);
  if (!ctx) return std::move(ctx).error();
  return SenderSetup{std::move(e->enc), std::move(*ctx)};
}

Result<Context> setupBaseRecipient(Aead aead, std::string_view enc, std::string_view recipientPrivateKey,
                                   std::string_view info) {
  if (!validAead(aead)) return kit::badRequest("hpke: unsupported AEAD");
  auto ss = decap(enc, recipientPrivateKey);
  if (!ss) return std::move(ss).error();
  Secret ssS(std::move(*ss));
  return keySchedule(aead, ssS.s, info);
}

Result<Sealed> seal(Aead aead, std::string_view recipientPublicKey, std::string_view info, std::string_view aad,
                    std::string_view plaintext) {
  auto setup = setupBaseSender(aead, recipientPublicKey, info);
  if (!setup) return std::move(setup).error();
  auto ct = setup->context.seal(aad, plaintext);
  if (!ct) return std::move(ct).error();
  return Sealed{std::move(setup->enc), std::move(*ct)};
}

Result<std::string> open(Aead aead, std::string_view enc, std::string_view recipientPrivateKey, std::string_view info,
                         std::string_view aad, std::string_view ciphertext) {
  auto ctx = setupBaseRecipient(aead, enc, recipientPrivateKey, info);
  if (!ctx) return std::move(ctx).error();
  return ctx->open(aad, ciphertext);
}

Result<std::string> wrapInfo(std::string_view topic, std::uint64_t epoch, std::string_view subscriberKeyFingerprint) {
  if (topic.size() > 0xffff) return kit::badRequest("hpke: wrap info topic longer than 65535 bytes");
  if (subscriberKeyFingerprint.size() > 0xff) return kit::badRequest("hpke: wrap info fingerprint longer than 255 bytes");
  std::string info = "gatehouse-e2e-wrap-v1";
  appendU16(info, static_cast<std::uint16_t>(topic.size()));
  info.append(topic);
  for (int i = 7; i >= 0; --i) info.push_back(static_cast<char>((epoch >> (8 * i)) & 0xff));
  info.push_back(static_cast<char>(subscriberKeyFingerprint.size()));
  info.append(subscriberKeyFingerprint);
  return info;
}

}  // namespace gatehouse::e2e::hpke
