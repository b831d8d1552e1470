#pragma once
// KeySource: the IdP's signing keys, found through OpenID Connect discovery and kept fresh.
//
// start() reads `<issuer>/.well-known/openid-configuration`, requires its `issuer` to equal the
// configured one exactly, and fetches the JWKS at its `jwks_uri`. Afterwards keys are fetched
// again only when a token names a kid we do not know (refreshForUnknownKid), at most once per
// cooldown, by one caller at a time (single flight: concurrent callers wait for that one fetch
// and share its result). When the IdP is unreachable or answers badly, the last good keys stay
// in use for at most `staleKeysMaxAge` after they were fetched; after that current() returns
// nothing and every token is refused (never fail open).
//
// Refused (SECURITY-CHECKLIST A17): a discovery `issuer` that differs from the configured one;
// any redirect; a non-200 answer; a document larger than 1 MiB; TLS failures (the IdP's
// certificate must verify against `caFile`, or the system CAs when it is empty, and match the
// host name); plain http unless the host is a loopback address and allowInsecureLoopback is set.
//
// Threads: every member may be called from any thread at once.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <string>
#include <vector>

#include "gatehouse/oauth2/jwk.h"

namespace gatehouse::oauth2 {

struct HttpAnswer {
  int status = 0;         // HTTP status; 0 when there was no answer
  std::string body;       // at most maxBytes
  std::string error;      // set when the request failed before an answer (TLS, timeout, refused, too large)
};
// GETs one URL; never throws. The production one is makeHttpGet(); tests pass a fake.
using HttpGet = std::function<HttpAnswer(const std::string& url, std::size_t maxBytes)>;
// POSTs an application/x-www-form-urlencoded body with an Authorization header (RFC 7662
// introspection); never throws. The production one is makeHttpPost().
using HttpPost = std::function<HttpAnswer(const std::string& url, const std::string& form,
                                          const std::string& authorization, std::size_t maxBytes)>;

struct KeySourceOptions {
  std::string issuer;                       // exactly as the IdP's discovery document says it
  std::vector<Alg> allowedAlgs{Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA};
  std::string caFile;                       // PEM CA bundle for the IdP's TLS; "" = system CAs
  bool allowInsecureLoopback = false;       // plain http to 127.0.0.0/8, ::1 or localhost only
  std::chrono::milliseconds refreshCooldown{30000};          // unknown kid: at most one fetch per cooldown
  std::chrono::milliseconds staleKeysMaxAge{6 * 3600 * 1000}; // last good keys, while the IdP is down
  std::chrono::milliseconds httpTimeout{5000};
};

// The production HttpGet: POCO HTTP(S), no redirects followed, TLS verified against caFile (or
// the system CAs), host name checked, body limited to maxBytes.
HttpGet makeHttpGet(const KeySourceOptions& options);
// The same for POST (same TLS rules, no redirects, body limited to maxBytes).
HttpPost makeHttpPost(const KeySourceOptions& options);

// Whether `url` may be fetched under `options`: https always, http only to a loopback host with
// allowInsecureLoopback. Returns "" when allowed, else why not.
std::string checkFetchUrl(const std::string& url, const KeySourceOptions& options);

class KeySource {
 public:
  using Clock = std::chrono::steady_clock;
  KeySource(KeySourceOptions options, HttpGet get);

  // Discovery and the first JWKS fetch. A failure is returned (and logged by the caller) but is
  // not final: refreshForUnknownKid() tries again, within the cooldown rule.
  std::string start();

  // The keys in use, or nullptr (none fetched yet, or the last good ones are too old).
  std::shared_ptr<const KeySet> current() const;

  // A token named a kid not in current(): fetches the JWKS again unless the last fetch attempt is
  // less than the cooldown ago, or one is already running (then waits for it). Returns current().
  std::shared_ptr<const KeySet> refreshForUnknownKid();

  // The discovery document's `introspection_endpoint` (RFC 7662), "" when it names none or
  // discovery has not succeeded yet. Checked like the JWKS URL (https, or loopback http when allowed).
  std::string introspectionEndpoint() const;

  struct Stats {
    std::uint64_t fetches = 0, failures = 0;
    std::string lastError;
  };
  Stats stats() const;

 private:
  std::string fetchLocked(std::unique_lock<std::mutex>& lock);   // releases the lock while fetching
  std::string discover();                                         // -> jwksUri_, under fetching_

  KeySourceOptions options_;
  HttpGet get_;
  mutable std::mutex mu_;
  std::condition_variable fetched_;
  bool fetching_ = false;
  bool attempted_ = false;
  Clock::time_point lastAttempt_{};
  Clock::time_point keysFetchedAt_{};
  std::shared_ptr<const KeySet> keys_;
  std::string jwksUri_;
  std::string introspectionEndpoint_;   // guarded by mu_
  Stats stats_;
};

}  // namespace gatehouse::oauth2
