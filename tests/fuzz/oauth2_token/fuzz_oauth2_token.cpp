// Fuzzes the bearer-token path of security/oauth2 with arbitrary bytes: verifyCompact() against a
// fixed key set (one EC P-256 key generated in-process at first use; nothing stored), then the
// same bytes through the kit's JSON reader with a token's limits and its base64UrlDecode().
// Invariants checked besides "no crash": every failure has an error text, a decoded base64url
// string re-encodes to the input (canonical form), and a parsed JSON document's numbers and
// nesting respect the limits.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json.h"
#include "gatehouse/oauth2/claims.h"
#include "gatehouse/oauth2/jwk.h"
#include "gatehouse/oauth2/jws.h"

using namespace gatehouse::oauth2;
using gatehouse::kit::base64UrlDecode;
using gatehouse::kit::base64UrlEncode;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "oauth2_token: %s\n", what);
  std::abort();
}

std::string coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) fail("cannot read the generated key");
  std::string out(32, '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_free(bn);
  return out;
}

// Two key sets over the same public key: one found by kid ("fuzz", "other"), one kid-less key
// that tokens without kid reach through KeySet::only().
struct Fixture {
  std::shared_ptr<const KeySet> withKid;
  std::shared_ptr<const KeySet> single;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    if (key == nullptr) fail("EC key generation failed");
    std::string members = "\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" +
                          base64UrlEncode(coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X)) + "\",\"y\":\"" +
                          base64UrlEncode(coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y)) + "\"";
    EVP_PKEY_free(key);
    Fixture out;
    auto a = KeySet::parse("{\"keys\":[{" + members + ",\"kid\":\"fuzz\"},{" + members + ",\"kid\":\"other\"}]}",
                           {Alg::ES256});
    auto b = KeySet::parse("{\"keys\":[{" + members + "}]}", {Alg::ES256});
    if (!a.keys || !b.keys) fail("fixture key set does not parse");
    out.withKid = a.keys;
    out.single = b.keys;
    return out;
  }();
  return f;
}

void checkTree(const Json& v, int containerDepth, int maxDepth) {
  bool container = v.isArray() || v.isObject();
  if (container && containerDepth + 1 > maxDepth) fail("parsed JSON deeper than the limit");
  if (v.isNumber() && v.text.empty()) fail("number without source text");
  for (const Json& item : v.items) checkTree(item, containerDepth + 1, maxDepth);
  for (const auto& m : v.members) checkTree(m.value, containerDepth + 1, maxDepth);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Fixture& f = fixture();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  static const std::vector<Alg> allowed{Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA};

  for (const KeySet* keys : {f.withKid.get(), f.single.get()}) {
    JwsResult r = verifyCompact(input, *keys, allowed);
    if (r.ok.has_value() == !r.error.empty()) fail("verifyCompact: exactly one of ok/error must be set");
    if (r.ok) {
      // Practically unreachable without the private key; if it ever happens the claims path runs too.
      ClaimRules rules;
      rules.issuer = "https://idp.example";
      rules.audience = "gatehouse";
      rules.roleClaims = {"realm_access.roles", "scope"};
      ClaimsResult c = checkClaims(*r.ok, rules);
      if (c.ok.has_value() == !c.error.empty()) fail("checkClaims: exactly one of ok/error must be set");
    }
  }

  gatehouse::kit::JsonLimits limits{4096, 8};
  auto j = gatehouse::kit::parseJson(input, limits);
  if (!j && j.message().empty()) fail("parseJson: a refusal without a message");
  if (j) checkTree(*j, 0, limits.maxDepth);

  if (auto decoded = base64UrlDecode(input)) {
    if (base64UrlEncode(*decoded) != input) fail("base64UrlDecode accepted a non-canonical encoding");
  }
  return 0;
}
