// Claim checks for access tokens. Runs only on tokens whose signature verified; every check fails
// closed (missing or wrongly typed claim -> refused) and error texts name the claim, not its value.

#include "gatehouse/oauth2/claims.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace gatehouse::oauth2 {

namespace {

ClaimsResult failure(std::string text) {
  ClaimsResult r;
  r.error = std::move(text);
  return r;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// NumericDate as double: exact for every realistic second count, and immune to int64 overflow
// when a hostile issuer writes 1e300.
std::optional<double> numericDate(const Json& payload, std::string_view name, std::string& error) {
  const Json* v = payload.find(name);
  if (v == nullptr) return std::nullopt;
  if (v->kind != Json::Kind::Number) {
    error = std::string(name) + " is not a number";
    return std::nullopt;
  }
  return v->number;
}

std::int64_t clampToInt64(double v) {
  if (v >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
  if (v <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(v);
}

// refuse ID and refresh tokens presented as access tokens.
std::optional<std::string> tokenTypeError(const JwsVerified& token) {
  const Json* typ = token.header.find("typ");
  if (typ != nullptr) {
    if (typ->kind != Json::Kind::String) return "header typ is not a string";
    if (equalsIgnoreCase(typ->text, "at+jwt") || equalsIgnoreCase(typ->text, "application/at+jwt")) {
      return std::nullopt;  // RFC 9068 access token
    }
    if (!equalsIgnoreCase(typ->text, "JWT")) return "header typ is not an access-token type";
  }
  if (const Json* ptyp = token.payload.find("typ")) {
    if (ptyp->kind != Json::Kind::String || ptyp->text != "Bearer") return "token typ claim is not Bearer";
  }
  if (token.payload.find("nonce") != nullptr) return "token has a nonce claim (ID token)";
  if (token.payload.find("at_hash") != nullptr) return "token has an at_hash claim (ID token)";
  return std::nullopt;
}

void addRole(std::vector<std::string>& roles, std::string_view role) {
  if (role.empty()) return;
  if (std::find(roles.begin(), roles.end(), role) == roles.end()) roles.emplace_back(role);
}

void collectRoles(const Json& payload, std::string_view path, std::vector<std::string>& roles) {
  const Json* node = &payload;
  while (node != nullptr) {
    std::size_t dot = path.find('.');
    node = node->find(path.substr(0, dot));
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  if (node == nullptr) return;
  if (node->kind == Json::Kind::Array) {
    for (const Json& item : node->items) {
      if (item.kind == Json::Kind::String) addRole(roles, item.text);
    }
  } else if (node->kind == Json::Kind::String) {
    std::string_view words = node->text;
    while (!words.empty()) {
      std::size_t space = words.find(' ');
      addRole(roles, words.substr(0, space));
      if (space == std::string_view::npos) break;
      words.remove_prefix(space + 1);
    }
  }
}

// The member when it is a string; nullptr when absent, or (with `error` set) of another type.
const Json* optionalString(const Json& payload, std::string_view name, std::string& error) {
  const Json* v = payload.find(name);
  if (v == nullptr) return nullptr;
  if (v->kind != Json::Kind::String) {
    error = std::string(name) + " is not a string";
    return nullptr;
  }
  return v;
}

// The checks. `movable` is the same token when the caller gave it up (rvalue overload): the
// principal's strings are then moved out of its payload instead of copied.
ClaimsResult check(const JwsVerified& token, const ClaimRules& rules, std::int64_t nowUnix, JwsVerified* movable) {
  const Json& payload = token.payload;
  if (payload.kind != Json::Kind::Object) return failure("payload is not a JSON object");
  if (rules.issuer.empty()) return failure("no issuer configured");
  if (rules.audience.empty()) return failure("no audience configured");
  if (auto typeError = tokenTypeError(token)) return failure(*typeError);

  const double now = static_cast<double>(nowUnix);
  const double leeway = static_cast<double>(std::max<std::int64_t>(rules.leewayS, 0));
  std::string error;
  std::optional<double> exp = numericDate(payload, "exp", error);
  if (!error.empty()) return failure(error);
  if (!exp) return failure("token has no exp");
  if (now > *exp + leeway) return failure("token expired");
  for (const char* name : {"nbf", "iat"}) {
    std::optional<double> t = numericDate(payload, name, error);
    if (!error.empty()) return failure(error);
    if (t && *t > now + leeway) {
      return failure(std::string(name) == "nbf" ? "token not valid yet (nbf)" : "token issued in the future (iat)");
    }
  }

  const Json* iss = payload.find("iss");
  if (iss == nullptr || iss->kind != Json::Kind::String) return failure("token has no iss");
  if (iss->text != rules.issuer) return failure("issuer does not match");

  const Json* aud = payload.find("aud");
  if (aud == nullptr) return failure("token has no aud");
  bool audienceFound = false;
  if (aud->kind == Json::Kind::String) {
    audienceFound = aud->text == rules.audience;
  } else if (aud->kind == Json::Kind::Array) {
    for (const Json& item : aud->items) {
      if (item.kind != Json::Kind::String) return failure("aud is not a string or an array of strings");
      audienceFound = audienceFound || item.text == rules.audience;
    }
  } else {
    return failure("aud is not a string or an array of strings");
  }
  if (!audienceFound) return failure("audience does not match");

  const Json* sub = optionalString(payload, "sub", error);
  const Json* jti = optionalString(payload, "jti", error);
  const Json* clientId = optionalString(payload, "client_id", error);
  const Json* azp = optionalString(payload, "azp", error);
  if (!error.empty()) return failure(error);
  if (clientId == nullptr) clientId = azp;

  ClaimsResult result;
  Principal& principal = result.ok.emplace();
  principal.expires = clampToInt64(*exp);
  // Roles first: a role path may name one of the members below (e.g. "sub"), which must still
  // hold its value when it is read.
  for (const std::string& path : rules.roleClaims) collectRoles(payload, path, principal.roles);
  auto take = [movable](const Json* v, std::string& to) {
    if (v == nullptr) return;
    if (movable != nullptr) {
      to = std::move(const_cast<Json*>(v)->text);  // v points into *movable, which the caller gave up
    } else {
      to = v->text;
    }
  };
  take(sub, principal.subject);
  take(jti, principal.jti);
  take(clientId, principal.clientId);
  return result;
}

}  // namespace

ClaimsResult checkClaims(const JwsVerified& token, const ClaimRules& rules) {
  return check(token, rules, rules.now, nullptr);
}

ClaimsResult checkClaims(JwsVerified&& token, const ClaimRules& rules, std::int64_t nowUnix) {
  return check(token, rules, nowUnix, &token);
}

}  // namespace gatehouse::oauth2
