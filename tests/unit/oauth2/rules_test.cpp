// Authorization rules: parsing, matching, decisions, REST path mapping (SECURITY-CHECKLIST A15, A16).

#include "gatehouse/oauth2/rules.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace gatehouse::oauth2 {
namespace {

using Roles = std::vector<std::string>;

Rule rule(std::string role, std::string p, std::string s, std::string r, std::vector<Verb> verbs,
          Effect effect = Effect::Allow, int priority = 0, std::string source = "") {
  Rule out;
  out.role = std::move(role);
  out.provider = std::move(p);
  out.service = std::move(s);
  out.resource = std::move(r);
  out.verbs = std::move(verbs);
  out.effect = effect;
  out.priority = priority;
  out.source = std::move(source);
  return out;
}

std::vector<Rule> parseOk(std::string_view text) {
  auto r = parseRuleLines(text);
  EXPECT_TRUE(r.error.empty()) << r.error;
  return r.rules;
}

std::string parseError(std::string_view text) {
  auto r = parseRuleLines(text);
  EXPECT_FALSE(r.error.empty()) << "accepted: " << text;
  EXPECT_TRUE(r.rules.empty());
  return r.error;
}

// ---- parsing -------------------------------------------------------------------------------

TEST(ParseRuleLines, PatternFormsMapToLevelGlobs) {
  struct Case {
    const char* pattern;
    const char *p, *s, *r;
  };
  const Case cases[] = {
      {"/**", "*", "*", "*"},
      {"/providers/**", "*", "*", "*"},
      {"/sensinact/providers/**", "*", "*", "*"},
      {"/providers", "", "", ""},
      {"/providers/sensor-?", "sensor-?", "", ""},
      {"/providers/sensor-?/services", "sensor-?", "", ""},
      {"/providers/sensor-?/**", "sensor-?", "*", "*"},
      {"/providers/sensor-?/services/**", "sensor-?", "*", "*"},
      {"/providers/*/services/env", "*", "env", ""},
      {"/providers/*/services/env/resources", "*", "env", ""},
      {"/providers/*/services/env/**", "*", "env", "*"},
      {"/providers/*/services/env/resources/temperature", "*", "env", "temperature"},
      {"/providers/*/services/env/resources/temperature/**", "*", "env", "temperature"},
      {"/providers/a:b.c_d-e/services/s*x?/resources/*", "a:b.c_d-e", "s*x?", "*"},
      {"/providers/p/", "p", "", ""},
  };
  for (const auto& c : cases) {
    auto rules = parseOk(std::string("reader:READ:") + c.pattern);
    ASSERT_EQ(rules.size(), 1u) << c.pattern;
    EXPECT_EQ(rules[0].provider, c.p) << c.pattern;
    EXPECT_EQ(rules[0].service, c.s) << c.pattern;
    EXPECT_EQ(rules[0].resource, c.r) << c.pattern;
    EXPECT_EQ(rules[0].role, "reader");
    EXPECT_EQ(rules[0].effect, Effect::Allow);
    EXPECT_EQ(rules[0].priority, 0);
  }
}

TEST(ParseRuleLines, VerbsAreCaseInsensitiveStarMeansAllAndListsAreDeduplicated) {
  auto rules = parseOk("a:describe:/**\nb:Read:/**\nc:UPDATE:/**\nd:aCt:/**\ne:*:/**\nf:act, read ,READ:/**");
  ASSERT_EQ(rules.size(), 6u);
  EXPECT_EQ(rules[0].verbs, std::vector<Verb>{Verb::Describe});
  EXPECT_EQ(rules[1].verbs, std::vector<Verb>{Verb::Read});
  EXPECT_EQ(rules[2].verbs, std::vector<Verb>{Verb::Update});
  EXPECT_EQ(rules[3].verbs, std::vector<Verb>{Verb::Act});
  EXPECT_EQ(rules[4].verbs, (std::vector<Verb>{Verb::Describe, Verb::Read, Verb::Update, Verb::Act}));
  EXPECT_EQ(rules[5].verbs, (std::vector<Verb>{Verb::Read, Verb::Act}));
}

TEST(ParseRuleLines, CommentsBlankLinesWhitespaceCrlfAndBomAreAccepted) {
  auto rules = parseOk(
      "\xEF\xBB\xBF# operators\r\n"
      "\r\n"
      "  operator : READ : /providers/*/** \r\n"
      "\t# indented comment\n"
      "*:DESCRIBE:/providers\n");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].role, "operator");
  EXPECT_EQ(rules[0].source, "line 3");
  EXPECT_EQ(rules[1].role, "*");
  EXPECT_EQ(rules[1].source, "line 5");
  EXPECT_TRUE(parseOk("").empty());
  EXPECT_TRUE(parseOk("# only a comment\n\n").empty());
}

TEST(ParseRuleLines, RoleEndsAtFirstColonAndPatternMayHoldColons) {
  auto rules = parseOk("ops:READ:/providers/urn:dev:1/**");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].role, "ops");
  EXPECT_EQ(rules[0].provider, "urn:dev:1");
}

TEST(ParseRuleLines, MalformedLinesAreErrorsNamingTheLine) {
  struct Case {
    const char* line;
    const char* expected;  // part of the message
  };
  const Case cases[] = {
      {"reader", "expected role:VERB:path-pattern"},
      {"reader:READ", "expected role:VERB:path-pattern"},
      {":READ:/**", "role is empty"},
      {"adm*:READ:/**", "contains '*'"},
      {"my role:READ:/**", "whitespace"},
      {"reader:REED:/**", "unknown verb 'REED'"},
      {"reader::/**", "an empty verb"},
      {"reader:READ,:/**", "an empty verb"},
      {"reader:GET:/**", "unknown verb 'GET'"},
      {"reader:READ:", "path pattern is empty"},
      {"reader:READ:providers/**", "must start with '/'"},
      {"reader:READ:/", "names no level"},
      {"reader:READ:/sensinact", "names no level"},
      {"reader:READ:/things/**", "'things' where 'providers' was expected"},
      {"reader:READ:/providers/p/resources/r", "'resources' where 'services' was expected"},
      {"reader:READ:/providers/**/services/s", "'**' must be the last segment"},
      {"reader:READ:/**/x", "'**' must be the last segment"},
      {"reader:READ:/providers/sensor**", "only allowed as a whole last segment"},
      {"reader:READ:/providers/p/services/s/resources/r/GET", "nothing may follow the resource name"},
      {"reader:READ:/providers//p", "empty segment"},
      {"reader:READ:/providers/..", "dot segment"},
      {"reader:READ:/providers/.", "dot segment"},
      {"reader:READ:/providers/a b", "whitespace"},
      {"reader:READ:/providers/a%2Fb", "contains '%'"},
      {"reader:READ:/providers/[ab]", "contains '['"},
      {"reader:READ:/providers/p\x01", "control character"},
      {"reader:READ:/providers/\xC3", "UTF-8"},
      {"\xEF\xBB\xBFreader:READ:/**", "byte order mark"},
  };
  for (const auto& c : cases) {
    std::string text = std::string("ok:READ:/**\n# comment\n") + c.line + "\nok:READ:/**\n";
    std::string err = parseError(text);
    EXPECT_EQ(err.rfind("line 3: ", 0), 0u) << c.line << " -> " << err;
    EXPECT_NE(err.find(c.expected), std::string::npos) << c.line << " -> " << err;
    for (char ch : err) {
      auto u = static_cast<unsigned char>(ch);
      EXPECT_TRUE(u >= 0x20 && u < 0x7f) << "raw byte in message for " << c.line;
    }
  }
}

TEST(ParseRuleLines, EveryMalformedLineIsReportedAndNothingIsApplied) {
  std::string err = parseError("good:READ:/**\nbad1\ngood:READ:/**\nbad2:NOPE:/**\n");
  EXPECT_NE(err.find("line 2: "), std::string::npos) << err;
  EXPECT_NE(err.find("line 4: "), std::string::npos) << err;
  EXPECT_EQ(err.find("line 1"), std::string::npos) << err;
  EXPECT_EQ(err.find("line 3"), std::string::npos) << err;

  std::string many;
  for (int i = 0; i < 30; ++i) many += "bad\n";
  err = parseError(many);
  EXPECT_NE(err.find("line 20: "), std::string::npos);
  EXPECT_EQ(err.find("line 21: "), std::string::npos);
  EXPECT_NE(err.find("and 10 more malformed lines"), std::string::npos) << err;
}

TEST(ParseRuleLines, SizeLimitIsEnforced) {
  std::string text(kMaxRuleTextBytes + 1, '#');
  EXPECT_NE(parseError(text).find("limit is"), std::string::npos);
}

TEST(ToRuleLine, RoundTripsThroughTheParser) {
  const std::vector<Rule> rules = {
      rule("reader", "*", "*", "*", {Verb::Read}),
      rule("*", "", "", "", {Verb::Describe}),
      rule("ops", "sensor-?", "", "", {Verb::Describe, Verb::Act}),
      rule("ops", "urn:x", "env", "", {Verb::Read, Verb::Update}),
      rule("x.y", "p*", "s", "r?", {Verb::Describe, Verb::Read, Verb::Update, Verb::Act}),
  };
  for (const auto& r : rules) {
    std::string line = toRuleLine(r);
    ASSERT_FALSE(line.empty());
    auto parsed = parseOk(line);
    ASSERT_EQ(parsed.size(), 1u) << line;
    EXPECT_EQ(parsed[0].role, r.role) << line;
    EXPECT_EQ(parsed[0].provider, r.provider) << line;
    EXPECT_EQ(parsed[0].service, r.service) << line;
    EXPECT_EQ(parsed[0].resource, r.resource) << line;
    EXPECT_EQ(parsed[0].verbs, r.verbs) << line;
  }
  EXPECT_EQ(toRuleLine(rules[0]), "reader:READ:/providers/*/services/*/resources/*");
}

TEST(ToRuleLine, RulesTheLineSyntaxCannotExpressGiveEmptyText) {
  EXPECT_EQ(toRuleLine(rule("r", "*", "*", "*", {Verb::Read}, Effect::Deny)), "");
  EXPECT_EQ(toRuleLine(rule("r", "*", "*", "*", {Verb::Read}, Effect::Allow, 5)), "");
  EXPECT_EQ(toRuleLine(rule("a:b", "*", "*", "*", {Verb::Read})), "");
  EXPECT_EQ(toRuleLine(rule("#r", "*", "*", "*", {Verb::Read})), "");
  EXPECT_EQ(toRuleLine(rule("r", "a b", "*", "*", {Verb::Read})), "");
  EXPECT_EQ(toRuleLine(rule("r", "*", "*", "*", {})), "");
}

TEST(CheckRule, RefusesUnusableStructuredRules) {
  EXPECT_EQ(checkRule(rule("r", "*", "*", "*", {Verb::Read})), "");
  EXPECT_EQ(checkRule(rule("r", "p", "", "", {Verb::Read})), "");
  EXPECT_NE(checkRule(rule("r", "*", "*", "*", {}, Effect::Allow, 0, "rules[3]")).find("'rules[3]': the rule names no verb"),
            std::string::npos);
  EXPECT_NE(checkRule(rule("", "*", "*", "*", {Verb::Read})).find("role is empty"), std::string::npos);
  EXPECT_NE(checkRule(rule("r", "", "s", "", {Verb::Read})).find("provider pattern is empty"), std::string::npos);
  EXPECT_NE(checkRule(rule("r", "p", "", "x", {Verb::Read})).find("service pattern is empty"), std::string::npos);
  EXPECT_NE(checkRule(rule("r", "a/b", "*", "*", {Verb::Read})).find("contains '/'"), std::string::npos);
  EXPECT_NE(checkRule(rule("r", std::string(kMaxGlobBytes + 1, 'a'), "*", "*", {Verb::Read})).find("longer than"),
            std::string::npos);
  EXPECT_NE(checkRule(rule("r", "*", "a\nb", "*", {Verb::Read})).find("control character"), std::string::npos);
  EXPECT_NE(checkRule(rule("r", "*", "*", "*", {static_cast<Verb>(9)})).find("unknown verb"), std::string::npos);
}

// ---- glob matching -------------------------------------------------------------------------

TEST(GlobMatch, Wildcards) {
  EXPECT_TRUE(globMatch("*", "anything"));
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_TRUE(globMatch("", ""));
  EXPECT_FALSE(globMatch("", "a"));
  EXPECT_TRUE(globMatch("sensor-?", "sensor-1"));
  EXPECT_FALSE(globMatch("sensor-?", "sensor-12"));
  EXPECT_FALSE(globMatch("sensor-?", "sensor-"));
  EXPECT_TRUE(globMatch("a*b*c", "aXXbYYc"));
  EXPECT_TRUE(globMatch("a*b*c", "abc"));
  EXPECT_FALSE(globMatch("a*b*c", "aXXbYY"));
  EXPECT_TRUE(globMatch("*.temp", "room.1.temp"));
  EXPECT_FALSE(globMatch("*.temp", "room.1.temperature"));
  EXPECT_TRUE(globMatch("a**?", "ab"));
  EXPECT_FALSE(globMatch("admin", "Admin"));  // names are case-sensitive
}

TEST(GlobMatch, NeverMatchesNamesWithSlashOrTooLong) {
  EXPECT_FALSE(globMatch("*", "a/b"));
  EXPECT_FALSE(globMatch("a?b", "a/b"));
  EXPECT_FALSE(globMatch("public*", "public/../admin"));
  EXPECT_TRUE(globMatch("*", std::string(kMaxNameBytes, 'x')));
  EXPECT_FALSE(globMatch("*", std::string(kMaxNameBytes + 1, 'x')));
}

TEST(GlobMatch, PathologicalPatternsStayFast) {
  std::string glob;
  for (int i = 0; i < 60; ++i) glob += "a*";
  glob += "b";
  std::string name(kMaxNameBytes, 'a');
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(globMatch(glob, name));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  // Exponential backtracking would take astronomically long; the two-pointer algorithm takes ~ms.
  EXPECT_LT(ms, 2000);
}

// ---- REST path -> target -------------------------------------------------------------------

std::optional<Target> targetOfRaw(std::string_view raw, std::string_view method) {
  auto p = canonicalisePath(raw);
  EXPECT_TRUE(p.ok) << raw << ": " << p.error;
  if (!p.ok) return std::nullopt;
  return targetOf(*p.ok, method);
}

void expectTarget(std::string_view raw, std::string_view method, const char* p, const char* s, const char* r, Verb v) {
  auto t = targetOfRaw(raw, method);
  ASSERT_TRUE(t.has_value()) << method << " " << raw;
  EXPECT_EQ(t->provider, p) << raw;
  EXPECT_EQ(t->service, s) << raw;
  EXPECT_EQ(t->resource, r) << raw;
  EXPECT_EQ(t->verb, v) << method << " " << raw;
}

TEST(TargetOf, ModelRoutes) {
  const std::string res = "/sensinact/providers/p/services/s/resources/r";
  expectTarget("/sensinact", "GET", "", "", "", Verb::Describe);
  expectTarget("/sensinact/providers", "GET", "", "", "", Verb::Describe);
  expectTarget("/sensinact/providers", "HEAD", "", "", "", Verb::Describe);
  expectTarget("/sensinact/providers/p", "GET", "p", "", "", Verb::Describe);
  expectTarget("/sensinact/providers/p/services", "GET", "p", "", "", Verb::Describe);
  expectTarget("/sensinact/providers/p/services/s", "GET", "p", "s", "", Verb::Describe);
  expectTarget("/sensinact/providers/p/services/s/resources", "GET", "p", "s", "", Verb::Describe);
  expectTarget(res, "GET", "p", "s", "r", Verb::Describe);
  expectTarget(res + "/GET", "GET", "p", "s", "r", Verb::Read);
  expectTarget(res + "/GET", "POST", "p", "s", "r", Verb::Read);
  expectTarget(res + "/HISTORY", "GET", "p", "s", "r", Verb::Read);
  expectTarget(res + "/SUBSCRIBE", "GET", "p", "s", "r", Verb::Read);
  expectTarget(res + "/SET", "POST", "p", "s", "r", Verb::Update);
  expectTarget(res + "/SET", "PUT", "p", "s", "r", Verb::Update);
  expectTarget(res + "/ACT", "POST", "p", "s", "r", Verb::Act);
  expectTarget("/sensinact/snapshot", "POST", "", "", "", Verb::Read);
  expectTarget("/sensinact/snapshot", "GET", "", "", "", Verb::Read);
  expectTarget("/sensinact/snapshot/subscribe", "GET", "", "", "", Verb::Read);
  // Names equal to keywords are still names in their position.
  expectTarget("/sensinact/providers/services/services/resources", "GET", "services", "resources", "", Verb::Describe);
}

TEST(TargetOf, NonModelPathsAndWrongMethodsGiveNothing) {
  const std::string res = "/sensinact/providers/p/services/s/resources/r";
  for (const auto& [raw, method] : std::vector<std::pair<std::string, std::string>>{
           {"/", "GET"},
           {"/health", "GET"},
           {"/metrics", "GET"},
           {"/openapi.json", "GET"},
           {"/sensinact/runtime/plugins", "GET"},
           {"/sensinact/runtime/plugins/reload", "POST"},
           {"/admin/sensinact/providers", "GET"},
           {"/sensinact/providers/p/things", "GET"},
           {"/sensinact/providers/p/services/s/things", "GET"},
           {res + "/get", "GET"},      // action names are case-sensitive, like the routes
           {res + "/SET", "GET"},      // SET only by POST/PUT
           {res + "/ACT", "GET"},
           {res + "/GET", "DELETE"},
           {res + "/GET/x", "GET"},
           {"/sensinact/providers", "POST"},
           {"/sensinact/providers", "get"},
           {"/sensinact/snapshot/subscribe", "POST"},
           {"/sensinact/snapshot/other", "GET"},
       }) {
    EXPECT_FALSE(targetOfRaw(raw, method).has_value()) << method << " " << raw;
  }
}

// ---- decisions -----------------------------------------------------------------------------

Target read(std::string p, std::string s, std::string r) { return Target{std::move(p), std::move(s), std::move(r), Verb::Read}; }

TEST(Decide, DefaultDeny) {
  EXPECT_FALSE(decide({}, {"admin"}, read("p", "s", "r")).allowed);
  EXPECT_EQ(decide({}, {"admin"}, read("p", "s", "r")).rule, nullptr);
  std::vector<Rule> rules = {rule("reader", "other", "*", "*", {Verb::Read})};
  auto d = decide(rules, {"reader"}, read("p", "s", "r"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, nullptr);
}

TEST(Decide, RoleMustMatchExactly) {
  std::vector<Rule> rules = {rule("reader", "*", "*", "*", {Verb::Read})};
  EXPECT_TRUE(decide(rules, {"reader"}, read("p", "s", "r")).allowed);
  EXPECT_TRUE(decide(rules, {"x", "reader"}, read("p", "s", "r")).allowed);
  EXPECT_FALSE(decide(rules, {"Reader"}, read("p", "s", "r")).allowed);
  EXPECT_FALSE(decide(rules, {"reader2"}, read("p", "s", "r")).allowed);
  EXPECT_FALSE(decide(rules, {"read"}, read("p", "s", "r")).allowed);
  EXPECT_FALSE(decide(rules, {}, read("p", "s", "r")).allowed);
}

// A16 at library level: an authenticated principal without the needed role is not allowed (the
// REST layer answers 403 insufficient_scope, not 401).
TEST(Decide, AuthenticatedPrincipalWithoutTheNeededRoleIsNotAllowed) {
  auto rules = parseOk("operator:UPDATE:/providers/*/**\nviewer:READ:/providers/*/**\n");
  Target set{"p", "s", "r", Verb::Update};
  EXPECT_TRUE(decide(rules, {"operator"}, set).allowed);
  auto d = decide(rules, {"viewer"}, set);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, nullptr);
  EXPECT_TRUE(decide(rules, {"viewer"}, read("p", "s", "r")).allowed);
}

TEST(Decide, StarRoleMeansAnyAuthenticatedCaller) {
  std::vector<Rule> rules = {rule("*", "public", "*", "*", {Verb::Read})};
  EXPECT_TRUE(decide(rules, {}, read("public", "s", "r")).allowed);
  EXPECT_TRUE(decide(rules, {"whatever"}, read("public", "s", "r")).allowed);
  EXPECT_FALSE(decide(rules, {}, read("private", "s", "r")).allowed);
}

TEST(Decide, EmptyRoleNeverMatches) {
  std::vector<Rule> rules = {rule("", "*", "*", "*", {Verb::Read})};
  EXPECT_FALSE(decide(rules, {""}, read("p", "s", "r")).allowed);
}

TEST(Decide, VerbsMustContainTheTargetVerb) {
  std::vector<Rule> rules = {rule("r", "*", "*", "*", {Verb::Read, Verb::Describe})};
  EXPECT_TRUE(decide(rules, {"r"}, Target{"p", "s", "x", Verb::Read}).allowed);
  EXPECT_TRUE(decide(rules, {"r"}, Target{"p", "s", "x", Verb::Describe}).allowed);
  EXPECT_FALSE(decide(rules, {"r"}, Target{"p", "s", "x", Verb::Update}).allowed);
  EXPECT_FALSE(decide(rules, {"r"}, Target{"p", "s", "x", Verb::Act}).allowed);
  std::vector<Rule> none = {rule("r", "*", "*", "*", {})};
  EXPECT_FALSE(decide(none, {"r"}, read("p", "s", "x")).allowed);
}

TEST(Decide, GlobsAtEachLevel) {
  auto rules = parseOk("r:READ:/providers/sensor-?/services/env/resources/temp*\n");
  EXPECT_TRUE(decide(rules, {"r"}, read("sensor-1", "env", "temperature")).allowed);
  EXPECT_FALSE(decide(rules, {"r"}, read("sensor-10", "env", "temperature")).allowed);
  EXPECT_FALSE(decide(rules, {"r"}, read("sensor-1", "admin", "temperature")).allowed);
  EXPECT_FALSE(decide(rules, {"r"}, read("sensor-1", "env", "humidity")).allowed);
}

TEST(Decide, LevelRulesStopAtTheirLevelAndDoubleStarExtendsBelow) {
  auto rules = parseOk("r:DESCRIBE:/providers/p\nr:DESCRIBE:/providers/q/**\n");
  EXPECT_TRUE(decide(rules, {"r"}, Target{"p", "", "", Verb::Describe}).allowed);
  EXPECT_FALSE(decide(rules, {"r"}, Target{"p", "s", "", Verb::Describe}).allowed);
  EXPECT_FALSE(decide(rules, {"r"}, Target{"p", "s", "x", Verb::Describe}).allowed);
  EXPECT_TRUE(decide(rules, {"r"}, Target{"q", "", "", Verb::Describe}).allowed);
  EXPECT_TRUE(decide(rules, {"r"}, Target{"q", "s", "", Verb::Describe}).allowed);
  EXPECT_TRUE(decide(rules, {"r"}, Target{"q", "s", "x", Verb::Describe}).allowed);
}

TEST(Decide, HighestPriorityWins) {
  std::vector<Rule> rules = {
      rule("r", "*", "*", "*", {Verb::Read}, Effect::Deny, 1, "deny-all"),
      rule("r", "p", "*", "*", {Verb::Read}, Effect::Allow, 5, "allow-p"),
      rule("r", "p", "secret", "*", {Verb::Read}, Effect::Deny, 9, "deny-secret"),
  };
  auto d = decide(rules, {"r"}, read("p", "s", "x"));
  EXPECT_TRUE(d.allowed);
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->source, "allow-p");
  d = decide(rules, {"r"}, read("p", "secret", "x"));
  EXPECT_FALSE(d.allowed);
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->source, "deny-secret");
  d = decide(rules, {"r"}, read("q", "s", "x"));
  EXPECT_FALSE(d.allowed);
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->source, "deny-all");
  // Order in the vector does not matter.
  std::vector<Rule> reversed(rules.rbegin(), rules.rend());
  EXPECT_TRUE(decide(reversed, {"r"}, read("p", "s", "x")).allowed);
  EXPECT_FALSE(decide(reversed, {"r"}, read("p", "secret", "x")).allowed);
}

TEST(Decide, DenyBeatsAllowAtEqualPriorityInEitherOrder) {
  Rule allow = rule("a", "*", "*", "*", {Verb::Read}, Effect::Allow, 3, "allow");
  Rule deny = rule("b", "p", "*", "*", {Verb::Read}, Effect::Deny, 3, "deny");
  for (const auto& rules : {std::vector<Rule>{allow, deny}, std::vector<Rule>{deny, allow}}) {
    auto d = decide(rules, {"a", "b"}, read("p", "s", "r"));
    EXPECT_FALSE(d.allowed);
    ASSERT_NE(d.rule, nullptr);
    EXPECT_EQ(d.rule->source, "deny");
    EXPECT_TRUE(decide(rules, {"a", "b"}, read("q", "s", "r")).allowed);
    EXPECT_TRUE(decide(rules, {"a"}, read("p", "s", "r")).allowed);  // the deny is for role b only
  }
}

TEST(Decide, FirstOfEqualWinnersIsReported) {
  std::vector<Rule> rules = {rule("r", "*", "*", "*", {Verb::Read}, Effect::Allow, 0, "first"),
                             rule("r", "p", "*", "*", {Verb::Read}, Effect::Allow, 0, "second")};
  auto d = decide(rules, {"r"}, read("p", "s", "x"));
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->source, "first");
}

TEST(Decide, ListingIsAllowedWhenARuleCouldMatchAnItem) {
  auto rules = parseOk("reader:DESCRIBE:/providers/a*/**\n");
  Target listProviders{"", "", "", Verb::Describe};
  EXPECT_TRUE(decide(rules, {"reader"}, listProviders).allowed);
  // The caller filters the list item by item.
  EXPECT_TRUE(decide(rules, {"reader"}, Target{"alpha", "", "", Verb::Describe}).allowed);
  EXPECT_FALSE(decide(rules, {"reader"}, Target{"beta", "", "", Verb::Describe}).allowed);
  // A reader of one resource may see its way to it.
  auto deep = parseOk("reader:DESCRIBE:/providers/p/services/s/resources/r\n");
  EXPECT_TRUE(decide(deep, {"reader"}, listProviders).allowed);
  EXPECT_TRUE(decide(deep, {"reader"}, Target{"p", "", "", Verb::Describe}).allowed);
  EXPECT_TRUE(decide(deep, {"reader"}, Target{"p", "s", "", Verb::Describe}).allowed);
  EXPECT_FALSE(decide(deep, {"reader"}, Target{"q", "", "", Verb::Describe}).allowed);
  EXPECT_FALSE(decide(deep, {"reader"}, Target{"p", "t", "", Verb::Describe}).allowed);
  // Without any rule for the verb, the list is denied too.
  EXPECT_FALSE(decide(rules, {"other"}, listProviders).allowed);
  EXPECT_FALSE(decide(rules, {"reader"}, Target{"", "", "", Verb::Read}).allowed);
}

TEST(Decide, DenyingOneItemDoesNotHideTheListButDenyingAllDoes) {
  std::vector<Rule> rules = {rule("r", "*", "*", "*", {Verb::Describe}, Effect::Allow, 0, "allow"),
                             rule("r", "secret", "*", "*", {Verb::Describe}, Effect::Deny, 0, "deny-secret")};
  Target listProviders{"", "", "", Verb::Describe};
  EXPECT_TRUE(decide(rules, {"r"}, listProviders).allowed);
  EXPECT_FALSE(decide(rules, {"r"}, Target{"secret", "", "", Verb::Describe}).allowed);
  rules.push_back(rule("r", "**", "*", "*", {Verb::Describe}, Effect::Deny, 0, "deny-all"));
  auto d = decide(rules, {"r"}, listProviders);
  EXPECT_FALSE(d.allowed);
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->source, "deny-all");
  // A deny of the provider list itself ("/providers") hides the list.
  std::vector<Rule> listDeny = {rule("r", "*", "*", "*", {Verb::Describe}),
                                rule("r", "", "", "", {Verb::Describe}, Effect::Deny)};
  EXPECT_FALSE(decide(listDeny, {"r"}, listProviders).allowed);
  EXPECT_TRUE(decide(listDeny, {"r"}, Target{"p", "", "", Verb::Describe}).allowed);
  // Denying provider p itself (level rule) hides p's description and its service list.
  std::vector<Rule> levelDeny = {rule("r", "*", "*", "*", {Verb::Describe}),
                                 rule("r", "p", "", "", {Verb::Describe}, Effect::Deny)};
  EXPECT_FALSE(decide(levelDeny, {"r"}, Target{"p", "", "", Verb::Describe}).allowed);
  EXPECT_TRUE(decide(levelDeny, {"r"}, Target{"p", "s", "", Verb::Describe}).allowed);
  EXPECT_TRUE(decide(levelDeny, {"r"}, listProviders).allowed);
}

TEST(Decide, NamesWithEncodedSlashNeverMatch) {
  std::vector<Rule> rules = {rule("r", "*", "*", "*", {Verb::Read})};
  EXPECT_FALSE(decide(rules, {"r"}, read("a/b", "s", "x")).allowed);
  EXPECT_FALSE(decide(rules, {"r"}, read("p", "s/t", "x")).allowed);
}

// ---- A15: spellings of a path reach the canonical decision, or an error --------------------

// nullopt = refused before any rule is applied (bad path or not a model path).
std::optional<bool> allowedFor(const std::vector<Rule>& rules, const Roles& roles, std::string_view raw,
                               std::string_view method) {
  auto p = canonicalisePath(raw);
  if (!p.ok) return std::nullopt;
  auto t = targetOf(*p.ok, method);
  if (!t) return std::nullopt;
  return decide(rules, roles, *t).allowed;
}

TEST(A15, VariantsOfAProtectedPathAreDeniedOrRefused) {
  // Anyone may read public providers (glob public*), nobody may read "admin" (also an explicit
  // deny at high priority), everything else is default deny.
  auto rules = parseOk("*:READ,DESCRIBE:/providers/public*/**\nops:READ:/providers/**\n");
  rules.push_back(rule("*", "admin", "*", "*", {Verb::Read, Verb::Describe}, Effect::Deny, 100, "deny-admin"));
  const Roles roles = {"ops"};
  const std::string tail = "/services/s/resources/r/GET";
  const std::string canonical = "/sensinact/providers/admin" + tail;
  ASSERT_EQ(allowedFor(rules, roles, canonical, "GET"), std::optional<bool>(false));
  ASSERT_EQ(allowedFor(rules, roles, "/sensinact/providers/other" + tail, "GET"), std::optional<bool>(true));
  ASSERT_EQ(allowedFor(rules, {}, "/sensinact/providers/public-1" + tail, "GET"), std::optional<bool>(true));

  const std::vector<std::string> variants = {
      "/sensinact/providers/x/../admin" + tail,
      "/sensinact/providers/./admin" + tail,
      "/sensinact/providers//admin" + tail,
      "//sensinact/providers/admin" + tail,
      "/sensinact/providers/%61dmin" + tail,
      "/sensinact/providers/%61%64%6d%69%6e" + tail,
      "/sensinact/providers/admin" + tail + "/",
      "/sensinact/providers/admin;jsessionid=1" + tail,
      "/sensinact/providers/admin/services/s/resources/r/GET;x",
      "/sensinact/providers/public/%2e%2e/admin" + tail,
      "/sensinact/providers/public/%2E%2E/admin" + tail,
      "/sensinact/providers/public/..;/admin" + tail,
      "/sensinact/providers/public%2F..%2Fadmin" + tail,
      "/sensinact/providers/public%2f..%2fadmin" + tail,
      "/sensinact/providers/admin%00" + tail,
      "/sensinact/providers/admin%00public" + tail,
      "/../sensinact/providers/admin" + tail,
      "/sensinact/providers/public\\..\\admin" + tail,
  };
  for (const auto& v : variants) {
    auto d = allowedFor(rules, roles, v, "GET");
    EXPECT_NE(d, std::optional<bool>(true)) << v;
    // An anonymous-but-authenticated caller ("*" rules only) must not get in either.
    EXPECT_NE(allowedFor(rules, {}, v, "GET"), std::optional<bool>(true)) << v;
  }
  // Decoding happens once: "%2561dmin" names the provider "%61dmin", not "admin" (the REST layer
  // decodes once too, so it looks up "%61dmin").
  auto p = canonicalisePath("/sensinact/providers/%2561dmin" + tail);
  ASSERT_TRUE(p.ok);
  auto t = targetOf(*p.ok, "GET");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->provider, "%61dmin");
}

TEST(A15, VariantsGiveTheSameDecisionAsTheCanonicalPath) {
  auto rules = parseOk("reader:READ:/providers/p/services/s/resources/r\nreader:DESCRIBE:/providers/p/**\n");
  const Roles roles = {"reader"};
  struct Case {
    std::string raw, canonical, method;
  };
  const std::vector<Case> cases = {
      {"/sensinact/providers/x/../p/services/s/resources/r/GET", "/sensinact/providers/p/services/s/resources/r/GET", "GET"},
      {"/sensinact/./providers/p/services/s/resources/r/GET", "/sensinact/providers/p/services/s/resources/r/GET", "GET"},
      {"//sensinact//providers//p//services/s/resources/r/GET//", "/sensinact/providers/p/services/s/resources/r/GET", "GET"},
      {"/sensinact/providers/%70/services/%73/resources/%72/%47ET", "/sensinact/providers/p/services/s/resources/r/GET", "GET"},
      {"/sensinact/providers/p;a=1/services/s;b/resources/r/GET;c", "/sensinact/providers/p/services/s/resources/r/GET", "GET"},
      {"/sensinact/providers/P/services/s/resources/r/GET", "/sensinact/providers/P/services/s/resources/r/GET", "GET"},
      {"/sensinact/providers/p/services/s/resources/r/get", "/sensinact/providers/p/services/s/resources/r/get", "GET"},
      {"/sensinact/providers/p/services/s/resources/x/../r/SET", "/sensinact/providers/p/services/s/resources/r/SET", "POST"},
      {"/sensinact/providers/p/", "/sensinact/providers/p", "GET"},
      {"/sensinact/providers/q/../p/services", "/sensinact/providers/p/services", "GET"},
  };
  for (const auto& c : cases) {
    auto viaVariant = allowedFor(rules, roles, c.raw, c.method);
    auto viaCanonical = allowedFor(rules, roles, c.canonical, c.method);
    EXPECT_EQ(viaVariant, viaCanonical) << c.raw;
  }
  // The table above must exercise both outcomes, or it proves nothing.
  EXPECT_EQ(allowedFor(rules, roles, cases[0].canonical, "GET"), std::optional<bool>(true));
  EXPECT_EQ(allowedFor(rules, roles, cases[5].canonical, "GET"), std::optional<bool>(false));
  EXPECT_EQ(allowedFor(rules, roles, cases[7].canonical, "POST"), std::optional<bool>(false));
  EXPECT_EQ(allowedFor(rules, roles, cases[6].canonical, "GET"), std::nullopt);
}

}  // namespace
}  // namespace gatehouse::oauth2
