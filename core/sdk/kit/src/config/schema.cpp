#include "gatehouse/kit/config/schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json_write.h"

namespace gatehouse::kit::config {

// ---------------------------------------------------------------------------------------------
// Table construction

namespace {
Field makeField(std::string key, FieldType type, FieldValue defaultValue) {
  Field f;
  f.key = std::move(key);
  f.type = type;
  f.defaultValue = std::move(defaultValue);
  return f;
}
}  // namespace

Field Field::string(std::string key, std::string defaultValue) {
  return makeField(std::move(key), FieldType::String, std::move(defaultValue));
}

Field Field::integer(std::string key, std::int64_t defaultValue) {
  return makeField(std::move(key), FieldType::Int, defaultValue);
}

Field Field::boolean(std::string key, bool defaultValue) {
  return makeField(std::move(key), FieldType::Bool, defaultValue);
}

Field Field::number(std::string key, double defaultValue) {
  return makeField(std::move(key), FieldType::Double, defaultValue);
}

Field Field::oneOf(std::string key, std::string defaultValue, std::vector<std::string> allowed) {
  Field f = makeField(std::move(key), FieldType::Enum, std::move(defaultValue));
  f.allowed = std::move(allowed);
  return f;
}

Field Field::stringList(std::string key, std::vector<std::string> defaultValue) {
  return makeField(std::move(key), FieldType::StringList, std::move(defaultValue));
}

Field Field::section(std::string key, std::vector<Field> children) {
  Field f = makeField(std::move(key), FieldType::Section, std::monostate{});
  f.children = std::move(children);
  return f;
}

Field Field::map(std::string key) {
  return makeField(std::move(key), FieldType::Map, std::monostate{});
}

Field Field::mapOf(std::string key, Field value) {
  Field f = makeField(std::move(key), FieldType::Map, std::monostate{});
  f.mapValue = std::make_shared<const Field>(std::move(value));
  return f;
}

Field Field::list(std::string key, std::vector<Field> children) {
  Field f = makeField(std::move(key), FieldType::List, std::monostate{});
  f.children = std::move(children);
  return f;
}

Field& Field::require(std::string hint) {
  required = true;
  requiredHint = std::move(hint);
  return *this;
}

Field& Field::noDefault() {
  hasDefault = false;
  defaultValue = std::monostate{};
  return *this;
}

Field& Field::doc(std::string text) {
  description = std::move(text);
  return *this;
}

Field& Field::range(std::int64_t min, std::int64_t max) {
  minInt = min;
  maxInt = max;
  return *this;
}

Field& Field::numberRange(double min, double max) {
  minDouble = min;
  maxDouble = max;
  return *this;
}

Field& Field::validatedBy(StringCheck fn, std::string what) {
  check = std::move(fn);
  checkGivesMessage = false;
  checkDoc = std::move(what);
  return *this;
}

Field& Field::checkedBy(StringCheck fn, std::string what) {
  check = std::move(fn);
  checkGivesMessage = true;
  checkDoc = std::move(what);
  return *this;
}

Field& Field::checkedWith(SectionCheck fn) {
  sectionCheck = std::move(fn);
  return *this;
}

Field& Field::itemCount(std::size_t min, std::size_t max) {
  minItems = min;
  maxItems = max;
  return *this;
}

Field& Field::itemsCalled(std::string name) {
  itemsName = std::move(name);
  return *this;
}

Field& Field::acceptSingle() {
  single = true;
  return *this;
}

namespace {

std::string joinPath(std::string_view prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  if (key.empty()) return std::string(prefix);
  std::string out(prefix);
  out += '.';
  out += key;
  return out;
}

// The placeholder for an open map's keys in docs and key paths.
constexpr std::string_view kAnyKey = "<key>";

void collectKeyPaths(const std::vector<Field>& fields, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& f : fields) {
    const std::string path = joinPath(prefix, f.key);
    out.push_back(path);
    if (f.type == FieldType::Section) collectKeyPaths(f.children, path, out);
    if (f.type == FieldType::List) collectKeyPaths(f.children, path + "[]", out);
    if (f.type == FieldType::Map && f.mapValue) {
      const std::string valuePath = joinPath(path, kAnyKey);
      out.push_back(valuePath);
      if (f.mapValue->type == FieldType::Section) collectKeyPaths(f.mapValue->children, valuePath, out);
    }
  }
}

}  // namespace

std::vector<std::string> Schema::keyPaths() const {
  std::vector<std::string> out;
  collectKeyPaths(fields, {}, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values

namespace {

template <typename Pairs>
auto findNamed(Pairs& pairs, std::string_view name) -> decltype(&pairs.front().second) {
  for (auto& p : pairs) {
    if (p.first == name) return &p.second;
  }
  return nullptr;
}

template <typename Pairs>
auto& namedForWriting(Pairs& pairs, std::string_view name) {
  if (auto* found = findNamed(pairs, name)) return *found;
  pairs.emplace_back(std::string(name), typename Pairs::value_type::second_type{});
  return pairs.back().second;
}

[[noreturn]] void undeclared(std::string_view what, std::string_view path) {
  throw std::logic_error("config: the schema declares no " + std::string(what) + " " + std::string(path));
}

}  // namespace

std::pair<const Values*, std::string_view> Values::owner(std::string_view path) const {
  const Values* v = this;
  for (;;) {
    const std::size_t dot = path.find('.');
    if (dot == std::string_view::npos) return {v, path};
    v = findNamed(v->sections_, path.substr(0, dot));
    if (v == nullptr) return {nullptr, path};
    path.remove_prefix(dot + 1);
  }
}

const Values::Entry* Values::find(std::string_view path) const {
  const auto [holder, last] = owner(path);
  if (holder == nullptr) return nullptr;
  const auto it = holder->entries_.find(last);
  return it == holder->entries_.end() ? nullptr : &it->second;
}

const Values::Entry& Values::at(std::string_view path) const {
  const Entry* e = find(path);
  if (e == nullptr) undeclared("key", path);
  return *e;
}

bool Values::isSet(std::string_view path) const {
  if (const Entry* e = find(path)) return e->fromFile;
  return section(path).fromFile();
}

const Values& Values::section(std::string_view path) const {
  const auto [holder, last] = owner(path);
  const Values* found = holder == nullptr ? nullptr : findNamed(holder->sections_, last);
  if (found == nullptr) undeclared("section", path);
  return *found;
}

const std::vector<Values>& Values::list(std::string_view path) const {
  const auto [holder, last] = owner(path);
  const auto* found = holder == nullptr ? nullptr : findNamed(holder->lists_, last);
  if (found == nullptr) undeclared("list", path);
  return *found;
}

const std::vector<Values::MapItem>& Values::map(std::string_view path) const {
  const auto [holder, last] = owner(path);
  const auto* found = holder == nullptr ? nullptr : findNamed(holder->maps_, last);
  if (found == nullptr) undeclared("map", path);
  return *found;
}

Values& Values::sectionForWriting(std::string_view path) {
  Values* v = this;
  for (;;) {
    const std::size_t dot = path.find('.');
    if (dot == std::string_view::npos) return namedForWriting(v->sections_, path);
    v = &namedForWriting(v->sections_, path.substr(0, dot));
    path.remove_prefix(dot + 1);
  }
}

namespace {
// The section holding the last step of `path`, created as needed, and that step.
std::pair<Values*, std::string_view> ownerForWriting(Values& root, std::string_view path) {
  const std::size_t dot = path.rfind('.');
  if (dot == std::string_view::npos) return {&root, path};
  return {&root.sectionForWriting(path.substr(0, dot)), path.substr(dot + 1)};
}
}  // namespace

void Values::set(std::string_view path, Entry entry) {
  const auto [holder, last] = ownerForWriting(*this, path);
  holder->entries_.insert_or_assign(std::string(last), std::move(entry));
}

std::vector<Values>& Values::listForWriting(std::string_view path) {
  const auto [holder, last] = ownerForWriting(*this, path);
  return namedForWriting(holder->lists_, last);
}

std::vector<Values::MapItem>& Values::mapForWriting(std::string_view path) {
  const auto [holder, last] = ownerForWriting(*this, path);
  return namedForWriting(holder->maps_, last);
}

namespace {
template <typename T>
const T& typed(const Values::Entry& e, std::string_view path) {
  if (std::holds_alternative<std::monostate>(e.value)) {
    throw std::logic_error("config: key " + std::string(path) + " is not set (check isSet() first)");
  }
  const T* v = std::get_if<T>(&e.value);
  if (v == nullptr) throw std::logic_error("config: key " + std::string(path) + " has another type");
  return *v;
}
}  // namespace

const std::string& Values::getString(std::string_view path) const { return typed<std::string>(at(path), path); }
std::int64_t Values::getInt(std::string_view path) const { return typed<std::int64_t>(at(path), path); }
bool Values::getBool(std::string_view path) const { return typed<bool>(at(path), path); }
double Values::getDouble(std::string_view path) const { return typed<double>(at(path), path); }
const std::vector<std::string>& Values::getStringList(std::string_view path) const {
  return typed<std::vector<std::string>>(at(path), path);
}

// ---------------------------------------------------------------------------------------------
// Problems (custom checks)

std::string Problems::keyPath(std::string_view path) const {
  if (sectionPath_.empty()) return std::string(path);
  if (path.empty()) return sectionPath_;
  // "mappings[2]" + "[1]" would not need a dot, but checks name keys, never bare indexes.
  return sectionPath_ + "." + std::string(path);
}

void Problems::add(std::string_view path, std::string message) {
  int line = values_.line();
  int column = values_.column();
  if (!path.empty()) {
    if (const Values::Entry* e = values_.find(path); e != nullptr && e->line > 0) {
      line = e->line;
      column = e->column;
    } else {
      try {
        const Values& section = values_.section(path);
        if (section.line() > 0) {
          line = section.line();
          column = section.column();
        }
      } catch (const std::logic_error&) {
        // Not a key with a position of its own (a list, a map, a defaulted value): the
        // section's position stands for it.
      }
    }
  }
  add(path, line, column, std::move(message));
}

void Problems::add(std::string_view path, int line, int column, std::string message) {
  diagnostics_.add(Diagnostic{line, column, keyPath(path), std::move(message)});
}

// ---------------------------------------------------------------------------------------------
// Reading scalars the YAML 1.2 core-schema way, strictly

namespace {

constexpr std::size_t kMaxShown = 64;

enum class PlainKind : std::uint8_t { Null, Bool, Int, Float, NonFinite, Text };

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isIntLiteral(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!isDigit(s[i])) return false;
  }
  return true;
}

// [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool isFloatLiteral(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  std::size_t digits = 0;
  while (i < s.size() && isDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t expDigits = 0;
    while (i < s.size() && isDigit(s[i])) ++i, ++expDigits;
    if (expDigits == 0) return false;
  }
  return i == s.size();
}

PlainKind classifyPlain(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return PlainKind::Null;
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE") return PlainKind::Bool;
  if (isIntLiteral(s)) return PlainKind::Int;
  if (isFloatLiteral(s)) return PlainKind::Float;
  std::string_view body = s;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) body.remove_prefix(1);
  if (body == ".inf" || body == ".Inf" || body == ".INF" || s == ".nan" || s == ".NaN" || s == ".NAN") {
    return PlainKind::NonFinite;
  }
  return PlainKind::Text;
}

bool isPlain(const YAML::Node& n) { return n.Tag() == "?"; }
bool isQuotedString(const YAML::Node& n) { return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str"; }
bool isNullish(const YAML::Node& n) {
  return !n.IsDefined() || n.IsNull() || (n.IsScalar() && isPlain(n) && classifyPlain(n.Scalar()) == PlainKind::Null);
}

std::string shownNumber(std::string_view s) {
  return s.size() <= kMaxShown ? std::string(s) : std::string(s.substr(0, kMaxShown)) + "...";
}

// "string \"abc\"", "integer 12", "a list", ... for "expected X, found Y".
std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing (an empty value)";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  const std::string& s = n.Scalar();
  if (!isPlain(n)) return "string " + quoteForMessage(s);
  switch (classifyPlain(s)) {
    case PlainKind::Null: return "null";
    case PlainKind::Bool: return "boolean " + s;
    case PlainKind::Int: return "integer " + shownNumber(s);
    case PlainKind::Float:
    case PlainKind::NonFinite: return "number " + shownNumber(s);
    case PlainKind::Text: break;
  }
  return "string " + quoteForMessage(s);
}

// describe() for a key's value, with the fix for the common slip of leaving a value empty.
std::string found(const YAML::Node& n) {
  return isNullish(n) ? describe(n) + "; remove the key to use the default" : describe(n);
}

// Keys go into key paths; anything but a tame name is quoted so it cannot break the line format.
std::string displayKey(std::string_view key) {
  bool tame = !key.empty() && key.size() <= kMaxShown;
  for (char c : key) {
    if (c <= ' ' || c > '~' || c == '"') tame = false;
  }
  return tame ? std::string(key) : quoteForMessage(key);
}

std::string joinList(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string normalizedKey(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-' || c == ' ') c = '_';
  }
  return out;
}

// The closest candidate when it is close enough to be a typo, else "".
std::string closest(std::string_view wrong, const std::vector<std::string>& candidates) {
  if (wrong.empty() || wrong.size() > kMaxShown) return {};
  const std::string norm = normalizedKey(wrong);
  // "warning" for "warn": a prefix is as telling as a typo, when only one candidate shares it.
  const auto sharesPrefix = [&](const std::string& candidate) {
    const std::size_t shorter = std::min(candidate.size(), norm.size());
    return shorter >= 3 && candidate.compare(0, shorter, norm, 0, shorter) == 0;
  };
  const auto prefixMatches = std::count_if(candidates.begin(), candidates.end(),
                                           [&](const std::string& c) { return sharesPrefix(normalizedKey(c)); });
  const std::size_t allowed = norm.size() >= 5 ? 2 : 1;
  std::string best;
  std::size_t bestDistance = allowed + 1;
  for (const auto& c : candidates) {
    const std::string candidate = normalizedKey(c);
    const std::size_t d = (prefixMatches == 1 && sharesPrefix(candidate)) ? 1 : editDistance(norm, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

std::string describeRange(std::int64_t min, std::int64_t max) {
  constexpr auto lo = std::numeric_limits<std::int64_t>::min();
  constexpr auto hi = std::numeric_limits<std::int64_t>::max();
  if (min == lo && max == hi) return {};
  if (min == lo) return "at most " + std::to_string(max);
  if (max == hi) return "at least " + std::to_string(min);
  return "between " + std::to_string(min) + " and " + std::to_string(max);
}

std::string formatDouble(double v) {
  std::string out;
  json::appendDouble(out, v);
  return out;
}

std::string describeRange(double min, double max) {
  const bool noMin = min <= -std::numeric_limits<double>::max();
  const bool noMax = max >= std::numeric_limits<double>::max();
  if (noMin && noMax) return {};
  if (noMin) return "at most " + formatDouble(max);
  if (noMax) return "at least " + formatDouble(min);
  return "between " + formatDouble(min) + " and " + formatDouble(max);
}

std::vector<std::string> keysOf(const std::vector<Field>& fields) {
  std::vector<std::string> keys;
  keys.reserve(fields.size());
  for (const auto& f : fields) keys.push_back(f.key);
  return keys;
}

// What the items of a list are called in messages: "mappings", else "{topic, qos, ...}".
std::string itemsNoun(const Field& field) {
  if (!field.itemsName.empty()) return field.itemsName;
  if (field.type == FieldType::StringList) return "strings";
  return "{" + joinList(keysOf(field.children), ", ") + "}";
}

// "a list of strings", "a non-empty list of mappings", "a string or a list of strings".
std::string expectedList(const Field& field) {
  const std::string noun = itemsNoun(field);
  std::string out = (field.minItems > 0 ? "a non-empty list of " : "a list of ") + noun;
  if (field.single) out = "a string or " + out;
  return out;
}

std::string countText(std::size_t n) {
  if (n == 0) return "an empty list";
  return std::to_string(n) + (n == 1 ? " item" : " items");
}

int lineOf(const YAML::Mark& m) { return m.is_null() || m.line < 0 ? 0 : m.line + 1; }
int columnOf(const YAML::Mark& m) { return m.is_null() || m.column < 0 ? 0 : m.column + 1; }

// ---------------------------------------------------------------------------------------------
// The walk

class Validator {
 public:
  explicit Validator(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  // Every declared key at its default (sections recursively; lists and maps empty).
  void fillDefaults(const std::vector<Field>& fields, Values& out) {
    for (const auto& f : fields) {
      switch (f.type) {
        case FieldType::Section: fillDefaults(f.children, out.sectionForWriting(f.key)); break;
        case FieldType::List: (void)out.listForWriting(f.key); break;
        case FieldType::Map: (void)out.mapForWriting(f.key); break;
        default: out.set(f.key, Values::Entry{f.defaultValue, false, 0, 0}); break;
      }
    }
  }

  // One declared key whose value is `value`, stored into `out` (the section holding it).
  void field(const Field& field, const YAML::Node& value, const YAML::Mark& keyMark, Values& out,
             const std::string& path) {
    switch (field.type) {
      case FieldType::Section: {
        Values& section = out.sectionForWriting(field.key);
        const YAML::Mark mark = valueMark(value, keyMark);
        section.setPosition(lineOf(mark), columnOf(mark), true);
        checkedSection(field, value, keyMark, section, path, false);
        break;
      }
      case FieldType::List: list(field, value, keyMark, out.listForWriting(field.key), path); break;
      case FieldType::Map: openMap(field, value, keyMark, out.mapForWriting(field.key), path); break;
      default:
        if (auto entry = leaf(field, value, keyMark, path, false)) out.set(field.key, std::move(*entry));
        break;
    }
  }

  // A section or list item, then its custom check when nothing inside it had a problem.
  void checkedSection(const Field& field, const YAML::Node& node, const YAML::Mark& ownerMark, Values& out,
                      const std::string& path, bool isListItem) {
    const std::size_t before = diagnostics_.total();
    section(node, field.children, out, path, ownerMark, isListItem);
    if (field.sectionCheck && diagnostics_.total() == before) runCheck(field.sectionCheck, out, path);
  }

  // `ownerMark`: where the key naming this section is (the node's own mark is useless when empty).
  void section(const YAML::Node& node, const std::vector<Field>& fields, Values& out, const std::string& path,
               const YAML::Mark& ownerMark, bool isListItem) {
    const std::vector<std::string> keys = keysOf(fields);
    if (isNullish(node) && !isListItem) {   // "http:" with nothing below it: all defaults
      reportMissingRequired(fields, {}, path, ownerMark);
      return;
    }
    if (!node.IsMap()) {
      const YAML::Mark mark = node.Mark().is_null() ? ownerMark : node.Mark();
      if (path.empty()) {
        report(mark, path, "the top level must be a mapping with the keys " + joinList(keys, ", ") + "; found " +
                               describe(node));
      } else {
        report(mark, path, std::string("expected ") + (isListItem ? "a mapping" : "a section") + " with the keys " +
                               joinList(keys, ", ") + ", found " + describe(node));
      }
      return;
    }

    const auto seen = forEachKey(node, path, [&](const YAML::Node& keyNode, const YAML::Node& valueNode,
                                                 const std::string& name, const std::string& childPath) {
      const auto declared = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.key == name; });
      if (declared == fields.end()) {
        reportUnknown(keyNode.Mark(), childPath, name, keys, path);
        return;
      }
      field(*declared, valueNode, keyNode.Mark(), out, childPath);
    });
    reportMissingRequired(fields, seen, path, node.Mark().is_null() ? ownerMark : node.Mark());
  }

  // A list of mappings: each item is validated on its own, with its index in the key path.
  void list(const Field& field, const YAML::Node& node, const YAML::Mark& keyMark, std::vector<Values>& items,
            const std::string& path) {
    const YAML::Mark mark = valueMark(node, keyMark);
    if (isNullish(node)) {
      if (field.minItems > 0) report(mark, path, "expected " + expectedList(field) + ", found " + describe(node));
      return;
    }
    if (!node.IsSequence()) {
      report(mark, path, "expected " + expectedList(field) + ", found " + describe(node));
      return;
    }
    if (!countFits(field, node.size(), mark, path)) return;
    std::size_t index = 0;
    for (auto it = node.begin(); it != node.end(); ++it, ++index) {
      const YAML::Node item = *it;
      const std::string itemPath = path + "[" + std::to_string(index) + "]";
      const YAML::Mark itemMark = valueMark(item, mark);
      Values values;
      fillDefaults(field.children, values);
      values.setPosition(lineOf(itemMark), columnOf(itemMark), true);
      checkedSection(field, item, itemMark, values, itemPath, true);
      items.push_back(std::move(values));
    }
  }

  // An open mapping: names checked; each value validated against field.mapValue, or (without
  // one) a mapping or empty, left for a later validation.
  void openMap(const Field& field, const YAML::Node& node, const YAML::Mark& keyMark, std::vector<Values::MapItem>& items,
               const std::string& path) {
    if (isNullish(node)) return;
    if (!node.IsMap()) {
      const std::string noun = !field.itemsName.empty() ? field.itemsName
                               : field.mapValue        ? std::string("names to values")
                                                       : std::string("names to settings");
      report(node.Mark().is_null() ? keyMark : node.Mark(), path, "expected a mapping of " + noun + ", found " + describe(node));
      return;
    }
    forEachKey(node, path, [&](const YAML::Node& keyNode, const YAML::Node& valueNode, const std::string& name,
                               const std::string& childPath) {
      if (!passesCheck(field, name, keyNode.Mark(), childPath)) return;
      Values::MapItem item;
      item.key = name;
      item.line = lineOf(keyNode.Mark());
      item.column = columnOf(keyNode.Mark());
      if (!field.mapValue) {
        if (!isNullish(valueNode) && !valueNode.IsMap()) {
          report(valueNode.Mark().is_null() ? keyNode.Mark() : valueNode.Mark(), childPath,
                 "expected a section of settings (or nothing), found " + describe(valueNode));
        }
      } else if (field.mapValue->type == FieldType::Section) {
        const Field& shape = *field.mapValue;
        fillDefaults(shape.children, item.section);
        const YAML::Mark mark = valueMark(valueNode, keyNode.Mark());
        item.section.setPosition(lineOf(mark), columnOf(mark), true);
        checkedSection(shape, valueNode, keyNode.Mark(), item.section, childPath, false);
      } else if (field.mapValue->type == FieldType::List || field.mapValue->type == FieldType::Map) {
        report(keyNode.Mark(), childPath, "cannot check this value: the schema gives the map a list or map value type");
      } else if (auto entry = leaf(*field.mapValue, valueNode, keyNode.Mark(), childPath, true)) {
        item.value = std::move(*entry);
      } else {
        return;   // reported
      }
      items.push_back(std::move(item));
    });
  }

  void runCheck(const SectionCheck& check, const Values& values, const std::string& path) {
    Problems problems(diagnostics_, values, path);
    try {
      check(values, problems);
    } catch (const std::exception& e) {
      // A check reading an undeclared key is a bug in the schema; the operator still gets a line.
      diagnostics_.add(Diagnostic{values.line(), values.column(), path, std::string("cannot check this: ") + e.what()});
    }
  }

 private:
  using SeenKeys = std::map<std::string, YAML::Mark, std::less<>>;

  // Calls fn(keyNode, valueNode, name, childPath) for each key of the mapping `node` that is a
  // plain name seen for the first time (the others are reported); returns the keys seen.
  template <typename Fn>
  SeenKeys forEachKey(const YAML::Node& node, const std::string& path, Fn&& fn) {
    SeenKeys seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node keyNode = it->first;
      if (!admitKey(keyNode, path, seen)) continue;
      const std::string& name = keyNode.Scalar();
      fn(keyNode, it->second, name, joinPath(path, displayKey(name)));
    }
    return seen;
  }

  // A mapping key: a plain name seen once in its mapping. Reports and returns false otherwise.
  bool admitKey(const YAML::Node& keyNode, const std::string& mapPath, SeenKeys& seen) {
    if (!keyNode.IsScalar()) {
      report(keyNode.Mark(), mapPath, "keys must be plain names, found " + describe(keyNode) + " as a key");
      return false;
    }
    const std::string& name = keyNode.Scalar();
    if (const auto previous = seen.find(name); previous != seen.end()) {
      report(keyNode.Mark(), joinPath(mapPath, displayKey(name)),
             "duplicate key; it is already set at line " + std::to_string(previous->second.line + 1) + ", column " +
                 std::to_string(previous->second.column + 1) + " (YAML would silently keep only one of them)");
      return false;
    }
    seen.emplace(name, keyNode.Mark());
    return true;
  }

  // "missing required key K (why)", at the section that lacks it.
  void reportMissingRequired(const std::vector<Field>& fields, const SeenKeys& seen,
                             const std::string& sectionPath, const YAML::Mark& mark) {
    for (const auto& f : fields) {
      if (!f.required || seen.count(f.key) != 0) continue;
      const std::string& why = f.requiredHint.empty() ? f.description : f.requiredHint;
      report(mark, sectionPath, "missing required key " + displayKey(f.key) + (why.empty() ? std::string() : " (" + why + ")"));
    }
  }

  bool countFits(const Field& field, std::size_t count, const YAML::Mark& mark, const std::string& path) {
    const std::string noun = itemsNoun(field);
    if (count < field.minItems) {
      report(mark, path,
             (field.minItems == 1 ? "expected a non-empty list of " + noun
                                  : "expected at least " + std::to_string(field.minItems) + " " + noun) +
                 ", found " + countText(count));
      return false;
    }
    if (count > field.maxItems) {
      // Not walked further: a hostile file cannot make the check itself expensive.
      report(mark, path, "expected at most " + std::to_string(field.maxItems) + " " + noun + ", found " + countText(count));
      return false;
    }
    return true;
  }

  void report(const YAML::Mark& mark, const std::string& path, std::string message) {
    diagnostics_.add(mark, path, std::move(message));
  }

  void reportUnknown(const YAML::Mark& mark, const std::string& path, std::string_view name,
                     const std::vector<std::string>& keys, const std::string& sectionPath) {
    std::string message = "unknown key";
    if (const std::string suggestion = closest(name, keys); !suggestion.empty()) {
      message += "; did you mean \"" + suggestion + "\"?";
    } else {
      message += '.';
    }
    if (keys.empty()) {
      message += sectionPath.empty() ? " This file takes no keys." : " Section " + sectionPath + " takes no keys.";
    } else if (sectionPath.empty()) {
      message += " Valid top-level keys: " + joinList(keys, ", ");
    } else {
      message += " Valid keys in " + sectionPath + ": " + joinList(keys, ", ");
    }
    report(mark, path, std::move(message));
  }

  // Position of a value: an empty value has no position of its own, so use its key's.
  static YAML::Mark valueMark(const YAML::Node& value, const YAML::Mark& keyMark) {
    return (!value.IsDefined() || value.IsNull() || value.Mark().is_null()) ? keyMark : value.Mark();
  }

  // A scalar's text if the node is a non-null scalar usable as a string, else reports and nullopt.
  // `inCollection`: an item of a list or map, where "remove the key to use the default" is no fix.
  std::optional<std::string> scalarText(const YAML::Node& value, const YAML::Mark& mark, const std::string& path,
                                        std::string_view expected, bool inCollection) {
    if (!value.IsScalar() || isNullish(value)) {
      report(mark, path, "expected " + std::string(expected) + ", found " + (inCollection ? describe(value) : found(value)));
      return std::nullopt;
    }
    if (!isPlain(value) && !isQuotedString(value)) {
      report(mark, path, "the YAML tag " + quoteForMessage(value.Tag()) + " is not supported here");
      return std::nullopt;
    }
    return value.Scalar();
  }

  bool passesCheck(const Field& field, const std::string& text, const YAML::Mark& mark, const std::string& path) {
    if (!field.check) return true;
    std::string complaint;
    try {
      complaint = field.check(text);
    } catch (const std::exception& e) {
      complaint = std::string("cannot check this value: ") + e.what();
    }
    if (complaint.empty()) return true;
    report(mark, path, field.checkGivesMessage ? std::move(complaint) : complaint + ", found " + quoteForMessage(text));
    return false;
  }

  std::optional<Values::Entry> leaf(const Field& field, const YAML::Node& value, const YAML::Mark& keyMark,
                                    const std::string& path, bool inCollection) {
    const YAML::Mark mark = valueMark(value, keyMark);
    std::optional<FieldValue> parsed;
    switch (field.type) {
      case FieldType::String: parsed = readString(field, value, mark, path, inCollection); break;
      case FieldType::Enum: parsed = readEnum(field, value, mark, path, inCollection); break;
      case FieldType::Int: parsed = readInt(field, value, mark, path, inCollection); break;
      case FieldType::Bool: parsed = readBool(value, mark, path, inCollection); break;
      case FieldType::Double: parsed = readDouble(field, value, mark, path, inCollection); break;
      case FieldType::StringList: parsed = readStringList(field, value, mark, path, inCollection); break;
      case FieldType::Section:
      case FieldType::Map:
      case FieldType::List: break;   // handled by field()
    }
    if (!parsed) return std::nullopt;
    return Values::Entry{std::move(*parsed), true, lineOf(mark), columnOf(mark)};
  }

  std::string foundText(const YAML::Node& value, bool inCollection) { return inCollection ? describe(value) : found(value); }

  std::optional<FieldValue> readString(const Field& field, const YAML::Node& value, const YAML::Mark& mark,
                                       const std::string& path, bool inCollection) {
    auto text = scalarText(value, mark, path, "a string", inCollection);
    if (!text || !passesCheck(field, *text, mark, path)) return std::nullopt;
    return FieldValue(std::move(*text));
  }

  std::optional<FieldValue> readEnum(const Field& field, const YAML::Node& value, const YAML::Mark& mark,
                                     const std::string& path, bool inCollection) {
    const std::string allowed = joinList(field.allowed, ", ");
    auto text = scalarText(value, mark, path, "one of " + allowed, inCollection);
    if (!text) return std::nullopt;
    if (std::find(field.allowed.begin(), field.allowed.end(), *text) != field.allowed.end()) {
      if (!passesCheck(field, *text, mark, path)) return std::nullopt;
      return FieldValue(std::move(*text));
    }
    std::string message = "must be one of " + allowed + "; found " + quoteForMessage(*text);
    if (const std::string suggestion = closest(*text, field.allowed); !suggestion.empty()) {
      message += " (did you mean \"" + suggestion + "\"?)";
    }
    report(mark, path, std::move(message));
    return std::nullopt;
  }

  std::optional<FieldValue> readInt(const Field& field, const YAML::Node& value, const YAML::Mark& mark,
                                    const std::string& path, bool inCollection) {
    const std::string range = describeRange(field.minInt, field.maxInt);
    if (!value.IsScalar() || !isPlain(value) || classifyPlain(value.Scalar()) != PlainKind::Int) {
      const bool quotedNumber = value.IsScalar() && isQuotedString(value) && isIntLiteral(value.Scalar());
      report(mark, path, "expected an integer, found " + foundText(value, inCollection) +
                             (quotedNumber ? " (write it without quotes)" : ""));
      return std::nullopt;
    }
    std::string_view text = value.Scalar();
    if (!text.empty() && text[0] == '+') text.remove_prefix(1);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range) {
      report(mark, path, range.empty() ? "integer " + shownNumber(value.Scalar()) + " does not fit in 64 bits"
                                       : "must be " + range + ", found " + shownNumber(value.Scalar()));
      return std::nullopt;
    }
    if (ec != std::errc() || end != text.data() + text.size()) {
      report(mark, path, "expected an integer, found " + describe(value));
      return std::nullopt;
    }
    if (v < field.minInt || v > field.maxInt) {
      report(mark, path, "must be " + range + ", found " + std::to_string(v));
      return std::nullopt;
    }
    return FieldValue(v);
  }

  std::optional<FieldValue> readBool(const YAML::Node& value, const YAML::Mark& mark, const std::string& path,
                                     bool inCollection) {
    if (value.IsScalar() && isPlain(value) && (value.Scalar() == "true" || value.Scalar() == "false")) {
      return FieldValue(value.Scalar() == "true");
    }
    report(mark, path, "expected true or false, found " + foundText(value, inCollection));
    return std::nullopt;
  }

  std::optional<FieldValue> readDouble(const Field& field, const YAML::Node& value, const YAML::Mark& mark,
                                       const std::string& path, bool inCollection) {
    const PlainKind kind = value.IsScalar() && isPlain(value) ? classifyPlain(value.Scalar()) : PlainKind::Text;
    if (kind == PlainKind::NonFinite) {
      report(mark, path, "must be a finite number, found " + describe(value));
      return std::nullopt;
    }
    if (kind != PlainKind::Int && kind != PlainKind::Float) {
      report(mark, path, "expected a number, found " + foundText(value, inCollection));
      return std::nullopt;
    }
    std::string_view text = value.Scalar();
    if (!text.empty() && text[0] == '+') text.remove_prefix(1);
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
      report(mark, path, "must be a finite number, found " + describe(value));
      return std::nullopt;
    }
    if (v < field.minDouble || v > field.maxDouble) {
      report(mark, path, "must be " + describeRange(field.minDouble, field.maxDouble) + ", found " + shownNumber(value.Scalar()));
      return std::nullopt;
    }
    return FieldValue(v);
  }

  std::optional<FieldValue> readStringList(const Field& field, const YAML::Node& value, const YAML::Mark& mark,
                                           const std::string& path, bool inCollection) {
    if (field.single && value.IsScalar() && !isNullish(value)) {
      auto text = scalarText(value, mark, path, "a string", inCollection);
      if (!text || !passesCheck(field, *text, mark, path)) return std::nullopt;
      if (!countFits(field, 1, mark, path)) return std::nullopt;
      return FieldValue(std::vector<std::string>{std::move(*text)});
    }
    if (!value.IsSequence()) {
      report(mark, path, "expected " + expectedList(field) + ", found " + foundText(value, inCollection));
      return std::nullopt;
    }
    if (!countFits(field, value.size(), mark, path)) return std::nullopt;
    std::vector<std::string> items;
    bool ok = true;
    std::size_t index = 0;
    for (auto it = value.begin(); it != value.end(); ++it, ++index) {
      const YAML::Node item = *it;
      const std::string itemPath = path + "[" + std::to_string(index) + "]";
      const YAML::Mark itemMark = valueMark(item, mark);
      auto text = scalarText(item, itemMark, itemPath, "a string", true);
      if (!text || !passesCheck(field, *text, itemMark, itemPath)) {
        ok = false;
        continue;
      }
      items.push_back(std::move(*text));
    }
    if (!ok) return std::nullopt;
    return FieldValue(std::move(items));
  }

  Diagnostics& diagnostics_;
};

}  // namespace

Values validate(const YAML::Node& node, const Schema& schema, std::string_view keyPathPrefix,
                Diagnostics& diagnostics) {
  Values values;
  Validator validator(diagnostics);
  validator.fillDefaults(schema.fields, values);
  try {
    const YAML::Mark mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
    values.setPosition(lineOf(mark), columnOf(mark), node.IsDefined() && !node.IsNull());
    const std::size_t before = diagnostics.total();
    validator.section(node, schema.fields, values, std::string(keyPathPrefix), mark, false);
    if (schema.check && diagnostics.total() == before) validator.runCheck(schema.check, values, std::string(keyPathPrefix));
  } catch (const std::exception& e) {
    // yaml-cpp throws on misuse of invalid nodes; never let that escape as a crash.
    diagnostics.add(Diagnostic{0, 0, std::string(keyPathPrefix), std::string("cannot validate: ") + e.what()});
  }
  return values;
}

Values validateValue(const YAML::Node& node, const Field& field, std::string_view keyPathPrefix,
                     Diagnostics& diagnostics) {
  Values values;
  Validator validator(diagnostics);
  validator.fillDefaults({field}, values);
  try {
    const YAML::Mark mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
    values.setPosition(lineOf(mark), columnOf(mark), true);
    YAML::Node value = node;
    const bool isList = field.type == FieldType::List || field.type == FieldType::StringList;
    if (isList && (!node.IsDefined() || node.IsNull())) {
      // The file is there but empty: for a list that is "no items", refused when items are needed.
      value = YAML::Node(YAML::NodeType::Sequence);
    }
    validator.field(field, value, mark, values, joinPath(keyPathPrefix, field.key));
  } catch (const std::exception& e) {
    diagnostics.add(Diagnostic{0, 0, joinPath(keyPathPrefix, field.key), std::string("cannot validate: ") + e.what()});
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Edit distance

std::size_t editDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment, three rolling rows.
  std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}


// ---------------------------------------------------------------------------------------------
// Markdown

namespace {

std::string escapeCell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string code(std::string_view text) { return "`" + std::string(text) + "`"; }

std::string typeName(const Field& f) {
  switch (f.type) {
    case FieldType::String: return "string";
    case FieldType::Int: return "integer";
    case FieldType::Bool: return "boolean";
    case FieldType::Double: return "number";
    case FieldType::Enum: return "enum";
    case FieldType::StringList: return f.single ? "string or list of strings" : "list of strings";
    case FieldType::Section: return "section";
    case FieldType::Map: return "map";
    case FieldType::List: return "list";
  }
  return "?";
}

std::string defaultText(const Field& f) {
  if (f.required) return "required";
  if (!f.hasDefault) return "none";
  switch (f.type) {
    case FieldType::String:
    case FieldType::Enum: {
      const auto* s = std::get_if<std::string>(&f.defaultValue);
      return (s == nullptr || s->empty()) ? code("\"\"") : code(*s);
    }
    case FieldType::Int: {
      const auto* v = std::get_if<std::int64_t>(&f.defaultValue);
      return v ? code(std::to_string(*v)) : "";
    }
    case FieldType::Bool: {
      const auto* v = std::get_if<bool>(&f.defaultValue);
      return v ? code(*v ? "true" : "false") : "";
    }
    case FieldType::Double: {
      const auto* v = std::get_if<double>(&f.defaultValue);
      return v ? code(formatDouble(*v)) : "";
    }
    case FieldType::StringList: {
      const auto* v = std::get_if<std::vector<std::string>>(&f.defaultValue);
      return code("[" + (v ? joinList(*v, ", ") : std::string()) + "]");
    }
    case FieldType::Map: return code("{}");
    case FieldType::List: return code("[]");
    case FieldType::Section: break;
  }
  return {};
}

// "1 to 100 items", "at least 1 item", "" when any number.
std::string countDoc(const Field& f) {
  const bool noMax = f.maxItems == std::numeric_limits<std::size_t>::max();
  const auto items = [](std::size_t n) { return std::to_string(n) + (n == 1 ? " item" : " items"); };
  if (f.minItems == 0 && noMax) return {};
  if (noMax) return "at least " + items(f.minItems);
  if (f.minItems == 0) return "at most " + items(f.maxItems);
  return std::to_string(f.minItems) + " to " + items(f.maxItems);
}

std::string allowedText(const Field& f) {
  switch (f.type) {
    case FieldType::Int: {
      const std::string r = describeRange(f.minInt, f.maxInt);
      return r.empty() ? "any integer" : r;
    }
    case FieldType::Double: {
      const std::string r = describeRange(f.minDouble, f.maxDouble);
      return r.empty() ? "any finite number" : r;
    }
    case FieldType::Enum: {
      std::vector<std::string> quoted;
      for (const auto& a : f.allowed) quoted.push_back(code(a));
      return joinList(quoted, ", ");
    }
    case FieldType::Bool: return code("true") + ", " + code("false");
    case FieldType::StringList:
    case FieldType::List: {
      std::string text = f.checkDoc;
      if (const std::string count = countDoc(f); !count.empty()) text += (text.empty() ? "" : "; ") + count;
      if (f.type == FieldType::List && text.empty()) return "see below";
      return text.empty() ? "any" : text;
    }
    case FieldType::String:
    case FieldType::Map: return f.checkDoc.empty() ? "any" : f.checkDoc;
    case FieldType::Section: break;
  }
  return {};
}

std::string heading(int level, const std::string& path) {
  return std::string(static_cast<std::size_t>(std::clamp(level, 1, 6)), '#') + " " + code(path) + "\n\n";
}

void renderFields(std::string& out, const std::vector<Field>& fields, const std::string& path, int level) {
  bool tableStarted = false;
  const auto row = [&](const Field& f, const std::string& keyPath) {
    if (!tableStarted) {
      out += "| Key | Type | Default | Allowed | Description |\n";
      out += "|---|---|---|---|---|\n";
      tableStarted = true;
    }
    out += "| " + code(keyPath) + " | " + typeName(f) + " | " + escapeCell(defaultText(f)) + " | " +
           escapeCell(allowedText(f)) + " | " + escapeCell(f.description) + " |\n";
  };
  for (const auto& f : fields) {
    if (f.type == FieldType::Section) continue;
    const std::string keyPath = joinPath(path, f.key);
    row(f, keyPath);
    if (f.type == FieldType::Map && f.mapValue && f.mapValue->type != FieldType::Section) {
      row(*f.mapValue, joinPath(keyPath, kAnyKey));
    }
  }
  if (tableStarted) out += '\n';
  // Then what has keys of its own: sections, list items, sections as map values.
  for (const auto& f : fields) {
    const std::string keyPath = joinPath(path, f.key);
    if (f.type == FieldType::Section) {
      out += heading(level, keyPath);
      if (!f.description.empty()) out += f.description + "\n\n";
      renderFields(out, f.children, keyPath, level + 1);
    } else if (f.type == FieldType::List) {
      out += heading(level, keyPath + "[]");
      out += "Each item of " + code(keyPath) + " is a mapping with these keys.\n\n";
      renderFields(out, f.children, keyPath + "[]", level + 1);
    } else if (f.type == FieldType::Map && f.mapValue && f.mapValue->type == FieldType::Section) {
      const std::string valuePath = joinPath(keyPath, kAnyKey);
      out += heading(level, valuePath);
      if (!f.mapValue->description.empty()) out += f.mapValue->description + "\n\n";
      renderFields(out, f.mapValue->children, valuePath, level + 1);
    }
  }
}

}  // namespace

std::string renderMarkdown(const Schema& schema, std::string_view keyPathPrefix, int headingLevel) {
  std::string out;
  renderFields(out, schema.fields, std::string(keyPathPrefix), headingLevel);
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

}  // namespace gatehouse::kit::config
