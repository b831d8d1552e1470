#include "oauth2_access.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "gatehouse/kit/config/schema.h"
#include "gatehouse/kit/config/yaml_document.h"

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

constexpr std::size_t kMaxRulesInFile = 10000;

std::optional<oauth2::Verb> verbFromName(std::string_view name) {
  if (name == "DESCRIBE") return oauth2::Verb::Describe;
  if (name == "READ") return oauth2::Verb::Read;
  if (name == "UPDATE") return oauth2::Verb::Update;
  if (name == "ACT") return oauth2::Verb::Act;
  return std::nullopt;
}

std::string requireVerb(std::string_view name) {
  return name == "*" || verbFromName(name) ? std::string() : "must be DESCRIBE, READ, UPDATE, ACT or *";
}

std::string requireEffect(std::string_view effect) {
  return effect == "allow" || effect == "deny" ? std::string() : "must be allow or deny";
}

// One structured rule as the engine validated it (source left empty: the caller sets it).
oauth2::Rule ruleOf(const kit::config::Values& item) {
  oauth2::Rule rule;
  rule.role = item.getString("role");
  rule.provider = item.getString("provider");
  rule.service = item.getString("service");
  rule.resource = item.getString("resource");
  for (const auto& name : item.getStringList("verbs")) {
    if (name == "*") {
      rule.verbs = {oauth2::Verb::Describe, oauth2::Verb::Read, oauth2::Verb::Update, oauth2::Verb::Act};
      break;
    }
    if (const auto verb = verbFromName(name)) rule.verbs.push_back(*verb);   // requireVerb let nothing else through
  }
  rule.effect = item.getString("effect") == "deny" ? oauth2::Effect::Deny : oauth2::Effect::Allow;
  rule.priority = static_cast<int>(item.getInt("priority"));
  return rule;
}

// auth.oauth2.rules_file: the file's top level is the list of rules (docs/security.md), checked by
// the kit's config engine: errors name the file, line, column and key path ("rules_file[2].effect").
const kit::config::Field& rulesFileField() {
  using kit::config::Field;
  static const Field field =
      Field::list("rules_file", {
          Field::string("role", "").require("a role name, or * for any authenticated caller").doc("The role the rule applies to, or `*` for any authenticated caller."),
          Field::string("provider", "*").doc("Provider glob (`*`, `?`); empty: the rule stops above this level."),
          Field::string("service", "*").doc("Service glob."),
          Field::string("resource", "*").doc("Resource glob."),
          Field::stringList("verbs").require("DESCRIBE, READ, UPDATE, ACT or *").acceptSingle().itemCount(1, 8).itemsCalled("verbs")
              .validatedBy(requireVerb, "`DESCRIBE`, `READ`, `UPDATE`, `ACT`, `*`")
              .doc("The verbs the rule covers."),
          Field::string("effect", "allow").validatedBy(requireEffect, "`allow` or `deny`").doc("Allow or deny."),
          Field::integer("priority", 0).range(-1000000, 1000000).doc("Higher wins; at equal priority deny wins."),
      }).itemCount(1, kMaxRulesInFile).itemsCalled("rules")
        .checkedWith([](const kit::config::Values& item, kit::config::Problems& problems) {
          // The globs' own rules (a level set below an empty one, '/' in a name, ...).
          if (std::string why = oauth2::checkRule(ruleOf(item)); !why.empty()) problems.add("", why);
        });
  return field;
}

core::Result<std::vector<oauth2::Rule>> loadRulesFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return core::makeError(core::ErrorCode::BadRequest, "auth.oauth2.rules_file: cannot read " + file);
  std::ostringstream text;
  text << in.rdbuf();
  kit::config::Diagnostics d;
  const auto root = kit::config::parseYamlDocument(text.str(), kit::config::YamlLimits{}, d);
  if (!root) return core::makeError(core::ErrorCode::BadRequest, d.format(file));
  const kit::config::Values values = kit::config::validateValue(*root, rulesFileField(), {}, d);
  if (!d.empty()) return core::makeError(core::ErrorCode::BadRequest, d.format(file));
  std::vector<oauth2::Rule> rules;
  for (const auto& item : values.list("rules_file")) {
    rules.push_back(ruleOf(item));
    rules.back().source = file + ":" + std::to_string(item.line());
  }
  return rules;
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

core::Result<std::shared_ptr<OAuth2Access>> OAuth2Access::create(const core::config::OAuth2Section& section,
                                                                 const std::string& configPath) {
  std::shared_ptr<OAuth2Access> access(new OAuth2Access());
  std::string lines;
  for (const auto& rule : section.rules) lines += rule + "\n";
  oauth2::RulesResult rules = oauth2::parseRuleLines(lines);
  if (!rules.error.empty()) {
    return core::makeError(core::ErrorCode::BadRequest,
                           "auth.oauth2.rules: " + rules.error + " (line N is the N-th entry of the list)");
  }
  access->rules_ = std::move(rules.rules);
  if (!section.rulesFile.empty()) {
    std::filesystem::path file(section.rulesFile);
    if (file.is_relative() && !configPath.empty()) {
      file = std::filesystem::absolute(std::filesystem::path(configPath)).parent_path() / file;
    }
    auto structured = loadRulesFile(file.string());
    if (!structured) return std::move(structured).error();
    for (auto& rule : *structured) access->rules_.push_back(std::move(rule));
  }
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
    return core::makeError(core::ErrorCode::BadRequest, "auth.oauth2.ca_file: cannot set up TLS to the IdP with '" +
                                                            section.caFile + "': " + e.what());
  }

  oauth2::ResourceServerOptions so;
  so.issuer = section.issuer;
  so.audience = section.audience;
  so.leewayS = section.leewayS;
  so.roleClaims = section.roleClaims;
  so.allowedAlgs = algs;
  so.introspectionClientId = section.introspectionClientId;
  so.introspectionClientSecret = section.introspectionClientSecret;
  oauth2::HttpPost post;
  if (!so.introspectionClientId.empty()) post = oauth2::makeHttpPost(ko);
  access->server_ = std::make_unique<oauth2::ResourceServer>(so, access->keys_, std::move(post));
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
