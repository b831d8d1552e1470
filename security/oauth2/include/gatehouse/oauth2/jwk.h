#pragma once
// JSON Web Key Sets (RFC 7517/7518) reduced to what a resource server may use: public signature
// keys, each pinned to exactly one asymmetric algorithm.
// Threads: KeySet::parse() may run on any thread; a parsed KeySet is immutable and may be read
// (find/size/only) from any number of threads concurrently. Keep it alive through the
// shared_ptr while any Jwk* taken from it is in use.

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

namespace gatehouse::oauth2 {

// The only algorithms ever accepted. HS* (symmetric) and "none" have no value here on purpose.
enum class Alg { RS256, PS256, ES256, EdDSA };

// Exact, case-sensitive JOSE name -> Alg; HS*, none, RS512, ... -> nullopt.
std::optional<Alg> algFromName(std::string_view name);
std::string_view algName(Alg alg);

struct Jwk {
  std::string kid;                // "" when the JWK had no kid
  Alg alg = Alg::RS256;           // the one algorithm this key verifies
  std::shared_ptr<EVP_PKEY> key;  // public key only; owned (EVP_PKEY_free on release)
};

class KeySet;

struct KeySetResult {
  std::shared_ptr<const KeySet> keys;  // null on error
  std::string error;                   // set iff !keys
  // One line per key that was left out ("key #2 (kid \"abc\"): private key material"); never
  // contains key material. Filled on success and on error.
  std::vector<std::string> skipped;
};

class KeySet {
 public:
  // Parses a JWKS document. Usable keys: kty RSA (n, e; modulus >= 2048 bits), EC (crv P-256,
  // x, y; point checked on the curve), OKP (crv Ed25519, x). A key is pinned to its "alg" when
  // present (RS256/PS256 for RSA, ES256 for EC, EdDSA for OKP), else RSA->RS256, EC->ES256,
  // OKP->EdDSA; its pinned alg must be in `allowed`. Skipped (and named in `skipped`): "use"
  // other than "sig", private members (d, p, q, dp, dq, qi, oth, k), unsupported kty/crv/alg,
  // malformed members, and a usable key whose kid an earlier usable key already has (the first
  // one stays). Error: not a JWKS object with a "keys" array, larger than
  // 1 MiB, more than 100 keys, or zero usable keys.
  static KeySetResult parse(std::string_view jwksJson, const std::vector<Alg>& allowed);

  // The key with this kid, or nullptr. The kid is only a map key: any bytes, any length.
  const Jwk* find(std::string_view kid) const;
  std::size_t size() const;
  // The single key when size() == 1 (for tokens without kid), else nullptr.
  const Jwk* only() const;

 private:
  KeySet() = default;
  std::map<std::string, Jwk, std::less<>> byKid_;
};

}  // namespace gatehouse::oauth2
