#pragma once
// Compact JWS verification (RFC 7515/7518, RFC 8725) with OpenSSL 3 EVP.
// Threads: verifyCompact() and sha256Digest() may be called from any thread concurrently (the KeySet
// is immutable).

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatehouse/kit/json.h"
#include "gatehouse/oauth2/jwk.h"

namespace gatehouse::oauth2 {

// Tokens, JWKS and discovery documents are read with the kit's strict JSON reader (kit/json.h).
using kit::Json;

// A token whose signature verified. Nothing in payload has been checked yet: use checkClaims().
struct JwsVerified {
  Json header;
  Json payload;
  std::string kid;  // the header's kid ("" when absent)
  Alg alg = Alg::RS256;
};

struct JwsResult {
  std::optional<JwsVerified> ok;
  std::string error;        // set iff !ok; a constant text, never token bytes
  bool unknownKid = false;  // the header's kid is not in `keys`: the caller may refresh the JWKS once
};

// Verifies a compact JWS: <= 8192 bytes, exactly three segments, strict base64url, header and
// payload strict JSON objects, header alg in `allowed` and equal to the key's pinned alg, no
// `crit`. The key is found only by `kid` (or KeySet::only() when there is no kid); header
// jwk/jku/x5u/x5c/x5t are never used. The payload is parsed only after the signature verified.
JwsResult verifyCompact(std::string_view token, const KeySet& keys, const std::vector<Alg>& allowed);

// SHA-256 of a compact JWS's signing input: the token's bytes before its second '.'.
using SigningInputSha256 = std::array<unsigned char, 32>;

// The same verification for a caller that hashed the token already and kept the SHA-256 of its
// signing input on the way (see ResourceServer): RS256, PS256 and ES256 then verify that digest
// instead of hashing the input again; EdDSA (which hashes internally) ignores it. The signature is
// then checked against the digest, not the bytes: it must be the digest of exactly this token's
// signing input, computed by the caller from the same bytes.
JwsResult verifyCompact(std::string_view token, const KeySet& keys, const std::vector<Alg>& allowed,
                        const SigningInputSha256& signingInputSha256);

// SHA-256 from OpenSSL's default library context, fetched once per process (EVP_MD_fetch) so hot
// paths do not pay an implicit fetch per call; used for RS256/PS256/ES256 and by the
// ResourceServer's cache key. nullptr only if OpenSSL has no SHA-256 (callers then fail closed).
// Threads: any thread; the returned object is immutable and never freed.
const EVP_MD* sha256Digest();

}  // namespace gatehouse::oauth2
