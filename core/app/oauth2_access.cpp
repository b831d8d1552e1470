#include "oauth2_access.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"

namespace gatehouse::app {

namespace {

constexpr std::string_view kComponent = "oauth2";

oauth2::Verb toRuleVerb(core::rest::AccessVerb verb) {
  switch (verb) {
    case core::rest::AccessVerb::Describe: return oauth2::Verb::Describe;
    case core::rest::AccessVerb::Read: return oauth2::Verb::Read;
    case core::rest::AccessVerb::Update: return oauth2::Verb::Update;
    case core::rest::AccessVerb::Act: return oauth2::Verb::Act;
  }
  return oauth2::Verb::Read;
}

const std::vector<std::string>& rolesOf(const core::rest::Caller& caller) {
  static const std::vector<std::string> none;
  const auto* principal = static_cast<const oauth2::Principal*>(caller.context.get());
  return principal == nullptr ? none : principal->roles;
}

}  // namespace

std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return {};
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return token;
}

core::Result<std::shared_ptr<OAuth2Access>> OAuth2Access::create(const core::config::OAuth2Section& section) {
  std::shared_ptr<OAuth2Access> access(new OAuth2Access());
  std::string lines;
  for (const auto& rule : section.rules) lines += rule + "\n";
  oauth2::RulesResult rules = oauth2::parseRuleLines(lines);
  if (!rules.error.empty()) {
    return core::makeError(core::ErrorCode::BadRequest,
                           "auth.oauth2.rules: " + rules.error + " (line N is the N-th entry of the list)");
  }
  access->rules_ = std::move(rules.rules);
  access->adminRoles_ = section.adminRoles;
  access->issuer_ = section.issuer;

  std::vector<oauth2::Alg> algs;
  for (const auto& name : section.algorithms) {
    auto alg = oauth2::algFromName(name);
    if (!alg) return core::makeError(core::ErrorCode::BadRequest, "auth.oauth2.algorithms: unsupported " + name);
    algs.push_back(*alg);
  }
  oauth2::KeySourceOptions ko;
  ko.issuer = section.issuer;
  ko.allowedAlgs = algs;
  ko.caFile = section.caFile;
  ko.allowInsecureLoopback = section.allowInsecureLoopback;
  ko.refreshCooldown = std::chrono::seconds(section.refreshCooldownS);
  ko.staleKeysMaxAge = std::chrono::seconds(section.staleKeysMaxAgeS);
  if (std::string why = oauth2::checkFetchUrl(section.issuer, ko); !why.empty()) {
    return core::makeError(core::ErrorCode::BadRequest, "auth.oauth2.issuer: " + why);
  }
  try {
    access->keys_ = std::make_shared<oauth2::KeySource>(ko, oauth2::makeHttpGet(ko));
  } catch (const std::exception& e) {   // POCO's TLS context: an unreadable or invalid ca_file
    return core::makeError(core::ErrorCode::BadRequest, "auth.oauth2.ca_file: cannot set up TLS to the IdP: " +
                                                            std::string(e.what()));
  }

  oauth2::ResourceServerOptions so;
  so.issuer = section.issuer;
  so.audience = section.audience;
  so.leewayS = section.leewayS;
  so.roleClaims = section.roleClaims;
  so.allowedAlgs = algs;
  access->server_ = std::make_unique<oauth2::ResourceServer>(so, access->keys_);
  return access;
}

void OAuth2Access::start() {
  const std::string error = keys_->start();
  if (error.empty()) {
    core::log::info(kComponent, "keys of " + issuer_ + " loaded; " + std::to_string(rules_.size()) + " rule(s)");
  } else {
    core::log::warn(kComponent, "cannot load the keys of " + issuer_ + " yet (every token is refused until it answers): " +
                                    error);
  }
}

core::rest::AuthOutcome OAuth2Access::authenticate(std::string_view authorization) {
  core::rest::AuthOutcome out;
  const std::string_view token = bearerToken(authorization);
  if (token.empty()) return out;
  out.tokenGiven = true;
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  oauth2::Authentication a = server_->authenticate(token, now);
  if (!a.principal) {
    out.error = a.error;
    return out;
  }
  core::rest::Caller caller;
  caller.subject = a.principal->subject;
  caller.expiresUnix = a.principal->expires;
  caller.context = a.principal;
  out.caller = std::move(caller);
  return out;
}

bool OAuth2Access::allows(const core::rest::Caller& caller, core::rest::AccessVerb verb, std::string_view provider,
                          std::string_view service, std::string_view resource) const {
  oauth2::Target target{std::string(provider), std::string(service), std::string(resource), toRuleVerb(verb)};
  return oauth2::decide(rules_, rolesOf(caller), target).allowed;
}

bool OAuth2Access::isAdmin(const core::rest::Caller& caller) const {
  const auto& roles = rolesOf(caller);
  return std::any_of(roles.begin(), roles.end(), [this](const std::string& role) {
    return std::find(adminRoles_.begin(), adminRoles_.end(), role) != adminRoles_.end();
  });
}

}  // namespace gatehouse::app
