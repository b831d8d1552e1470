// Fuzzes the authorization rules (security/oauth2 rules.h, path.h) with arbitrary bytes, used as
//  (a) rule text: parseRuleLines() must either return rules that checkRule() accepts and that
//      toRuleLine() writes back to the same rule, or an error naming a line, in printable ASCII;
//      parsed rules are then evaluated against fixed targets and compared with a reference;
//  (b) a request path: canonicalisePath() gives clean segments whose toString() canonicalises to
//      the same segments; targetOf() + decide() against a fixed rule set agree with a simple
//      reference implementation, and nothing that reaches provider "admin" is ever allowed;
//  (c) glob and name (split at the first '\n'): globMatch() agrees with a dynamic-programming matcher.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatehouse/oauth2/path.h"
#include "gatehouse/oauth2/rules.h"

using namespace gatehouse::oauth2;

namespace {

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "oauth2_rules: %s\ninput (%zu bytes): %.*s\ndetail: %s\n", what, input.size(),
               static_cast<int>(input.size() > 400 ? 400 : input.size()), input.data(), detail.c_str());
  std::abort();
}

bool printableAscii(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Reference glob: O(|glob| * |name|) dynamic programming, written independently of globMatch().
bool referenceGlob(std::string_view glob, std::string_view name) {
  if (name.size() > kMaxNameBytes || name.find('/') != std::string_view::npos) return false;
  // row[j] = glob[0..i) matches name[0..j)
  std::vector<char> row(name.size() + 1, 0), next(name.size() + 1, 0);
  row[0] = 1;
  for (char g : glob) {
    next.assign(name.size() + 1, 0);
    if (g == '*') {
      char any = 0;
      for (std::size_t j = 0; j <= name.size(); ++j) {
        any = any || row[j];
        next[j] = any;
      }
    } else {
      for (std::size_t j = 1; j <= name.size(); ++j) next[j] = row[j - 1] && (g == '?' || g == name[j - 1]);
    }
    row.swap(next);
  }
  return row[name.size()] != 0;
}

bool referenceLevel(const std::string& glob, const std::string& name, Effect effect) {
  if (!name.empty()) return referenceGlob(glob, name);
  if (effect == Effect::Allow) return true;
  if (glob.empty()) return true;
  for (char c : glob) {
    if (c != '*') return false;
  }
  return true;
}

// Reference decision: collect every applicable rule, take the top priority, deny if any of them denies.
bool referenceAllowed(const std::vector<Rule>& rules, const std::vector<std::string>& roles, const Target& t,
                      std::optional<int>& topPriority) {
  topPriority.reset();
  bool anyDenyAtTop = false;
  for (const Rule& r : rules) {
    bool verb = false;
    for (Verb v : r.verbs) verb = verb || v == t.verb;
    bool role = r.role == "*";
    for (const auto& have : roles) role = role || (!r.role.empty() && have == r.role);
    if (!verb || !role || r.role.empty()) continue;
    if (!referenceLevel(r.provider, t.provider, r.effect) || !referenceLevel(r.service, t.service, r.effect) ||
        !referenceLevel(r.resource, t.resource, r.effect)) {
      continue;
    }
    if (!topPriority || r.priority > *topPriority) {
      topPriority = r.priority;
      anyDenyAtTop = r.effect == Effect::Deny;
    } else if (r.priority == *topPriority) {
      anyDenyAtTop = anyDenyAtTop || r.effect == Effect::Deny;
    }
  }
  return topPriority && !anyDenyAtTop;
}

std::string describe(const Target& t) {
  return std::string(verbName(t.verb)) + " p=" + t.provider + " s=" + t.service + " r=" + t.resource;
}

void checkDecision(const std::vector<Rule>& rules, const std::vector<std::string>& roles, const Target& t,
                   std::string_view input) {
  Decision d = decide(rules, roles, t);
  std::optional<int> top;
  bool expected = referenceAllowed(rules, roles, t, top);
  if (d.allowed != expected) fail("decide() differs from the reference", input, describe(t));
  if (top.has_value() != (d.rule != nullptr)) fail("decide() reports a rule iff one applies", input, describe(t));
  if (d.rule) {
    if (d.rule < rules.data() || d.rule >= rules.data() + rules.size()) fail("rule points outside the set", input, "");
    if (d.rule->priority != *top) fail("reported rule is not of the top priority", input, describe(t));
    if (d.allowed != (d.rule->effect == Effect::Allow)) fail("reported rule has the wrong effect", input, describe(t));
  }
  if (d.allowed && (t.provider.find('/') != std::string::npos || t.service.find('/') != std::string::npos ||
                    t.resource.find('/') != std::string::npos)) {
    fail("a name with '/' was allowed", input, describe(t));
  }
}

const std::vector<Rule>& fixedRules() {
  static const std::vector<Rule> rules = [] {
    auto parsed = parseRuleLines(
        "*:DESCRIBE,READ:/providers/public*/**\n"
        "ops:*:/providers/**\n"
        "reader:READ:/providers/sensor-?/services/env/resources/temp*\n"
        "reader:DESCRIBE:/providers/sensor-?\n"
        "lister:DESCRIBE:/providers\n");
    if (!parsed.error.empty()) std::abort();
    std::vector<Rule> out = parsed.rules;
    Rule denyAdmin;
    denyAdmin.role = "*";
    denyAdmin.provider = "admin";
    denyAdmin.verbs = {Verb::Describe, Verb::Read, Verb::Update, Verb::Act};
    denyAdmin.effect = Effect::Deny;
    denyAdmin.priority = 100;
    denyAdmin.source = "deny-admin";
    out.push_back(denyAdmin);
    Rule denySecret = denyAdmin;
    denySecret.role = "ops";
    denySecret.provider = "*";
    denySecret.service = "secret*";
    denySecret.priority = 0;
    denySecret.source = "deny-secret";
    out.push_back(denySecret);
    return out;
  }();
  return rules;
}

const std::vector<std::vector<std::string>>& roleSets() {
  static const std::vector<std::vector<std::string>> sets = {
      {}, {"ops"}, {"reader"}, {"lister"}, {"ops", "reader", "lister"}, {""}};
  return sets;
}

void fuzzRuleText(std::string_view input) {
  auto parsed = parseRuleLines(input);
  if (!parsed.error.empty()) {
    if (!parsed.rules.empty()) fail("rules returned with an error", input, parsed.error);
    if (parsed.error.rfind("line ", 0) != 0 && parsed.error.rfind("the rules text", 0) != 0) {
      fail("error does not name a line", input, parsed.error);
    }
    if (!printableAscii(parsed.error)) fail("error message holds raw bytes", input, parsed.error);
    return;
  }
  std::vector<Target> targets = {
      {"", "", "", Verb::Describe},         {"p", "", "", Verb::Describe},   {"p", "s", "", Verb::Describe},
      {"p", "s", "r", Verb::Read},          {"sensor-1", "env", "temperature", Verb::Update},
      {"urn:a.b_c-d", "x", "y", Verb::Act}, {"", "", "", Verb::Read},
  };
  for (const Rule& r : parsed.rules) {
    if (auto err = checkRule(r); !err.empty()) fail("parsed rule fails checkRule()", input, err);
    if (r.source.rfind("line ", 0) != 0) fail("rule source is not a line", input, r.source);
    std::string line = toRuleLine(r);
    if (line.empty()) fail("parsed rule cannot be written back", input, r.source);
    auto again = parseRuleLines(line);
    if (!again.error.empty() || again.rules.size() != 1) fail("written rule does not parse", input, line + " : " + again.error);
    const Rule& b = again.rules[0];
    if (b.role != r.role || b.provider != r.provider || b.service != r.service || b.resource != r.resource ||
        b.verbs != r.verbs || b.effect != r.effect || b.priority != r.priority) {
      fail("rule changed through toRuleLine()", input, line);
    }
    // Names taken from the fuzzed globs, so that matches happen (a few: decide() is O(rules)).
    if (targets.size() < 24) targets.push_back({r.provider, r.service, r.resource, Verb::Read});
  }
  std::vector<std::string> roles;
  for (const Rule& r : parsed.rules) {
    if (roles.size() < 4) roles.push_back(r.role);
  }
  for (const auto& t : targets) {
    checkDecision(parsed.rules, roles, t, input);
    checkDecision(parsed.rules, {}, t, input);
  }
}

void fuzzPath(std::string_view input) {
  auto result = canonicalisePath(input);
  if (result.ok.has_value() == !result.error.empty()) fail("exactly one of ok/error must be set", input, result.error);
  if (!result.ok) return;
  const CanonicalPath& path = *result.ok;
  if (path.segments.size() > kMaxPathSegments) fail("too many segments", input, "");
  for (const auto& seg : path.segments) {
    if (seg.empty() || seg == "." || seg == "..") fail("empty or dot segment survived", input, seg);
    for (char ch : seg) {
      auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f || ch == '\\') fail("control character or backslash survived", input, seg);
    }
  }
  std::string text = toString(path);
  auto again = canonicalisePath(text);
  if (!again.ok) fail("toString() does not canonicalise", input, text + " : " + again.error);
  if (!(*again.ok == path)) fail("canonicalisation is not idempotent", input, text + " -> " + toString(*again.ok));
  for (std::string_view method : {"GET", "HEAD", "POST", "PUT", "DELETE"}) {
    auto target = targetOf(path, method);
    if (!target) continue;
    if (target->service.empty() && !target->resource.empty()) fail("resource named without service", input, text);
    if (target->provider.empty() && !target->service.empty()) fail("service named without provider", input, text);
    for (const auto& roles : roleSets()) {
      checkDecision(fixedRules(), roles, *target, input);
      if (target->provider == "admin" && decide(fixedRules(), roles, *target).allowed) {
        fail("provider admin reached", input, text);
      }
    }
  }
}

void fuzzGlob(std::string_view input) {
  auto nl = input.find('\n');
  if (nl == std::string_view::npos) return;
  std::string_view glob = input.substr(0, nl);
  std::string_view name = input.substr(nl + 1);
  if (glob.size() > kMaxGlobBytes) glob = glob.substr(0, kMaxGlobBytes);
  if (globMatch(glob, name) != referenceGlob(glob, name)) {
    fail("globMatch() differs from the reference", input, std::string(glob) + " vs " + std::string(name));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzzRuleText(input);
  fuzzPath(input);
  fuzzGlob(input);
  return 0;
}
