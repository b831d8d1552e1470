#include "gatehouse/oauth2/rules.h"

#include <algorithm>
#include <array>

#include "gatehouse/kit/codec.h"

namespace gatehouse::oauth2 {

namespace {

constexpr std::array<Verb, 4> kAllVerbs = {Verb::Describe, Verb::Read, Verb::Update, Verb::Act};
constexpr std::array<std::string_view, 3> kLevelKeywords = {"providers", "services", "resources"};
constexpr std::array<std::string_view, 3> kLevelNames = {"provider", "service", "resource"};
constexpr std::size_t kMaxReportedErrors = 20;

bool isControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Quotes untrusted text for an error message: printable ASCII as is, anything else as \xNN, and
// long text shortened, so a message never carries control bytes or invalid UTF-8.
std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr std::size_t kShown = 60;
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < kShown; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  if (s.size() > kShown) out += "...";
  out += "'";
  return out;
}

bool isBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && isBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool isIdentifierChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == ':' || c == '-';
}

bool allStars(std::string_view glob) {
  return !glob.empty() && glob.find_first_not_of('*') == std::string_view::npos;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

// Empty when `glob` is a valid name pattern in the line syntax; otherwise why not.
std::string checkLineGlob(std::string_view glob, std::size_t level) {
  std::string what = std::string(kLevelNames[level]) + " pattern " + quote(glob);
  if (glob.size() > kMaxGlobBytes) {
    return what + " is longer than " + std::to_string(kMaxGlobBytes) + " bytes";
  }
  if (glob == "." || glob == "..") return what + " is a dot segment; write the names explicitly";
  if (glob.find("**") != std::string_view::npos) {
    return what + " contains '**', which is only allowed as a whole last segment (\".../**\")";
  }
  for (char c : glob) {
    if (!isIdentifierChar(c) && c != '*' && c != '?') {
      return what + " contains " + quote(std::string_view(&c, 1)) +
             "; names use only A-Z a-z 0-9 _ . : - and the wildcards * and ?";
    }
  }
  return {};
}

// Parses a path pattern into provider/service/resource globs, or returns why it is malformed.
std::string parsePattern(std::string_view pattern, Rule& rule) {
  static constexpr const char* kForms =
      " (expected /**, /providers, /providers/P, /providers/P/services/S or "
      "/providers/P/services/S/resources/R, optionally followed by /**)";
  if (pattern.empty()) return std::string("the path pattern is empty") + kForms;
  if (pattern.front() != '/') return "the path pattern " + quote(pattern) + " must start with '/'";
  if (pattern.size() > 1 && pattern.back() == '/') pattern.remove_suffix(1);
  std::vector<std::string_view> segs;
  std::size_t pos = 1;
  while (pattern.size() > 1 && pos <= pattern.size()) {
    auto end = pattern.find('/', pos);
    if (end == std::string_view::npos) end = pattern.size();
    auto seg = pattern.substr(pos, end - pos);
    if (seg.empty()) return "the path pattern " + quote(pattern) + " has an empty segment ('//')";
    segs.push_back(seg);
    pos = end + 1;
  }
  std::size_t i = 0;
  if (!segs.empty() && segs[0] == "sensinact") ++i;
  if (i == segs.size()) return "the path pattern " + quote(pattern) + " names no level" + kForms;

  std::array<std::string, 3> globs;  // "" = the rule stops above this level
  std::size_t level = 0;
  auto recursive = [&](std::size_t from) {
    for (std::size_t l = from; l < 3; ++l) globs[l] = "*";
  };
  auto notLast = [&] {
    return "'**' must be the last segment of the path pattern " + quote(pattern);
  };
  while (i < segs.size()) {
    if (segs[i] == "**") {
      if (i + 1 != segs.size()) return notLast();
      recursive(level);
      break;
    }
    if (level == 3) {
      return "nothing may follow the resource name in the path pattern " + quote(pattern) +
             " (the verbs are given in the second field)";
    }
    if (segs[i] != kLevelKeywords[level]) {
      return "the path pattern " + quote(pattern) + " has " + quote(segs[i]) + " where '" +
             std::string(kLevelKeywords[level]) + "' was expected" + kForms;
    }
    ++i;
    if (i == segs.size()) break;  // ends on a keyword: the list of that level
    if (segs[i] == "**") {
      if (i + 1 != segs.size()) return notLast();
      recursive(level);
      break;
    }
    if (auto err = checkLineGlob(segs[i], level); !err.empty()) return err;
    globs[level] = std::string(segs[i]);
    ++i;
    ++level;
  }
  rule.provider = std::move(globs[0]);
  rule.service = std::move(globs[1]);
  rule.resource = std::move(globs[2]);
  return {};
}

std::string parseVerbs(std::string_view field, Rule& rule) {
  std::array<bool, 4> seen{};
  std::size_t pos = 0;
  while (pos <= field.size()) {
    auto end = field.find(',', pos);
    if (end == std::string_view::npos) end = field.size();
    auto item = trim(field.substr(pos, end - pos));
    pos = end + 1;
    if (item == "*") {
      seen.fill(true);
      continue;
    }
    bool found = false;
    for (std::size_t k = 0; k < kAllVerbs.size(); ++k) {
      if (equalsIgnoreCase(item, verbName(kAllVerbs[k]))) {
        seen[k] = true;
        found = true;
      }
    }
    if (!found) {
      return (item.empty() ? std::string("an empty verb") : "unknown verb " + quote(item)) +
             " (expected DESCRIBE, READ, UPDATE, ACT or *, several joined with ',')";
    }
  }
  rule.verbs.clear();
  for (std::size_t k = 0; k < kAllVerbs.size(); ++k) {
    if (seen[k]) rule.verbs.push_back(kAllVerbs[k]);
  }
  return {};
}

std::string checkRole(std::string_view role) {
  if (role.empty()) return "the role is empty (use \"*\" for any authenticated caller)";
  if (role == "*") return {};
  for (char ch : role) {
    auto c = static_cast<unsigned char>(ch);
    if (isControl(c)) return "the role " + quote(role) + " contains a control character";
    if (ch == '*') {
      return "the role " + quote(role) +
             " contains '*'; roles are exact names, \"*\" alone means any authenticated caller";
    }
  }
  if (!kit::isValidUtf8(role)) return "the role " + quote(role) + " is not valid UTF-8";
  return {};
}

// Parses one non-blank, non-comment line; returns why it is malformed, or "" with `rule` filled.
std::string parseLine(std::string_view line, Rule& rule) {
  for (char ch : line) {
    auto c = static_cast<unsigned char>(ch);
    if (isControl(c) && ch != '\t') return "contains a control character";
  }
  if (!kit::isValidUtf8(line)) return "is not valid UTF-8";
  auto c1 = line.find(':');
  auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
  if (c2 == std::string_view::npos) {
    return "expected role:VERB:path-pattern, e.g. \"operator:READ:/providers/*/**\", found " + quote(line);
  }
  auto role = trim(line.substr(0, c1));
  if (auto err = checkRole(role); !err.empty()) return err;
  for (char ch : role) {
    if (isBlank(ch)) return "the role " + quote(role) + " contains whitespace";
  }
  // A byte order mark inside the text (files joined together) would silently become part of the role.
  if (role.substr(0, 3) == "\xEF\xBB\xBF") return "the role " + quote(role) + " starts with a byte order mark (U+FEFF)";
  rule.role = std::string(role);
  if (auto err = parseVerbs(trim(line.substr(c1 + 1, c2 - c1 - 1)), rule); !err.empty()) return err;
  auto pattern = trim(line.substr(c2 + 1));
  for (char ch : pattern) {
    if (isBlank(ch)) return "the path pattern " + quote(pattern) + " contains whitespace";
  }
  return parsePattern(pattern, rule);
}

// checkRule() prefixes errors with the source; callers that add their own prefix use this copy.
Rule withoutSource(const Rule& rule) {
  Rule copy = rule;
  copy.source.clear();
  return copy;
}

bool levelMatches(const std::string& glob, const std::string& name, Effect effect) {
  if (name.empty()) {
    // A list: the caller filters its items one by one. An Allow may match some item; a Deny
    // only hides the whole list when it covers every item (or stops at this very level).
    return effect == Effect::Allow || glob.empty() || allStars(glob);
  }
  return globMatch(glob, name);
}

bool roleApplies(const std::string& ruleRole, const std::vector<std::string>& roles) {
  if (ruleRole.empty()) return false;
  if (ruleRole == "*") return true;
  return std::find(roles.begin(), roles.end(), ruleRole) != roles.end();
}

bool methodIn(std::string_view method, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), method) != allowed.end();
}

}  // namespace

std::string_view verbName(Verb verb) {
  switch (verb) {
    case Verb::Describe: return "DESCRIBE";
    case Verb::Read: return "READ";
    case Verb::Update: return "UPDATE";
    case Verb::Act: return "ACT";
  }
  return "?";
}

bool globMatch(std::string_view glob, std::string_view name) {
  if (name.size() > kMaxNameBytes || name.find('/') != std::string_view::npos) return false;
  // Two-pointer wildcard matching: on a mismatch, retry from the last '*' with one more byte
  // swallowed. Each '*' restarts at most |name| times, so the cost is O(|glob| * |name|).
  std::size_t g = 0, n = 0;
  std::size_t star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = n;
    } else if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
      ++g;
      ++n;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

std::string checkRule(const Rule& rule) {
  std::string prefix = rule.source.empty() ? std::string() : quote(rule.source) + ": ";
  if (auto err = checkRole(rule.role); !err.empty()) return prefix + err;
  if (rule.verbs.empty()) return prefix + "the rule names no verb (DESCRIBE, READ, UPDATE or ACT)";
  for (Verb v : rule.verbs) {
    if (std::find(kAllVerbs.begin(), kAllVerbs.end(), v) == kAllVerbs.end()) {
      return prefix + "the rule has an unknown verb value";
    }
  }
  if (rule.effect != Effect::Allow && rule.effect != Effect::Deny) return prefix + "the rule has an unknown effect";
  const std::array<const std::string*, 3> globs = {&rule.provider, &rule.service, &rule.resource};
  for (std::size_t l = 0; l < 3; ++l) {
    const std::string& glob = *globs[l];
    std::string what = std::string(kLevelNames[l]) + " pattern " + quote(glob);
    if (glob.size() > kMaxGlobBytes) {
      return prefix + what + " is longer than " + std::to_string(kMaxGlobBytes) + " bytes";
    }
    if (glob.find('/') != std::string::npos) return prefix + what + " contains '/'; it matches one name only";
    for (char ch : glob) {
      if (isControl(static_cast<unsigned char>(ch))) return prefix + what + " contains a control character";
    }
    if (!kit::isValidUtf8(glob)) return prefix + what + " is not valid UTF-8";
    if (l > 0 && globs[l - 1]->empty() && !glob.empty()) {
      return prefix + what + " is set although the " + std::string(kLevelNames[l - 1]) +
             " pattern is empty (the rule stops above the " + std::string(kLevelNames[l - 1]) + " level)";
    }
  }
  return {};
}

RulesResult parseRuleLines(std::string_view text) {
  RulesResult result;
  if (text.size() > kMaxRuleTextBytes) {
    result.error = "the rules text is " + std::to_string(text.size()) + " bytes; the limit is " +
                   std::to_string(kMaxRuleTextBytes);
    return result;
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<std::string> errors;
  std::size_t errorCount = 0;
  std::size_t lineNo = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(pos, end - pos);
    pos = end + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    Rule rule;
    rule.source = "line " + std::to_string(lineNo);
    std::string err = parseLine(line, rule);
    if (err.empty()) err = checkRule(withoutSource(rule));
    if (!err.empty()) {
      if (++errorCount <= kMaxReportedErrors) errors.push_back(rule.source + ": " + err);
      continue;
    }
    if (result.rules.size() == kMaxRules) {
      result.rules.clear();
      result.error = rule.source + ": more than " + std::to_string(kMaxRules) + " rules";
      return result;
    }
    result.rules.push_back(std::move(rule));
  }
  if (errorCount > 0) {
    result.rules.clear();
    for (std::size_t k = 0; k < errors.size(); ++k) {
      if (k > 0) result.error += "; ";
      result.error += errors[k];
    }
    if (errorCount > errors.size()) {
      result.error += "; and " + std::to_string(errorCount - errors.size()) + " more malformed lines";
    }
  }
  return result;
}

std::string toRuleLine(const Rule& rule) {
  if (rule.effect != Effect::Allow || rule.priority != 0) return {};
  if (!checkRule(withoutSource(rule)).empty()) return {};
  if (rule.role.front() == '#' || rule.role.substr(0, 3) == "\xEF\xBB\xBF") return {};
  for (char ch : rule.role) {
    if (ch == ':' || isBlank(ch)) return {};
  }
  const std::array<const std::string*, 3> globs = {&rule.provider, &rule.service, &rule.resource};
  std::string path = "/providers";
  for (std::size_t l = 0; l < 3; ++l) {
    if (globs[l]->empty()) break;
    if (!checkLineGlob(*globs[l], l).empty()) return {};
    if (l > 0) path.append("/").append(kLevelKeywords[l]);
    path.append("/").append(*globs[l]);
  }
  std::string verbs;
  for (Verb v : kAllVerbs) {
    if (std::find(rule.verbs.begin(), rule.verbs.end(), v) == rule.verbs.end()) continue;
    if (!verbs.empty()) verbs += ",";
    verbs += verbName(v);
  }
  return rule.role + ":" + verbs + ":" + path;
}

std::optional<Target> targetOf(const CanonicalPath& path, std::string_view method) {
  const auto& s = path.segments;
  const std::size_t n = s.size();
  if (n == 0 || s[0] != "sensinact") return std::nullopt;
  const bool describeMethod = methodIn(method, {"GET", "HEAD"});
  auto describe = [&](std::string p, std::string sv, std::string r) -> std::optional<Target> {
    if (!describeMethod) return std::nullopt;
    return Target{std::move(p), std::move(sv), std::move(r), Verb::Describe};
  };
  if (n == 1) return describe("", "", "");
  if (s[1] == "snapshot") {
    if (n == 2 && methodIn(method, {"GET", "HEAD", "POST"})) return Target{"", "", "", Verb::Read};
    if (n == 3 && s[2] == "subscribe" && method == "GET") return Target{"", "", "", Verb::Read};
    return std::nullopt;
  }
  if (s[1] != "providers") return std::nullopt;
  if (n == 2) return describe("", "", "");
  if (n == 3) return describe(s[2], "", "");
  if (s[3] != "services") return std::nullopt;
  if (n == 4) return describe(s[2], "", "");
  if (n == 5) return describe(s[2], s[4], "");
  if (s[5] != "resources") return std::nullopt;
  if (n == 6) return describe(s[2], s[4], "");
  if (n == 7) return describe(s[2], s[4], s[6]);
  if (n != 8) return std::nullopt;
  const std::string& action = s[7];
  std::optional<Verb> verb;
  if (action == "GET" && methodIn(method, {"GET", "HEAD", "POST"})) verb = Verb::Read;
  if (action == "HISTORY" && methodIn(method, {"GET", "HEAD"})) verb = Verb::Read;
  if (action == "SUBSCRIBE" && method == "GET") verb = Verb::Read;
  if (action == "SET" && methodIn(method, {"POST", "PUT"})) verb = Verb::Update;
  if (action == "ACT" && method == "POST") verb = Verb::Act;
  if (!verb) return std::nullopt;
  return Target{s[2], s[4], s[6], *verb};
}

Decision decide(const std::vector<Rule>& rules, const std::vector<std::string>& roles, const Target& target) {
  const Rule* best = nullptr;
  for (const Rule& rule : rules) {
    if (std::find(rule.verbs.begin(), rule.verbs.end(), target.verb) == rule.verbs.end()) continue;
    if (!roleApplies(rule.role, roles)) continue;
    if (!levelMatches(rule.provider, target.provider, rule.effect) ||
        !levelMatches(rule.service, target.service, rule.effect) ||
        !levelMatches(rule.resource, target.resource, rule.effect)) {
      continue;
    }
    if (best == nullptr || rule.priority > best->priority ||
        (rule.priority == best->priority && rule.effect == Effect::Deny && best->effect == Effect::Allow)) {
      best = &rule;
    }
  }
  return Decision{best != nullptr && best->effect == Effect::Allow, best};
}

}  // namespace gatehouse::oauth2
