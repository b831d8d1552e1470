#pragma once
// ResourceServer: turns a bearer token into a Principal, or says why not (docs/security.md).
//
// authenticate() verifies the compact JWS against the KeySource's keys (asymmetric algorithms
// only, each key pinned to its algorithm), asks the KeySource once for fresh keys when the token
// names an unknown kid (the KeySource limits that to one fetch per cooldown), then checks the
// claims (exp required, nbf/iat, iss exact, aud, access-token type) and extracts the roles.
// A verified token is cached by its SHA-256 until it expires, so a repeated token costs one hash
// and one map lookup; failures are never cached. The cache holds at most `cacheEntries` tokens.
//
// Errors are fixed texts naming what failed, never the token or a claim's value.
// Threads: authenticate() may be called from any number of threads at once.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gatehouse/oauth2/claims.h"
#include "gatehouse/oauth2/jwk.h"
#include "gatehouse/oauth2/jws.h"
#include "gatehouse/oauth2/key_source.h"

namespace gatehouse::oauth2 {

struct ResourceServerOptions {
  std::string issuer;
  std::string audience;
  std::int64_t leewayS = 30;
  std::vector<std::string> roleClaims{"realm_access.roles", "scope", "groups"};
  std::vector<Alg> allowedAlgs{Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA};
  std::size_t cacheEntries = 10000;
  // RFC 7662 introspection of tokens that are not JWTs (opaque tokens): sent to the discovery
  // document's introspection_endpoint, authenticated with these client credentials (HTTP Basic).
  // Empty client id: introspection is off and such tokens are refused. An active answer must
  // pass the same claim checks as a JWT (exp, iss, aud, roles); it is cached until its exp, but
  // at most introspectionCacheMaxS, so a revoked token stops working within that time.
  std::string introspectionClientId;
  std::string introspectionClientSecret;   // never logged
  std::int64_t introspectionCacheMaxS = 60;
};

struct Authentication {
  std::shared_ptr<const Principal> principal;   // set when the token is valid
  std::string error;                            // otherwise: why (for the 401's error_description)
};

class ResourceServer {
 public:
  // post: used for introspection (makeHttpPost() in production); may be empty when it is off.
  ResourceServer(ResourceServerOptions options, std::shared_ptr<KeySource> keys, HttpPost post = {});

  // nowUnix: the current time in unix seconds (injected so tests control it).
  Authentication authenticate(std::string_view token, std::int64_t nowUnix);

  struct Stats {
    std::uint64_t cacheHits = 0, verified = 0, refused = 0, introspected = 0;
    std::size_t cached = 0;
  };
  Stats stats() const;

 private:
  // The full SHA-256 of a token: the cache key (collision resistance matters, a hit skips
  // verification). Its first 8 bytes are already uniformly distributed, so they are the hash.
  using Digest = std::array<unsigned char, 32>;
  struct DigestHash {
    std::size_t operator()(const Digest& d) const noexcept;
  };

  // signingDigest: SHA-256 of the token's signing input when the caller has it, else nullptr.
  Authentication verifyUncached(std::string_view token, std::int64_t nowUnix, const SigningInputSha256* signingDigest);
  // An opaque token through the IdP's introspection endpoint; validUntil: how long to cache it.
  Authentication introspect(std::string_view token, std::int64_t nowUnix, std::int64_t& validUntil);
  void remember(const Digest& digest, std::shared_ptr<const Principal> principal, std::int64_t validUntil,
                std::int64_t nowUnix);

  struct Entry {
    std::shared_ptr<const Principal> principal;
    std::int64_t validUntil = 0;   // unix seconds: JWT exp + leeway; introspected: exp, capped
  };

  ResourceServerOptions options_;
  ClaimRules rules_;  // built once from options_ (its `now` is unused: the clock goes per call)
  std::shared_ptr<KeySource> keys_;
  mutable std::mutex mu_;
  HttpPost post_;
  std::unordered_map<Digest, Entry, DigestHash> cache_;  // SHA-256 of the token -> who, until when
  Stats stats_;
};

}  // namespace gatehouse::oauth2
