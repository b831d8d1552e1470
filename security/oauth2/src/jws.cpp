// Compact JWS verification. Order matters: size and shape, then header, then key and algorithm
// agreement, then the signature, and only then the payload (RFC 8725 sections 3.1 and 3.2).

#include "gatehouse/oauth2/jws.h"

#include <array>
#include <cstring>
#include <memory>
#include <new>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "gatehouse/kit/codec.h"

namespace gatehouse::oauth2 {

namespace {

constexpr std::size_t kMaxTokenBytes = 8192;
constexpr kit::JsonLimits kTokenJsonLimits{kMaxTokenBytes, 16};

// Order n of the P-256 group (SEC 2), big-endian: ECDSA needs 0 < r, s < n.
constexpr std::array<unsigned char, 32> kP256Order = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};

// Largest decoded segment: a token is at most kMaxTokenBytes characters of base64url.
constexpr std::size_t kMaxDecodedBytes = kMaxTokenBytes / 4 * 3 + 2;

JwsResult failure(const char* text, bool unknownKid = false) {
  JwsResult r;
  r.error = text;
  r.unknownKid = unknownKid;
  return r;
}

bool scalarInRange(const unsigned char* v) {
  bool nonZero = false;
  for (int i = 0; i < 32; ++i) nonZero = nonZero || v[i] != 0;
  return nonZero && std::memcmp(v, kP256Order.data(), 32) < 0;
}

// DER INTEGER of a 32-byte big-endian non-zero scalar, minimal form (X.690 8.3.2: no redundant
// leading zero bytes, a 0x00 in front when the high bit is set). Returns the bytes written (<= 35).
std::size_t derInteger(const unsigned char* v, unsigned char* out) {
  std::size_t skip = 0;
  while (skip < 31 && v[skip] == 0) ++skip;
  const std::size_t pad = (v[skip] & 0x80) != 0 ? 1 : 0;
  const std::size_t len = 32 - skip + pad;
  out[0] = 0x02;
  out[1] = static_cast<unsigned char>(len);
  if (pad != 0) out[2] = 0x00;
  std::memcpy(out + 2 + pad, v + skip, 32 - skip);
  return 2 + len;
}

// JOSE's raw r||s (RFC 7518 section 3.4) -> the DER ECDSA-Sig-Value OpenSSL verifies, written into
// `der` (kMaxEs256Der bytes). Both scalars must be in [1, n-1]. Returns the DER size, 0 on refusal.
constexpr std::size_t kMaxEs256Der = 2 + 2 * 35;
std::size_t es256ToDer(const unsigned char* raw, std::size_t rawSize, unsigned char* der) {
  if (rawSize != 64) return 0;
  if (!scalarInRange(raw) || !scalarInRange(raw + 32)) return 0;
  std::size_t len = derInteger(raw, der + 2);
  len += derInteger(raw + 32, der + 2 + len);  // at most 70: the short length form suffices
  der[0] = 0x30;
  der[1] = static_cast<unsigned char>(len);
  return 2 + len;
}

bool keyMatches(const EVP_PKEY* key, Alg alg) {
  switch (alg) {
    case Alg::RS256:
    case Alg::PS256: return EVP_PKEY_is_a(key, "RSA") == 1;
    case Alg::ES256: return EVP_PKEY_is_a(key, "EC") == 1;
    case Alg::EdDSA: return EVP_PKEY_is_a(key, "ED25519") == 1;
  }
  return false;
}

// One EVP_MD_CTX per thread, reset after every use (so it holds no key between tokens): saves an
// allocation and a free per token. The thread's verifications never nest, so one is enough.
EVP_MD_CTX* threadMdCtx() {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

// True only when OpenSSL says the signature verifies (1); 0 and negative errors both fail.
bool verifySignature(const Jwk& jwk, std::string_view signingInput, const SigningInputSha256* digest,
                     const unsigned char* sigBytes, std::size_t sigSize) {
  EVP_PKEY* key = jwk.key.get();
  if (key == nullptr || !keyMatches(key, jwk.alg)) return false;
  unsigned char der[kMaxEs256Der];
  switch (jwk.alg) {
    case Alg::RS256:
    case Alg::PS256:
      if (static_cast<int>(sigSize) != EVP_PKEY_get_size(key)) return false;
      break;
    case Alg::ES256:
      sigSize = es256ToDer(sigBytes, sigSize, der);
      if (sigSize == 0) return false;
      sigBytes = der;
      break;
    case Alg::EdDSA:
      if (sigSize != 64) return false;
      break;
  }
  const EVP_MD* md = nullptr;
  if (jwk.alg != Alg::EdDSA) {
    md = sha256Digest();
    if (md == nullptr) return false;
  }
  if (digest != nullptr && md != nullptr) {
    // The caller hashed the signing input already: verify that digest (same checks as
    // EVP_DigestVerify: PKCS#1 v1.5 DigestInfo with SHA-256, PSS with SHA-256, ECDSA over it).
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> pctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!pctx || EVP_PKEY_verify_init(pctx.get()) != 1 || EVP_PKEY_CTX_set_signature_md(pctx.get(), md) != 1) {
      return false;
    }
    if (jwk.alg == Alg::PS256 && (EVP_PKEY_CTX_set_rsa_padding(pctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
                                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx.get(), 32) != 1)) {
      return false;
    }
    return EVP_PKEY_verify(pctx.get(), sigBytes, sigSize, digest->data(), digest->size()) == 1;
  }
  EVP_MD_CTX* ctx = threadMdCtx();
  if (ctx == nullptr) return false;
  struct Reset {
    EVP_MD_CTX* c;
    ~Reset() { EVP_MD_CTX_reset(c); }
  } reset{ctx};
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key) != 1) return false;
  // PS256 = PSS with SHA-256, MGF1 with SHA-256, salt 32 (RFC 7518 section 3.5). OpenSSL's MGF1
  // digest defaults to the signature digest, so only padding and salt length are set.
  if (jwk.alg == Alg::PS256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1) {
      return false;
    }
  }
  int rc = EVP_DigestVerify(ctx, sigBytes, sigSize, reinterpret_cast<const unsigned char*>(signingInput.data()),
                            signingInput.size());
  return rc == 1;
}

bool contains(const std::vector<Alg>& algs, Alg a) {
  for (Alg x : algs) {
    if (x == a) return true;
  }
  return false;
}

JwsResult verifyImpl(std::string_view token, const KeySet& keys, const std::vector<Alg>& allowed,
                     const SigningInputSha256* digest) {
  if (token.size() > kMaxTokenBytes) return failure("token larger than 8192 bytes");
  std::size_t dot1 = token.find('.');
  std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return failure("token does not have exactly three segments");
  }
  std::string_view headerB64 = token.substr(0, dot1);
  std::string_view payloadB64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signatureB64 = token.substr(dot2 + 1);
  if (signatureB64.empty()) return failure("token has no signature");

  // One scratch buffer for the three decoded segments in turn (header, signature, payload): each
  // is used up before the next is decoded, and none of them needs a heap allocation.
  unsigned char buf[kMaxDecodedBytes];
  auto asText = [&buf](std::size_t size) { return std::string_view(reinterpret_cast<const char*>(buf), size); };
  auto headerSize = kit::base64UrlDecodeInto(headerB64, buf, sizeof buf);
  if (!headerSize) return failure("header is not base64url");
  auto header = kit::parseJson(asText(*headerSize), kTokenJsonLimits);
  if (!header || !header->isObject()) return failure("header is not a JSON object");

  const Json* algMember = header->find("alg");
  if (algMember == nullptr || algMember->kind != Json::Kind::String) return failure("header has no alg");
  std::optional<Alg> alg = algFromName(algMember->text);
  if (!alg) return failure("algorithm not supported");
  if (!contains(allowed, *alg)) return failure("algorithm not allowed");
  // RFC 7515 section 4.1.11: extensions we do not implement must not be ignored; we implement none.
  if (header->find("crit") != nullptr) return failure("crit header not supported");

  // Only kid selects the key; jwk/jku/x5u/x5c/x5t are deliberately never read.
  const Jwk* jwk = nullptr;
  std::string kid;
  if (const Json* kidMember = header->find("kid")) {
    if (kidMember->kind != Json::Kind::String) return failure("header kid is not a string");
    kid = kidMember->text;
    jwk = keys.find(kid);
    if (jwk == nullptr) return failure("unknown key id", true);
  } else {
    jwk = keys.only();
    if (jwk == nullptr) return failure("token has no kid and the key set has more than one key");
  }
  if (jwk->alg != *alg) return failure("algorithm not allowed for this key");

  auto signatureSize = kit::base64UrlDecodeInto(signatureB64, buf, sizeof buf);
  if (!signatureSize) return failure("signature is not base64url");
  bool verified = verifySignature(*jwk, token.substr(0, dot2), digest, buf, *signatureSize);
  // Do not leave failed-verify entries in this thread's OpenSSL error queue. A successful verify
  // leaves none, so the (cheaper) peek skips the clear then.
  if (!verified || ERR_peek_error() != 0) ERR_clear_error();
  if (!verified) return failure("signature does not verify");

  auto payloadSize = kit::base64UrlDecodeInto(payloadB64, buf, sizeof buf);
  if (!payloadSize) return failure("payload is not base64url");
  auto payload = kit::parseJson(asText(*payloadSize), kTokenJsonLimits);
  if (!payload || !payload->isObject()) return failure("payload is not a JSON object");

  JwsResult result;
  result.ok = JwsVerified{std::move(*header), std::move(*payload), std::move(kid), *alg};
  return result;
}

}  // namespace

const EVP_MD* sha256Digest() {
  // Fetched once (thread-safe static initialisation): EVP_sha256() would make every
  // EVP_DigestVerifyInit/EVP_Digest fetch the implementation again. Kept for the process.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

JwsResult verifyCompact(std::string_view token, const KeySet& keys, const std::vector<Alg>& allowed) {
  try {
    return verifyImpl(token, keys, allowed, nullptr);
  } catch (const std::bad_alloc&) {
    return failure("out of memory while verifying the token");
  }
}

JwsResult verifyCompact(std::string_view token, const KeySet& keys, const std::vector<Alg>& allowed,
                        const SigningInputSha256& signingInputSha256) {
  try {
    return verifyImpl(token, keys, allowed, &signingInputSha256);
  } catch (const std::bad_alloc&) {
    return failure("out of memory while verifying the token");
  }
}

}  // namespace gatehouse::oauth2
