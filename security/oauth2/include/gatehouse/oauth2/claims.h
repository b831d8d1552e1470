#pragma once
// Access-token claim checks (RFC 9068, RFC 8725, Keycloak shapes) on a token whose signature
// already verified, and role extraction from configurable claim paths.
// Threads: checkClaims() is pure (the rvalue overload only changes the token it is given); call it
// from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gatehouse/oauth2/jws.h"

namespace gatehouse::oauth2 {

struct ClaimRules {
  std::string issuer;         // exact string compare: no trailing-slash, scheme or case normalisation
  std::string audience;       // `aud` (string or array of strings) must contain it exactly
  std::int64_t leewayS = 30;  // clock skew allowed on exp/nbf/iat; callers keep it <= 60 (negative -> 0)
  std::int64_t now = 0;       // unix seconds (injected so tests control the clock)
  // Dot-separated member paths, e.g. "realm_access.roles", "resource_access.gatehouse.roles",
  // "scope", "groups". An array of strings gives one role per item, a string one role per
  // space-separated word; missing paths or other types give nothing.
  std::vector<std::string> roleClaims;
};

struct Principal {
  std::string subject;   // sub ("" when absent)
  std::string jti;       // jti ("" when absent)
  std::string clientId;  // client_id (RFC 9068), else azp (Keycloak), else ""
  std::int64_t expires = 0;  // exp, unix seconds
  std::vector<std::string> roles;  // de-duplicated, first-seen order
};

struct ClaimsResult {
  std::optional<Principal> ok;
  std::string error;  // set iff !ok; names the claim that failed, never its value
};

// Fails closed: an empty rules.issuer or rules.audience never matches.
ClaimsResult checkClaims(const JwsVerified& token, const ClaimRules& rules);

// The same checks for a token the caller no longer needs: the principal's strings are moved out
// of token.payload (left in a valid but unspecified state) instead of copied, and the clock is
// `nowUnix` (rules.now is not read), so one ClaimRules can be shared by all threads unchanged.
ClaimsResult checkClaims(JwsVerified&& token, const ClaimRules& rules, std::int64_t nowUnix);

}  // namespace gatehouse::oauth2
