// Compact JWS verification. Order matters: size and shape, then header, then key and algorithm
// agreement, then the signature, and only then the payload (RFC 8725 sections 3.1 and 3.2).

#include "gatehouse/oauth2/jws.h"

#include <array>
#include <cstring>
#include <memory>
#include <new>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "gatehouse/oauth2/base64url.h"

namespace gatehouse::oauth2 {

namespace {

constexpr std::size_t kMaxTokenBytes = 8192;
constexpr JsonLimits kTokenJsonLimits{kMaxTokenBytes, 16};

// Order n of the P-256 group (SEC 2), big-endian: ECDSA needs 0 < r, s < n.
constexpr std::array<unsigned char, 32> kP256Order = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct SigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};

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

// JOSE's raw r||s (RFC 7518 section 3.4) -> the DER ECDSA-Sig-Value OpenSSL verifies.
std::optional<std::string> es256ToDer(const std::string& raw) {
  if (raw.size() != 64) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  if (!scalarInRange(bytes) || !scalarInRange(bytes + 32)) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
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

// True only when OpenSSL says the signature verifies (1); 0 and negative errors both fail.
bool verifySignature(const Jwk& jwk, std::string_view signingInput, const std::string& signature) {
  EVP_PKEY* key = jwk.key.get();
  if (key == nullptr || !keyMatches(key, jwk.alg)) return false;
  std::string sig = signature;
  switch (jwk.alg) {
    case Alg::RS256:
    case Alg::PS256:
      if (static_cast<int>(sig.size()) != EVP_PKEY_get_size(key)) return false;
      break;
    case Alg::ES256: {
      auto der = es256ToDer(sig);
      if (!der) return false;
      sig = std::move(*der);
      break;
    }
    case Alg::EdDSA:
      if (sig.size() != 64) return false;
      break;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  const EVP_MD* md = jwk.alg == Alg::EdDSA ? nullptr : EVP_sha256();
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) return false;
  if (jwk.alg == Alg::PS256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1) {
      return false;
    }
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                            reinterpret_cast<const unsigned char*>(signingInput.data()), signingInput.size());
  return rc == 1;
}

bool contains(const std::vector<Alg>& algs, Alg a) {
  for (Alg x : algs) {
    if (x == a) return true;
  }
  return false;
}

JwsResult verifyImpl(std::string_view token, const KeySet& keys, const std::vector<Alg>& allowed) {
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

  auto headerBytes = base64UrlDecode(headerB64);
  if (!headerBytes) return failure("header is not base64url");
  JsonResult header = parseJsonStrict(*headerBytes, kTokenJsonLimits);
  if (!header.value || header.value->type != Json::Type::Object) return failure("header is not a JSON object");

  const Json* algMember = header.value->find("alg");
  if (algMember == nullptr || algMember->type != Json::Type::String) return failure("header has no alg");
  std::optional<Alg> alg = algFromName(algMember->text);
  if (!alg) return failure("algorithm not supported");
  if (!contains(allowed, *alg)) return failure("algorithm not allowed");
  // RFC 7515 section 4.1.11: extensions we do not implement must not be ignored; we implement none.
  if (header.value->find("crit") != nullptr) return failure("crit header not supported");

  // Only kid selects the key; jwk/jku/x5u/x5c/x5t are deliberately never read.
  const Jwk* jwk = nullptr;
  std::string kid;
  if (const Json* kidMember = header.value->find("kid")) {
    if (kidMember->type != Json::Type::String) return failure("header kid is not a string");
    kid = kidMember->text;
    jwk = keys.find(kid);
    if (jwk == nullptr) return failure("unknown key id", true);
  } else {
    jwk = keys.only();
    if (jwk == nullptr) return failure("token has no kid and the key set has more than one key");
  }
  if (jwk->alg != *alg) return failure("algorithm not allowed for this key");

  auto signature = base64UrlDecode(signatureB64);
  if (!signature) return failure("signature is not base64url");
  bool verified = verifySignature(*jwk, token.substr(0, dot2), *signature);
  ERR_clear_error();  // do not leave failed-verify entries in this thread's OpenSSL error queue
  if (!verified) return failure("signature does not verify");

  auto payloadBytes = base64UrlDecode(payloadB64);
  if (!payloadBytes) return failure("payload is not base64url");
  JsonResult payload = parseJsonStrict(*payloadBytes, kTokenJsonLimits);
  if (!payload.value || payload.value->type != Json::Type::Object) return failure("payload is not a JSON object");

  JwsResult result;
  result.ok = JwsVerified{std::move(*header.value), std::move(*payload.value), std::move(kid), *alg};
  return result;
}

}  // namespace

JwsResult verifyCompact(std::string_view token, const KeySet& keys, const std::vector<Alg>& allowed) {
  try {
    return verifyImpl(token, keys, allowed);
  } catch (const std::bad_alloc&) {
    return failure("out of memory while verifying the token");
  }
}

}  // namespace gatehouse::oauth2
