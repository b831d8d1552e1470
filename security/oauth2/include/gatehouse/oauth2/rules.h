#pragma once
// Authorization rules of the northbound REST API (docs/security.md): who may DESCRIBE, READ,
// UPDATE or ACT on which provider/service/resource. Default deny; the highest priority matching
// rule wins; at equal priority Deny beats Allow.
// Threads: every function here is pure; any thread may call any of them concurrently. A rule set
// is a plain value: share it read-only between threads (swap the whole vector to reload).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatehouse/oauth2/path.h"

namespace gatehouse::oauth2 {

enum class Verb { Describe, Read, Update, Act };
enum class Effect { Allow, Deny };

// Limits of the rule language (a rule set must stay cheap to evaluate on every request).
inline constexpr std::size_t kMaxGlobBytes = 256;        // one provider/service/resource pattern
inline constexpr std::size_t kMaxNameBytes = 256;        // longer names never match (the model allows 128)
inline constexpr std::size_t kMaxRuleTextBytes = 1 << 20;
inline constexpr std::size_t kMaxRules = 10000;

// One rule. Each of provider/service/resource is a glob over one name: '*' = any run of bytes,
// '?' = exactly one byte (model names are ASCII), everything else literal. A glob never matches a
// name containing '/' (a decoded %2F) nor a name longer than kMaxNameBytes.
// An empty glob means "the rule stops above this level": provider "p", service "" and resource ""
// covers describing provider p and listing its services, but no service of p. If a level is empty,
// every level below it must be empty too (checkRule() enforces this).
struct Rule {
  std::string role;  // "*" = any authenticated caller; otherwise the exact role name
  std::string provider = "*", service = "*", resource = "*";
  std::vector<Verb> verbs;  // empty = matches nothing (checkRule() refuses it)
  Effect effect = Effect::Allow;
  int priority = 0;    // higher wins; at equal priority Deny wins over Allow
  std::string source;  // where it came from, e.g. "rules[3]" or "line 2", for errors and audit
};

// Empty when `rule` is usable; otherwise what is wrong with it (prefixed with rule.source when set).
// Use it on structured rules built from configuration; parseRuleLines() already applies it.
std::string checkRule(const Rule& rule);

// Exactly one of the two is meaningful: `error` empty -> `rules` holds every rule in text order;
// otherwise `rules` is empty and `error` names each malformed line ("line 3: ...").
struct RulesResult {
  std::vector<Rule> rules;
  std::string error;
};

// Parses sensiNact-style lines "role:VERBS:path-pattern" into Allow rules of priority 0, with
// source "line N".
//  - role: "*" or an exact role name (no ':', whitespace or '*'); it ends at the first ':'.
//  - VERBS: DESCRIBE | READ | UPDATE | ACT | "*" (all four), case-insensitive; several may be
//    joined with ',' ("READ,UPDATE").
//  - path-pattern, with an optional "/sensinact" prefix:
//      /**  or  /providers/**                        everything
//      /providers                                   the provider list only
//      /providers/P  (or /providers/P/services)     provider P and its service list
//      /providers/P/services/S  (or .../resources)  service S of P and its resource list
//      /providers/P/services/S/resources/R          resource R
//    "/**" after a name extends the rule to that level and everything below it. Names are globs
//    ('*', '?') over the identifier characters [A-Za-z0-9_.:-]; "." and ".." are refused.
//  - whitespace around the line and around each field is ignored; blank lines and lines starting
//    with '#' are skipped; a UTF-8 byte order mark at the start is ignored; CRLF is accepted.
// Any malformed line makes the whole text an error: a half-applied rule set is never returned.
RulesResult parseRuleLines(std::string_view text);

// The line parseRuleLines() turns back into `rule` (same role, verbs and globs), or "" when the
// rule cannot be written as a line (Deny, priority != 0, characters outside the line syntax).
std::string toRuleLine(const Rule& rule);

// What a request touches. An empty level is not named by the request (a list, e.g. GET
// /sensinact/providers, or a snapshot); lower levels are then empty too.
struct Target {
  std::string provider, service, resource;
  Verb verb;
};

// Maps a canonical REST path and its HTTP method (case-sensitive, as on the wire) to its Target,
// following the route table of core/src/rest/rest_api.cpp plus ".../HISTORY":
//   GET|HEAD /sensinact, /sensinact/providers[/{p}[/services[/{s}[/resources[/{r}]]]]] -> Describe
//   GET|HEAD|POST .../{r}/GET, GET|HEAD .../{r}/HISTORY, GET .../{r}/SUBSCRIBE        -> Read
//   POST|PUT .../{r}/SET -> Update;  POST .../{r}/ACT -> Act
//   GET|HEAD|POST /sensinact/snapshot, GET /sensinact/snapshot/subscribe              -> Read, no names
// Returns nullopt for anything else (not a model path, or a method the route does not accept):
// the caller then applies its own policy (deny, or a role of its own for /sensinact/runtime/...).
std::optional<Target> targetOf(const CanonicalPath& path, std::string_view method);

// `rule` points into the vector given to decide() (nullptr when no rule matched).
struct Decision {
  bool allowed;
  const Rule* rule;
};

// Default deny. A rule applies when its role is "*" or one of `roles` (empty role strings are
// ignored), its verbs contain target.verb, and each level matches:
//  - a named target level matches when the glob matches the name;
//  - an unnamed (empty) target level is a list that the caller filters item by item with decide():
//    an Allow rule matches there (it could match some item); a Deny rule matches only when it
//    covers the whole level (glob "" or only '*'), so denying one provider does not hide the list.
// Among applicable rules the highest priority wins; at equal priority Deny wins; among equals the
// first in `rules` is reported.
Decision decide(const std::vector<Rule>& rules, const std::vector<std::string>& roles, const Target& target);

// The glob matcher used by decide(), exposed for tests and fuzzing. O(|glob| * |name|) worst case
// (two-pointer wildcard matching, no exponential backtracking). False when `name` contains '/' or
// is longer than kMaxNameBytes.
bool globMatch(std::string_view glob, std::string_view name);

// "DESCRIBE", "READ", "UPDATE", "ACT".
std::string_view verbName(Verb verb);

}  // namespace gatehouse::oauth2
