// Reading the mappings file: strict, every problem reported at once as
// "FILE:LINE:COL: key.path: message" (the gateway config's style, core/src/config).
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "mapping_data.h"

namespace gatehouse::bridge::mqtt {

namespace {

constexpr std::size_t kMaxFileBytes = 1024 * 1024;
constexpr int kMaxFlowDepth = 64;
constexpr int kMaxIndent = 256;
constexpr std::size_t kMaxProblems = 100;
constexpr std::size_t kMaxMappings = 10000;
constexpr std::size_t kMaxPayloadTemplate = 64 * 1024;

std::string quoted(std::string_view s) {
  std::string out;
  kit::json::appendString(out, s.substr(0, 64));
  if (s.size() > 64) out.insert(out.size() - 1, "...");
  return out;
}

std::string joinKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

struct Problem {
  int line = 0, column = 0;
  std::string path, message;
};

// yaml-cpp's parser recurses once per nesting level: refuse text nested deeper than any real
// mappings file before it sees it (flow brackets outside quotes, and indentation + "- " runs).
std::optional<Problem> findTooDeep(std::string_view text) {
  int line = 1, flow = 0;
  bool inSingle = false, inDouble = false, comment = false, lineStart = true;
  int indent = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line; comment = false; lineStart = true; indent = 0;
      continue;
    }
    if (lineStart) {
      if (c == ' ') { ++indent; }
      else if (c == '-' && i + 1 < text.size() && text[i + 1] == ' ') { indent += 2; ++i; }
      else lineStart = false;
      if (indent > kMaxIndent) return Problem{line, 1, "", "nesting deeper than the limit of " + std::to_string(kMaxIndent) + " levels"};
      if (lineStart) continue;
    }
    if (comment) continue;
    if (inDouble) {
      if (c == '\\') ++i;
      else if (c == '"') inDouble = false;
      continue;
    }
    if (inSingle) {
      if (c == '\'') inSingle = false;
      continue;
    }
    if (c == '#') comment = true;
    else if (c == '"') inDouble = true;
    else if (c == '\'') inSingle = true;
    else if (c == '[' || c == '{') {
      if (++flow > kMaxFlowDepth) return Problem{line, 1, "", "nesting deeper than the limit of " + std::to_string(kMaxFlowDepth) + " levels"};
    } else if ((c == ']' || c == '}') && flow > 0) {
      --flow;
    }
  }
  return std::nullopt;
}

class Reader {
 public:
  std::vector<Problem> problems;

  void report(const YAML::Node& node, const std::string& path, std::string message) {
    Problem p;
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null()) { p.line = mark.line + 1; p.column = mark.column + 1; }
    p.path = path;
    p.message = std::move(message);
    problems.push_back(std::move(p));
  }

  // The keys of a mapping node, first occurrence each; unknown and duplicate keys reported.
  std::optional<std::map<std::string, YAML::Node>> fields(const YAML::Node& node, const std::string& path,
                                                          const std::vector<std::string>& allowed) {
    if (!node.IsMap()) {
      report(node, path, "expected a mapping with the keys " + joinKeys(allowed) + ", found " + describe(node));
      return std::nullopt;
    }
    std::map<std::string, YAML::Node> out;
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        report(kv.first, path, "keys must be plain names, found " + describe(kv.first));
        continue;
      }
      const std::string key = kv.first.Scalar();
      const std::string keyPath = path.empty() ? key : path + "." + key;
      if (const auto it = seen.find(key); it != seen.end()) {
        report(kv.first, keyPath, "duplicate key; it is already set at line " + std::to_string(it->second.line + 1) + ", column " +
                                      std::to_string(it->second.column + 1));
        continue;
      }
      seen.emplace(key, kv.first.Mark());
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        report(kv.first, keyPath, "unknown key. Valid keys" + (path.empty() ? std::string() : " in " + path) + ": " + joinKeys(allowed));
        continue;
      }
      out.emplace(key, kv.second);
    }
    return out;
  }

  static std::string describe(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) return "nothing (an empty value)";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return quoted(n.Scalar());
  }

  std::optional<std::string> string(const YAML::Node& n, const std::string& path) {
    if (!n.IsScalar()) {
      report(n, path, "expected a string, found " + describe(n));
      return std::nullopt;
    }
    return n.Scalar();
  }

  std::optional<int> integer(const YAML::Node& n, const std::string& path, int min, int max) {
    const std::string range = "an integer between " + std::to_string(min) + " and " + std::to_string(max);
    if (!n.IsScalar()) {
      report(n, path, "expected " + range + ", found " + describe(n));
      return std::nullopt;
    }
    const std::string& s = n.Scalar();
    long long v = 0;
    std::size_t used = 0;
    bool ok = !s.empty() && s.size() < 12 && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'));
    if (ok) {
      try { v = std::stoll(s, &used); } catch (...) { ok = false; }
    }
    if (!ok || used != s.size() || v < min || v > max) {
      report(n, path, "expected " + range + ", found " + describe(n));
      return std::nullopt;
    }
    return static_cast<int>(v);
  }

  std::optional<bool> boolean(const YAML::Node& n, const std::string& path) {
    if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) return n.Scalar() == "true";
    report(n, path, "expected true or false, found " + describe(n));
    return std::nullopt;
  }

  // A name that becomes part of the model (D5 applies to the file too).
  std::optional<std::string> name(const YAML::Node& n, const std::string& path) {
    auto s = string(n, path);
    if (!s) return std::nullopt;
    if (!kit::isValidIdentifier(*s)) {
      report(n, path, "must be a name of 1 to 128 characters A-Z a-z 0-9 _ . : - (no \"..\"), found " + quoted(*s));
      return std::nullopt;
    }
    return s;
  }

  std::optional<sdk::ValueType> type(const YAML::Node& n, const std::string& path) {
    auto s = string(n, path);
    if (!s) return std::nullopt;
    auto t = parseValueType(*s);
    if (!t) { report(n, path, t.message()); return std::nullopt; }
    return std::move(t).value();
  }

  std::optional<std::vector<std::string>> pointer(const YAML::Node& n, const std::string& path) {
    auto s = string(n, path);
    if (!s) return std::nullopt;
    auto p = kit::parsePointer(*s);
    if (!p) { report(n, path, p.message()); return std::nullopt; }
    return std::move(p).value();
  }

  std::optional<TopicTemplate> topic(const YAML::Node& n, const std::string& path) {
    auto s = string(n, path);
    if (!s) return std::nullopt;
    auto t = TopicTemplate::parse(*s);
    if (!t) { report(n, path, t.message()); return std::nullopt; }
    return std::move(t).value();
  }

  // A command topic: fully determined at SET/ACT time, so no '+'/'#' and only the names known then.
  std::optional<TopicTemplate> commandTopic(const YAML::Node& n, const std::string& path) {
    auto t = topic(n, path);
    if (!t) return std::nullopt;
    const bool hasPlainWildcard = [&] {
      std::string stripped = t->text();
      for (const auto& nm : t->names()) {
        const std::string token = "{" + nm + "}";
        for (std::size_t at = stripped.find(token); at != std::string::npos; at = stripped.find(token)) stripped.erase(at, token.size());
      }
      return stripped.find_first_of("+#") != std::string::npos;
    }();
    if (hasPlainWildcard) {
      report(n, path, "a command topic cannot contain '+' or '#' (messages are published to it)");
      return std::nullopt;
    }
    for (const auto& nm : t->names()) {
      if (nm != "provider" && nm != "service" && nm != "resource") {
        report(n, path, "a command topic may only use {provider}, {service} and {resource} (known at SET/ACT time), found {" + nm + "}");
        return std::nullopt;
      }
    }
    return t;
  }

  std::optional<CommandRule> command(const YAML::Node& n, const std::string& path, int defaultQos, bool forAction) {
    auto f = fields(n, path, {"topic", "payload", "qos", "response", "ack_topic", "timeout_ms"});
    if (!f) return std::nullopt;
    CommandRule c;
    c.qos = defaultQos;
    c.payload = forAction ? "{params}" : "{value}";
    bool ok = true;
    if (auto it = f->find("topic"); it == f->end()) {
      report(n, path, "missing required key topic (where the command is published)");
      ok = false;
    } else if (auto t = commandTopic(it->second, path + ".topic")) {
      c.topic = *t;
    } else {
      ok = false;
    }
    if (auto it = f->find("payload"); it != f->end()) {
      if (auto s = string(it->second, path + ".payload")) {
        if (s->size() > kMaxPayloadTemplate) { report(it->second, path + ".payload", "payload template larger than 64 KiB"); ok = false; }
        c.payload = *s;
      } else {
        ok = false;
      }
    }
    if (auto it = f->find("qos"); it != f->end()) {
      if (auto q = integer(it->second, path + ".qos", 0, 2)) c.qos = *q; else ok = false;
    }
    if (auto it = f->find("response"); it != f->end()) {
      auto s = string(it->second, path + ".response");
      if (s && *s == "mqtt5") c.response = CommandRoute::Response::Mqtt5;
      else if (s && *s == "ack") c.response = CommandRoute::Response::Ack;
      else {
        if (s) report(it->second, path + ".response", "must be one of mqtt5, ack; found " + quoted(*s));
        ok = false;
      }
    }
    if (auto it = f->find("ack_topic"); it != f->end()) {
      if (c.response != CommandRoute::Response::Ack) {
        report(it->second, path + ".ack_topic", "only used with response: ack");
        ok = false;
      } else if (auto t = commandTopic(it->second, path + ".ack_topic")) {
        c.ackTopic = *t;
      } else {
        ok = false;
      }
    } else if (c.response == CommandRoute::Response::Ack) {
      report(n, path, "missing required key ack_topic (response: ack reads the reply there)");
      ok = false;
    }
    if (auto it = f->find("timeout_ms"); it != f->end()) {
      if (auto t = integer(it->second, path + ".timeout_ms", 100, 600000)) c.timeoutMs = *t; else ok = false;
    }
    if (!ok) return std::nullopt;
    return c;
  }

  std::optional<ActionRule> action(const YAML::Node& n, const std::string& path, int defaultQos) {
    auto f = fields(n, path, {"resource", "params", "result", "command"});
    if (!f) return std::nullopt;
    ActionRule a;
    bool ok = true;
    if (auto it = f->find("resource"); it == f->end()) { report(n, path, "missing required key resource (the action's name)"); ok = false; }
    else if (auto nm = name(it->second, path + ".resource")) a.name = *nm; else ok = false;
    if (auto it = f->find("result"); it != f->end()) {
      if (auto t = type(it->second, path + ".result")) a.resultType = *t; else ok = false;
    }
    if (auto it = f->find("params"); it != f->end()) {
      if (!it->second.IsSequence()) {
        report(it->second, path + ".params", "expected a list of {name, type, optional}, found " + describe(it->second));
        ok = false;
      } else {
        std::set<std::string> names;
        for (std::size_t i = 0; i < it->second.size(); ++i) {
          const YAML::Node item = it->second[i];
          const std::string ip = path + ".params[" + std::to_string(i) + "]";
          auto pf = fields(item, ip, {"name", "type", "optional"});
          if (!pf) { ok = false; continue; }
          sdk::ActionParam p;
          if (auto pn = pf->find("name"); pn == pf->end()) { report(item, ip, "missing required key name"); ok = false; }
          else if (auto nm = name(pn->second, ip + ".name")) {
            if (!names.insert(*nm).second) { report(pn->second, ip + ".name", "parameter " + quoted(*nm) + " is listed twice"); ok = false; }
            p.name = *nm;
          } else ok = false;
          if (auto pt = pf->find("type"); pt == pf->end()) { report(item, ip, "missing required key type"); ok = false; }
          else if (auto t = type(pt->second, ip + ".type")) p.type = *t; else ok = false;
          if (auto po = pf->find("optional"); po != pf->end()) {
            if (auto b = boolean(po->second, ip + ".optional")) p.optional = *b; else ok = false;
          }
          a.params.push_back(std::move(p));
        }
      }
    }
    if (auto it = f->find("command"); it == f->end()) { report(n, path, "missing required key command (where the action is published)"); ok = false; }
    else if (auto c = command(it->second, path + ".command", defaultQos, true)) a.command = std::move(*c); else ok = false;
    if (!ok) return std::nullopt;
    return a;
  }

  std::optional<ResourceRule> resourceItem(const YAML::Node& n, const std::string& path, bool json) {
    auto f = fields(n, path, {"resource", "value", "type", "unit"});
    if (!f) return std::nullopt;
    ResourceRule r;
    bool ok = true;
    if (auto it = f->find("resource"); it == f->end()) { report(n, path, "missing required key resource"); ok = false; }
    else if (auto nm = name(it->second, path + ".resource")) r.name = *nm; else ok = false;
    ok = valueFields(*f, path, json, r) && ok;
    if (!ok) return std::nullopt;
    return r;
  }

  // value/type/unit, shared by the single-resource form and resources[] items.
  bool valueFields(const std::map<std::string, YAML::Node>& f, const std::string& path, bool json, ResourceRule& r) {
    bool ok = true;
    if (auto it = f.find("value"); it != f.end()) {
      if (auto p = pointer(it->second, path + ".value")) {
        if (!json && !p->empty()) {
          report(it->second, path + ".value", "a JSON pointer needs format: json (other formats use the whole payload)");
          ok = false;
        }
        r.pointer = *p;
        r.pointerText = it->second.Scalar();
      } else {
        ok = false;
      }
    }
    if (auto it = f.find("type"); it != f.end()) {
      if (auto t = type(it->second, path + ".type")) r.type = *t; else ok = false;
    }
    if (auto it = f.find("unit"); it != f.end()) {
      if (auto s = string(it->second, path + ".unit")) r.unit = *s; else ok = false;
    }
    return ok;
  }

  std::optional<Mapping> mapping(const YAML::Node& n, const std::string& path) {
    auto f = fields(n, path, {"topic", "qos", "format", "provider", "service", "resource", "value", "type", "unit",
                              "timestamp", "metadata", "resources", "command", "actions"});
    if (!f) return std::nullopt;
    Mapping m;
    bool ok = true;
    const auto has = [&](const char* key) { return f->count(key) > 0; };
    if (auto it = f->find("topic"); it == f->end()) { report(n, path, "missing required key topic"); return std::nullopt; }
    else if (auto t = topic(it->second, path + ".topic")) m.topic = *t; else return std::nullopt;
    m.description = path + " " + m.topic.text();
    const auto& names = m.topic.names();
    const auto named = [&](const char* nm) { return std::find(names.begin(), names.end(), nm) != names.end(); };
    const YAML::Node topicNode = f->at("topic");

    if (auto it = f->find("qos"); it != f->end()) {
      if (auto q = integer(it->second, path + ".qos", 0, 2)) m.qos = *q; else ok = false;
    }
    if (auto it = f->find("format"); it != f->end()) {
      auto s = string(it->second, path + ".format");
      auto fmt = s ? parsePayloadFormat(*s) : kit::badRequest("");
      if (fmt) m.format = *fmt;
      else { if (s) report(it->second, path + ".format", fmt.message()); ok = false; }
    }
    const bool json = m.format == PayloadFormat::Json;

    // provider and service: a literal key or a named wildcard, exactly one of them.
    const auto literalOrWildcard = [&](const char* key, std::string& out) {
      if (auto it = f->find(key); it != f->end()) {
        if (named(key)) {
          report(it->second, path + "." + key, std::string("the topic already names {") + key + "}; remove one of them");
          ok = false;
        } else if (auto nm = name(it->second, path + "." + key)) {
          out = *nm;
        } else {
          ok = false;
        }
      } else if (!named(key)) {
        report(topicNode, path + ".topic", std::string("no ") + key + ": add {" + key + "} to the topic or a `" + key + ":` key");
        ok = false;
      }
    };
    literalOrWildcard("provider", m.provider);
    literalOrWildcard("service", m.service);

    if (auto it = f->find("resources"); it != f->end()) {
      for (const char* single : {"resource", "value", "type", "unit", "command"}) {
        if (has(single)) {
          report(f->at(single), path + "." + single, "with resources: give this inside each item of resources");
          ok = false;
        }
      }
      if (named("resource")) {
        report(topicNode, path + ".topic", "with resources: the topic cannot also name {resource}");
        ok = false;
      }
      if (!it->second.IsSequence() || it->second.size() == 0) {
        report(it->second, path + ".resources", "expected a non-empty list of {resource, value, type, unit}, found " + describe(it->second));
        ok = false;
      } else {
        std::set<std::string> seen;
        for (std::size_t i = 0; i < it->second.size(); ++i) {
          const std::string ip = path + ".resources[" + std::to_string(i) + "]";
          if (auto r = resourceItem(it->second[i], ip, json)) {
            if (!seen.insert(r->name).second) {
              report(it->second[i], ip + ".resource", "resource " + quoted(r->name) + " is listed twice");
              ok = false;
            }
            m.resources.push_back(std::move(*r));
          } else {
            ok = false;
          }
        }
      }
    } else {
      ResourceRule r;
      literalOrWildcard("resource", r.name);
      ok = valueFields(*f, path, json, r) && ok;
      m.resources.push_back(std::move(r));
    }

    if (auto it = f->find("timestamp"); it != f->end()) {
      const std::string tp = path + ".timestamp";
      if (!json) {
        report(it->second, tp, "a timestamp is read by JSON pointer, so it needs format: json");
        ok = false;
      } else if (auto tf = fields(it->second, tp, {"pointer", "format"})) {
        TimestampRule ts;
        if (auto pi = tf->find("pointer"); pi == tf->end()) { report(it->second, tp, "missing required key pointer"); ok = false; }
        else if (auto p = pointer(pi->second, tp + ".pointer")) ts.pointer = *p; else ok = false;
        if (auto fi = tf->find("format"); fi == tf->end()) { report(it->second, tp, "missing required key format (seconds, millis or iso8601)"); ok = false; }
        else if (auto s = string(fi->second, tp + ".format")) {
          auto fmt = parseTimestampFormat(*s);
          if (fmt) ts.format = *fmt; else { report(fi->second, tp + ".format", fmt.message()); ok = false; }
        } else ok = false;
        m.timestamp = std::move(ts);
      } else {
        ok = false;
      }
    }

    if (auto it = f->find("metadata"); it != f->end()) {
      const std::string mp = path + ".metadata";
      if (!it->second.IsMap()) {
        report(it->second, mp, "expected a mapping of metadata keys to a JSON pointer (/x) or a literal text, found " + describe(it->second));
        ok = false;
      } else {
        std::map<std::string, YAML::Mark> seen;
        for (const auto& kv : it->second) {
          const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
          const std::string kp = mp + "." + key;
          if (!kv.first.IsScalar() || !kit::isValidIdentifier(key)) {
            report(kv.first, mp, "metadata keys must be names (A-Z a-z 0-9 _ . : -), found " + describe(kv.first));
            ok = false;
            continue;
          }
          if (const auto s = seen.find(key); s != seen.end()) {
            report(kv.first, kp, "duplicate key; it is already set at line " + std::to_string(s->second.line + 1) + ", column " +
                                     std::to_string(s->second.column + 1));
            ok = false;
            continue;
          }
          seen.emplace(key, kv.first.Mark());
          auto text = string(kv.second, kp);
          if (!text) { ok = false; continue; }
          MetadataRule rule;
          rule.key = key;
          if (!text->empty() && (*text)[0] == '/') {
            if (!json) { report(kv.second, kp, "a JSON pointer needs format: json; write a literal without a leading '/'"); ok = false; continue; }
            auto p = kit::parsePointer(*text);
            if (!p) { report(kv.second, kp, p.message()); ok = false; continue; }
            rule.fromPayload = true;
            rule.pointer = *p;
          } else {
            rule.literal = *text;
          }
          m.metadata.push_back(std::move(rule));
        }
      }
    }

    if (auto it = f->find("command"); it != f->end()) {
      if (auto c = command(it->second, path + ".command", m.qos, false)) m.command = std::move(*c); else ok = false;
    }
    if (auto it = f->find("actions"); it != f->end()) {
      if (!it->second.IsSequence()) {
        report(it->second, path + ".actions", "expected a list of actions, found " + describe(it->second));
        ok = false;
      } else {
        std::set<std::string> seen;
        for (std::size_t i = 0; i < it->second.size(); ++i) {
          const std::string ap = path + ".actions[" + std::to_string(i) + "]";
          if (auto a = action(it->second[i], ap, m.qos)) {
            if (!seen.insert(a->name).second) { report(it->second[i], ap + ".resource", "action " + quoted(a->name) + " is listed twice"); ok = false; }
            for (const auto& r : m.resources) {
              if (r.name == a->name) { report(it->second[i], ap + ".resource", "action " + quoted(a->name) + " has the name of a resource of this mapping"); ok = false; }
            }
            m.actions.push_back(std::move(*a));
          } else {
            ok = false;
          }
        }
      }
    }
    if (!ok) return std::nullopt;
    return m;
  }
};

std::string format(const std::string& file, std::vector<Problem> problems) {
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  std::string out;
  const std::size_t shown = std::min(problems.size(), kMaxProblems);
  for (std::size_t i = 0; i < shown; ++i) {
    const Problem& p = problems[i];
    if (!out.empty()) out += '\n';
    out += file;
    if (p.line > 0) out += ':' + std::to_string(p.line) + ':' + std::to_string(p.column);
    out += ": ";
    if (!p.path.empty()) out += p.path + ": ";
    // One problem per line: a control character from the file must not start a forged line.
    for (const char c : p.message) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  }
  if (problems.size() > shown) out += "\n" + file + ": " + std::to_string(problems.size() - shown) + " more problems not shown";
  return out;
}

}  // namespace

namespace {

// Counts the documents of a stream (events only, no tree) and remembers where the second starts.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++count == 2) secondStart = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  int count = 0;
  YAML::Mark secondStart;
};

}  // namespace

Result<MappingSet> loadMappings(std::string_view yaml, const std::string& displayName) {
  using R = Result<MappingSet>;
  if (yaml.size() > kMaxFileBytes) {
    return kit::badRequest(displayName + ": the file is larger than " + std::to_string(kMaxFileBytes) + " bytes");
  }
  if (auto deep = findTooDeep(yaml)) return kit::badRequest(format(displayName, {*deep}));
  YAML::Node root;
  try {
    // YAML::LoadAll (yaml-cpp 0.7) loops forever, allocating, on some malformed input (found by
    // fuzz_mqtt_mappings; core/src/config/yaml_document.cpp met the same): count at most two
    // documents with the event parser, then build the first with YAML::Load.
    {
      std::istringstream stream{std::string(yaml)};
      YAML::Parser parser(stream);
      DocumentCounter counter;
      for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
      }
      if (counter.count > 1) {
        Problem p;
        p.line = counter.secondStart.line + 1;
        p.column = counter.secondStart.column + 1;
        p.message = "a second YAML document starts here; the mappings file must be one document";
        return kit::badRequest(format(displayName, {p}));
      }
    }
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    Problem p;
    if (!e.mark.is_null()) { p.line = e.mark.line + 1; p.column = e.mark.column + 1; }
    p.message = "YAML syntax error: " + e.msg;
    return kit::badRequest(format(displayName, {p}));
  } catch (const std::exception& e) {
    return kit::badRequest(displayName + ": cannot parse: " + e.what());
  }

  Reader reader;
  auto data = std::make_shared<MappingSet::Data>();
  try {
    if (!root.IsDefined() || root.IsNull()) {
      return kit::badRequest(displayName + ": the file is empty; it needs a top-level key mappings (a list)");
    }
    if (auto top = reader.fields(root, "", {"mappings"})) {
      if (auto it = top->find("mappings"); it == top->end()) {
        reader.report(root, "", "missing required key mappings (a list of topic mappings)");
      } else if (!it->second.IsSequence() || it->second.size() == 0) {
        reader.report(it->second, "mappings", "expected a non-empty list of mappings, found " + Reader::describe(it->second));
      } else if (it->second.size() > kMaxMappings) {
        reader.report(it->second, "mappings", "more than " + std::to_string(kMaxMappings) + " mappings");
      } else {
        for (std::size_t i = 0; i < it->second.size(); ++i) {
          if (auto m = reader.mapping(it->second[i], "mappings[" + std::to_string(i) + "]")) data->mappings.push_back(std::move(*m));
        }
      }
    }
  } catch (const std::exception& e) {
    // yaml-cpp may throw on conversions of odd nodes; never let that escape to the plugin.
    return kit::badRequest(displayName + ": cannot read: " + e.what());
  }
  if (!reader.problems.empty()) return kit::badRequest(format(displayName, std::move(reader.problems)));
  return R(MappingSet(std::move(data)));
}

Result<MappingSet> MappingSet::loadString(std::string_view yaml, const std::string& displayName) {
  return loadMappings(yaml, displayName);
}

Result<MappingSet> MappingSet::loadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return kit::badRequest(path + ": cannot open the mappings file");
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size < 0) return kit::badRequest(path + ": cannot read the mappings file");
  if (static_cast<std::size_t>(size) > kMaxFileBytes) {
    return kit::badRequest(path + ": the file is larger than " + std::to_string(kMaxFileBytes) + " bytes");
  }
  in.seekg(0);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), size)) return kit::badRequest(path + ": cannot read the mappings file");
  return loadMappings(text, path);
}

}  // namespace gatehouse::bridge::mqtt
