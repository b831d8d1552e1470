// JWKS import. Every key is built with OpenSSL 3 EVP_PKEY_fromdata from its public members only,
// checked (RSA size and exponent, EC point on the curve), and pinned to one algorithm so that a
// token can never choose how a key is used (RFC 8725 section 3.1).

#include "gatehouse/oauth2/jwk.h"

#include <array>
#include <cstring>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json.h"

namespace gatehouse::oauth2 {

using kit::Json;

std::optional<Alg> algFromName(std::string_view name) {
  if (name == "RS256") return Alg::RS256;
  if (name == "PS256") return Alg::PS256;
  if (name == "ES256") return Alg::ES256;
  if (name == "EdDSA") return Alg::EdDSA;
  return std::nullopt;
}

std::string_view algName(Alg alg) {
  switch (alg) {
    case Alg::RS256: return "RS256";
    case Alg::PS256: return "PS256";
    case Alg::ES256: return "ES256";
    case Alg::EdDSA: return "EdDSA";
  }
  return "?";
}

const Jwk* KeySet::find(std::string_view kid) const {
  auto it = byKid_.find(kid);
  return it == byKid_.end() ? nullptr : &it->second;
}

std::size_t KeySet::size() const { return byKid_.size(); }

const Jwk* KeySet::only() const { return byKid_.size() == 1 ? &byKid_.begin()->second : nullptr; }

namespace {

constexpr std::size_t kMaxJwksBytes = 1024 * 1024;
constexpr std::size_t kMaxKeys = 100;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;  // OpenSSL's own verify limit; also bounds verification cost

struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct CtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;
struct BldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};

std::shared_ptr<EVP_PKEY> ownKey(EVP_PKEY* raw) { return std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free); }

// A key outcome: either a key or the reason it was skipped.
struct Built {
  std::shared_ptr<EVP_PKEY> key;
  const char* reason = nullptr;
};

Built skip(const char* reason) { return Built{nullptr, reason}; }

// The base64url-decoded value of a required string member.
std::optional<std::string> bytesMember(const Json& jwk, std::string_view name) {
  const Json* v = jwk.find(name);
  if (v == nullptr || v->kind != Json::Kind::String) return std::nullopt;
  auto bytes = kit::base64UrlDecode(v->text);
  if (!bytes) return std::nullopt;
  return std::move(*bytes);
}

BnPtr toBn(const std::string& bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

EVP_PKEY* fromData(const char* type, OSSL_PARAM* params) {
  CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return nullptr;
  }
  return pkey;
}

Built buildRsa(const Json& jwk) {
  auto n = bytesMember(jwk, "n");
  auto e = bytesMember(jwk, "e");
  if (!n || !e || n->empty() || e->empty()) return skip("RSA key needs base64url members n and e");
  if (n->size() > kMaxRsaBits / 8 + 1 || e->size() > 8) return skip("RSA key too large");
  BnPtr bnN = toBn(*n), bnE = toBn(*e);
  if (!bnN || !bnE) return skip("RSA key could not be read");
  if (BN_num_bits(bnN.get()) < kMinRsaBits) return skip("RSA modulus shorter than 2048 bits");
  if (BN_num_bits(bnN.get()) > kMaxRsaBits) return skip("RSA modulus longer than 16384 bits");
  if (!BN_is_odd(bnN.get())) return skip("RSA modulus is even");
  if (!BN_is_odd(bnE.get()) || BN_num_bits(bnE.get()) < 2) return skip("RSA exponent must be odd and >= 3");
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bnN.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bnE.get()) != 1) {
    return skip("RSA key could not be imported");
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  EVP_PKEY* pkey = params ? fromData("RSA", params.get()) : nullptr;
  if (pkey == nullptr) return skip("RSA key could not be imported");
  return Built{ownKey(pkey), nullptr};
}

Built buildEc(const Json& jwk) {
  const Json* crv = jwk.find("crv");
  if (crv == nullptr || crv->kind != Json::Kind::String || crv->text != "P-256") return skip("EC curve is not P-256");
  auto x = bytesMember(jwk, "x");
  auto y = bytesMember(jwk, "y");
  if (!x || !y || x->size() != 32 || y->size() != 32) return skip("EC key needs 32-byte base64url members x and y");
  std::array<unsigned char, 65> point{};
  point[0] = 0x04;  // uncompressed SEC1 point
  std::memcpy(point.data() + 1, x->data(), 32);
  std::memcpy(point.data() + 33, y->data(), 32);
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* raw = fromData("EC", params);
  if (raw == nullptr) return skip("EC point is not on P-256");
  auto pkey = ownKey(raw);
  // fromdata already decodes the point onto the curve; the explicit check also rejects the point
  // at infinity and points outside the prime-order subgroup, whatever the provider does.
  CtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return skip("EC point is not on P-256");
  return Built{pkey, nullptr};
}

Built buildOkp(const Json& jwk) {
  const Json* crv = jwk.find("crv");
  if (crv == nullptr || crv->kind != Json::Kind::String || crv->text != "Ed25519") return skip("OKP curve is not Ed25519");
  auto x = bytesMember(jwk, "x");
  if (!x || x->size() != 32) return skip("OKP key needs a 32-byte base64url member x");
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr,
                                                 reinterpret_cast<const unsigned char*>(x->data()), x->size());
  if (raw == nullptr) return skip("Ed25519 key could not be imported");
  return Built{ownKey(raw), nullptr};
}

// kid as it may appear in a skipped-key line: printable ASCII only, bounded length.
std::string printableKid(const std::string& kid) {
  std::string out;
  for (char c : kid) {
    if (out.size() >= 64) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') ? c : '?';
  }
  return out;
}

bool contains(const std::vector<Alg>& algs, Alg a) {
  for (Alg x : algs) {
    if (x == a) return true;
  }
  return false;
}

}  // namespace

KeySetResult KeySet::parse(std::string_view jwksJson, const std::vector<Alg>& allowed) {
  KeySetResult result;
  if (jwksJson.size() > kMaxJwksBytes) {
    result.error = "JWKS larger than 1 MiB";
    return result;
  }
  auto doc = kit::parseJson(jwksJson, kit::JsonLimits{kMaxJwksBytes, 16});
  if (!doc) {
    result.error = "JWKS is not valid JSON (" + doc.message() + ")";
    return result;
  }
  const Json* keys = doc->find("keys");
  if (keys == nullptr || keys->kind != Json::Kind::Array) {
    result.error = "JWKS has no \"keys\" array";
    return result;
  }
  if (keys->items.size() > kMaxKeys) {
    result.error = "JWKS has more than 100 keys";
    return result;
  }

  std::shared_ptr<KeySet> set(new KeySet());
  for (std::size_t i = 0; i < keys->items.size(); ++i) {
    const Json& jwk = keys->items[i];
    std::string label = "keys[" + std::to_string(i) + "]";
    auto skipped = [&](const std::string& reason) { result.skipped.push_back(label + ": " + reason); };
    if (jwk.kind != Json::Kind::Object) {
      skipped("not an object");
      continue;
    }
    std::string kid;
    if (const Json* k = jwk.find("kid")) {
      if (k->kind != Json::Kind::String) {
        skipped("kid is not a string");
        continue;
      }
      kid = k->text;
      label += " (kid \"" + printableKid(kid) + "\")";
    }
    const Json* use = jwk.find("use");
    if (use != nullptr && (use->kind != Json::Kind::String || use->text != "sig")) {
      skipped("use is not \"sig\"");
      continue;
    }
    if (const Json* ops = jwk.find("key_ops")) {
      bool verify = false;
      if (ops->kind == Json::Kind::Array) {
        for (const Json& op : ops->items) verify = verify || (op.kind == Json::Kind::String && op.text == "verify");
      }
      if (!verify) {
        skipped("key_ops does not include \"verify\"");
        continue;
      }
    }
    bool hasPrivate = false;
    for (const char* m : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) hasPrivate = hasPrivate || jwk.find(m) != nullptr;
    if (hasPrivate) {
      skipped("contains private or symmetric key material");
      continue;
    }
    const Json* kty = jwk.find("kty");
    if (kty == nullptr || kty->kind != Json::Kind::String) {
      skipped("kty missing");
      continue;
    }
    Alg defaultAlg;
    if (kty->text == "RSA") {
      defaultAlg = Alg::RS256;
    } else if (kty->text == "EC") {
      defaultAlg = Alg::ES256;
    } else if (kty->text == "OKP") {
      defaultAlg = Alg::EdDSA;
    } else {
      skipped("unsupported kty");
      continue;
    }
    Alg alg = defaultAlg;
    if (const Json* a = jwk.find("alg")) {
      std::optional<Alg> named = a->kind == Json::Kind::String ? algFromName(a->text) : std::nullopt;
      bool fits = named && (defaultAlg == Alg::RS256 ? (*named == Alg::RS256 || *named == Alg::PS256) : *named == defaultAlg);
      if (!fits) {
        skipped("unsupported alg for this kty");
        continue;
      }
      alg = *named;
    }
    if (!contains(allowed, alg)) {
      skipped("alg " + std::string(algName(alg)) + " is not allowed");
      continue;
    }
    Built built = defaultAlg == Alg::RS256 ? buildRsa(jwk) : defaultAlg == Alg::ES256 ? buildEc(jwk) : buildOkp(jwk);
    ERR_clear_error();  // failed imports leave entries in this thread's OpenSSL error queue
    if (!built.key) {
      skipped(built.reason);
      continue;
    }
    if (set->byKid_.count(kid) != 0) {
      skipped("duplicate kid");
      continue;
    }
    set->byKid_.emplace(kid, Jwk{kid, alg, std::move(built.key)});
  }
  if (set->byKid_.empty()) {
    result.error = "JWKS has no usable signature key";
    return result;
  }
  result.keys = std::move(set);
  return result;
}

}  // namespace gatehouse::oauth2
