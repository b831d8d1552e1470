#include "gatehouse/bridge/mqtt/topic.h"

#include "gatehouse/kit/codec.h"

#include <algorithm>
#include <optional>

namespace gatehouse::bridge::mqtt {

namespace {
constexpr std::size_t kMaxTemplate = 1024;

bool isNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

std::vector<std::string_view> splitLevels(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}
}  // namespace


Result<TopicTemplate> TopicTemplate::parse(std::string_view text) {
  using R = Result<TopicTemplate>;
  const std::string shown(text.substr(0, 64));
  if (text.empty()) return kit::badRequest("a topic template cannot be empty");
  if (text.size() > kMaxTemplate) {
    return kit::badRequest("topic template is longer than " + std::to_string(kMaxTemplate) + " characters");
  }
  TopicTemplate t;
  t.text_.assign(text);
  const auto levels = splitLevels(text);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const std::string_view level = levels[i];
    const std::string where = "topic template \"" + shown + "\", level " + std::to_string(i + 1) + ": ";
    Level l;
    if (level == "+") {
      l.kind = Level::Kind::Plus;
    } else if (level == "#") {
      if (i + 1 != levels.size()) return kit::badRequest(where + "'#' is allowed only as the last level");
      l.kind = Level::Kind::Hash;
    } else if (!level.empty() && level.front() == '{') {
      if (level.size() < 3 || level.back() != '}') {
        return kit::badRequest(where + "a named wildcard is a whole level written {name}");
      }
      const std::string_view name = level.substr(1, level.size() - 2);
      if (name.size() > 64 || !isNameStart(name[0]) || !std::all_of(name.begin(), name.end(), isNameChar)) {
        return kit::badRequest(where + "wildcard name must be letters, digits and '_' (not starting with a digit), at most 64");
      }
      if (std::find(t.names_.begin(), t.names_.end(), name) != t.names_.end()) {
        return kit::badRequest(where + "the name {" + std::string(name) + "} appears twice");
      }
      l.kind = Level::Kind::Named;
      l.text.assign(name);
      t.names_.emplace_back(name);
    } else {
      if (level.find_first_of(std::string_view("+#{}\0", 5)) != std::string_view::npos) {
        return kit::badRequest(where + "'+', '#', '{' and '}' must stand alone as a whole level (and NUL is not allowed)");
      }
      l.text.assign(level);
    }
    if (l.kind != Level::Kind::Literal) t.wildcards_ = true;
    if (i > 0) t.filter_ += '/';
    t.filter_ += l.kind == Level::Kind::Literal ? l.text : l.kind == Level::Kind::Hash ? std::string("#") : std::string("+");
    t.levels_.push_back(std::move(l));
  }
  return R(std::move(t));
}

std::optional<std::map<std::string, std::string>> TopicTemplate::match(std::string_view topic) const {
  if (topic.empty() || topic.find_first_of(std::string_view("+#\0", 3)) != std::string_view::npos) return std::nullopt;
  if (topic.front() == '$' && !levels_.empty() && levels_.front().kind != Level::Kind::Literal) return std::nullopt;
  const auto parts = splitLevels(topic);
  std::map<std::string, std::string> captured;
  for (std::size_t i = 0; i < levels_.size(); ++i) {
    const Level& l = levels_[i];
    if (l.kind == Level::Kind::Hash) return captured;   // matches the rest, also zero levels ("a/#" matches "a")
    if (i >= parts.size()) return std::nullopt;
    switch (l.kind) {
      case Level::Kind::Literal:
        if (parts[i] != l.text) return std::nullopt;
        break;
      case Level::Kind::Named: captured.emplace(l.text, std::string(parts[i])); break;
      default: break;
    }
  }
  if (parts.size() != levels_.size()) return std::nullopt;
  return captured;
}

std::string TopicTemplate::expand(const std::map<std::string, std::string>& names) const {
  std::string out;
  for (std::size_t i = 0; i < levels_.size(); ++i) {
    if (i > 0) out += '/';
    const Level& l = levels_[i];
    switch (l.kind) {
      case Level::Kind::Literal: out += l.text; break;
      case Level::Kind::Plus: out += '+'; break;
      case Level::Kind::Hash: out += '#'; break;
      case Level::Kind::Named: {
        const auto it = names.find(l.text);
        if (it != names.end()) out += it->second;
        break;
      }
    }
  }
  return out;
}

}  // namespace gatehouse::bridge::mqtt
