#pragma once
// MQTT topic templates with named wildcards, and the name check for device-supplied names.
//
// Threads: TopicTemplate is an immutable value after parse(); its const methods may be called from
// any threads at once. kit::isValidIdentifier is a pure function.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/result.h"

namespace gatehouse::bridge::mqtt {

using kit::Result;

// D5 (SECURITY-CHECKLIST): a device-supplied name is usable only if it passes the model's one
// identifier rule, kit::isValidIdentifier (gatehouse/kit/codec.h): [A-Za-z0-9_.:-]{1,128}, not "."
// and no "..", so no '/', '+', '#', spaces, control characters or path traversal can reach a model
// path, a topic or a file name.

// "sensors/{provider}/+/{resource}/#": levels separated by '/'; a level is literal text, '+', '#'
// (last level only) or {name} with name = [A-Za-z_][A-Za-z0-9_]{0,63}, each name at most once.
// A literal level may not contain '+', '#', '{', '}' or NUL. At most 1024 characters.
class TopicTemplate {
 public:
  static Result<TopicTemplate> parse(std::string_view text);

  const std::string& text() const { return text_; }       // as written
  const std::string& filter() const { return filter_; }   // the MQTT subscription filter: {x} -> +
  const std::vector<std::string>& names() const { return names_; }   // the named wildcards, in order
  bool hasWildcards() const { return wildcards_; }                   // any '+', '#' or {name}

  // The names captured when `topic` (a concrete topic name) matches the filter, per MQTT 3.1.1
  // section 4.7 ('+' one level, '#' the rest, a topic starting with '$' matches no filter starting
  // with a wildcard). Captured names are NOT checked here: see kit::isValidIdentifier.
  std::optional<std::map<std::string, std::string>> match(std::string_view topic) const;

  // Replaces each {name} by names[name] (missing names expand to ""), for command topics; '+' and
  // '#' are copied as they are (MappingSet refuses them in command templates).
  std::string expand(const std::map<std::string, std::string>& names) const;

 private:
  struct Level {
    enum class Kind { Literal, Plus, Hash, Named } kind = Kind::Literal;
    std::string text;   // the literal, or the name
  };
  std::string text_;
  std::string filter_;
  std::vector<std::string> names_;
  std::vector<Level> levels_;
  bool wildcards_ = false;
};

}  // namespace gatehouse::bridge::mqtt
