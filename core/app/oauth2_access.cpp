#include "oauth2_access.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/log.h"
#include "gatehouse/kit/config/diagnostics.h"
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

std::optional<oauth2::Verb> verbFromName(const std::string& name) {
  if (name == "DESCRIBE") return oauth2::Verb::Describe;
  if (name == "READ") return oauth2::Verb::Read;
  if (name == "UPDATE") return oauth2::Verb::Update;
  if (name == "ACT") return oauth2::Verb::Act;
  return std::nullopt;
}

// One structured rule (a YAML mapping); problems go to `d` with the key path `where.key`.
std::optional<oauth2::Rule> ruleFrom(const YAML::Node& node, const std::string& where, const std::string& file,
                                     kit::config::Diagnostics& d) {
  if (!node.IsMap()) {
    d.add(node.Mark(), where, "must be a mapping with role, verbs and optionally provider, service, resource, effect, priority");
    return std::nullopt;
  }
  static const std::set<std::string> kKeys = {"role", "provider", "service", "resource", "verbs", "effect", "priority"};
  oauth2::Rule rule;
  rule.source = file + ":" + std::to_string(node.Mark().line + 1);
  std::set<std::string> seen;
  bool ok = true, hasRole = false, hasVerbs = false;
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    const std::string path = where + "." + key;
    const YAML::Node& v = kv.second;
    if (kKeys.count(key) == 0) {
      d.add(kv.first.Mark(), where, "unknown key '" + key + "' (expected role, provider, service, resource, verbs, effect, priority)");
      ok = false;
      continue;
    }
    if (!seen.insert(key).second) {
      d.add(kv.first.Mark(), path, "given twice");
      ok = false;
      continue;
    }
    if (key == "verbs") {
      hasVerbs = true;
      std::vector<std::string> names;
      if (v.IsScalar()) {
        names.push_back(v.Scalar());
      } else if (v.IsSequence()) {
        for (const auto& item : v) names.push_back(item.IsScalar() ? item.Scalar() : std::string());
      }
      if (names.empty()) {
        d.add(v.Mark(), path, "must be a list of DESCRIBE, READ, UPDATE, ACT (or *)");
        ok = false;
      }
      for (const auto& name : names) {
        if (name == "*") {
          rule.verbs = {oauth2::Verb::Describe, oauth2::Verb::Read, oauth2::Verb::Update, oauth2::Verb::Act};
        } else if (auto verb = verbFromName(name)) {
          rule.verbs.push_back(*verb);
        } else {
          d.add(v.Mark(), path, "unknown verb '" + name + "' (DESCRIBE, READ, UPDATE, ACT or *)");
          ok = false;
        }
      }
      continue;
    }
    if (!v.IsScalar()) {
      d.add(v.Mark(), path, "must be a single value");
      ok = false;
      continue;
    }
    const std::string text = v.Scalar();
    if (key == "role") {
      hasRole = true;
      rule.role = text;
    } else if (key == "provider") {
      rule.provider = text;
    } else if (key == "service") {
      rule.service = text;
    } else if (key == "resource") {
      rule.resource = text;
    } else if (key == "effect") {
      if (text == "allow") {
        rule.effect = oauth2::Effect::Allow;
      } else if (text == "deny") {
        rule.effect = oauth2::Effect::Deny;
      } else {
        d.add(v.Mark(), path, "must be allow or deny, found \"" + text + "\"");
        ok = false;
      }
    } else if (key == "priority") {
      char* end = nullptr;
      const long n = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || n < -1000000 || n > 1000000) {
        d.add(v.Mark(), path, "must be an integer between -1000000 and 1000000, found \"" + text + "\"");
        ok = false;
      } else {
        rule.priority = static_cast<int>(n);
      }
    }
  }
  if (!hasRole) d.add(node.Mark(), where + ".role", "is required");
  if (!hasVerbs) d.add(node.Mark(), where + ".verbs", "is required");
  if (!ok || !hasRole || !hasVerbs) return std::nullopt;
  if (std::string why = oauth2::checkRule(rule); !why.empty()) {
    d.add(node.Mark(), where, why);
    return std::nullopt;
  }
  return rule;
}

// auth.oauth2.rules_file: a YAML list of structured rules (docs/security.md). Errors name the
// file, line, column and the key path ("rules_file[2].effect").
core::Result<std::vector<oauth2::Rule>> loadRulesFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return core::makeError(core::ErrorCode::BadRequest, "auth.oauth2.rules_file: cannot read " + file);
  std::ostringstream text;
  text << in.rdbuf();
  kit::config::Diagnostics d;
  auto root = kit::config::parseYamlDocument(text.str(), kit::config::YamlLimits{}, d);
  std::vector<oauth2::Rule> rules;
  if (root && !root->IsSequence()) {
    d.add(root->Mark(), "rules_file", "must be a list of rules (each a mapping with role, verbs, ...)");
  } else if (root) {
    std::size_t i = 0;
    for (const auto& node : *root) {
      auto rule = ruleFrom(node, "rules_file[" + std::to_string(i++) + "]", file, d);
      if (rule) rules.push_back(std::move(*rule));
    }
  }
  if (!d.empty()) return core::makeError(core::ErrorCode::BadRequest, d.format(file));
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
