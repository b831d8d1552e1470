#pragma once
// Compact JWS verification (RFC 7515/7518, RFC 8725) with OpenSSL 3 EVP.
// Threads: verifyCompact() may be called from any thread concurrently (the KeySet is immutable).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatehouse/oauth2/json.h"
#include "gatehouse/oauth2/jwk.h"

namespace gatehouse::oauth2 {

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

}  // namespace gatehouse::oauth2
