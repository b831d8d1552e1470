#pragma once
// OAuth2Access: the REST API's AccessPolicy (core/src/rest/access.h) for auth.mode oauth2, made
// from security/oauth2: bearer tokens verified by its ResourceServer against the IdP's keys,
// requests decided by its rules. The app is the only place where core and a security module
// meet; core/src never includes security/ headers (docs/architecture.md).
//
// Threads: create() and start() on the main thread; the AccessPolicy members on any thread.
#include <memory>
#include <string>
#include <vector>

#include <gatehouse/oauth2/key_source.h>
#include <gatehouse/oauth2/resource_server.h>
#include <gatehouse/oauth2/rules.h>

#include "common/result.h"
#include "config/config.h"
#include "rest/access.h"

namespace gatehouse::app {

class OAuth2Access final : public core::rest::AccessPolicy {
 public:
  // Checks the rules (the `rules` lines and the structured rules of `rules_file`, relative to
  // the config file's folder) and builds the verifier; an error names the file, line and key.
  static core::Result<std::shared_ptr<OAuth2Access>> create(const core::config::OAuth2Section& section,
                                                            const std::string& configPath);

  // Discovery and the first JWKS fetch. A failure is logged, not fatal: until the IdP answers,
  // every token is refused (the key source retries on demand, within its cooldown).
  void start();

  core::rest::AuthOutcome authenticate(std::string_view authorization) override;
  bool allows(const core::rest::Caller& caller, core::rest::AccessVerb verb, std::string_view provider,
              std::string_view service, std::string_view resource) const override;
  bool isAdmin(const core::rest::Caller& caller) const override;

  oauth2::ResourceServer::Stats stats() const { return server_->stats(); }
  oauth2::KeySource::Stats keyStats() const { return keys_->stats(); }

 private:
  OAuth2Access() = default;

  std::shared_ptr<oauth2::KeySource> keys_;
  std::unique_ptr<oauth2::ResourceServer> server_;
  std::vector<oauth2::Rule> rules_;
  std::vector<std::string> adminRoles_;
  std::string issuer_;
};

// "Bearer <token>" (scheme case-insensitive, RFC 6750 section 2.1) -> the token; "" when the
// header is absent or names another scheme.
std::string_view bearerToken(std::string_view authorization);

}  // namespace gatehouse::app
