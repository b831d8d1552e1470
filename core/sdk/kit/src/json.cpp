// The kit's JSON reader (json.h): simdjson's On-Demand API walks the document and validates the
// grammar, UTF-8, escapes and surrogates; this file builds the Json tree and adds what simdjson
// leaves to its caller: duplicate names, depth, number literals (strict grammar, length, range,
// kept as written), exact literals and nothing after the value.

#include "gatehouse/kit/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <system_error>

#include <simdjson.h>

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json_write.h"

namespace gatehouse::kit {

namespace od = simdjson::ondemand;

namespace {

// Objects and arrays are counted first (simdjson's count_fields/count_elements walk the structural
// index only) and their vectors sized exactly: one allocation per container, and no value moved
// after it is read. That measured ~15% faster on a JWT payload than growing the vectors.
// Objects up to this many members (every JWT header and payload, most device payloads) are checked
// for duplicate names pairwise, which costs less than allocating and sorting; larger ones sort.
constexpr std::size_t kPairwiseDuplicateScan = 24;
// Each thread keeps its simdjson parser and buffers for documents up to this size (the parser
// holds about 5 bytes per input byte); a larger document gets its own, freed afterwards.
constexpr std::size_t kKeptDocumentBytes = 64 * 1024;

bool isSpace(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }

// simdjson hands out a scalar's token with the whitespace that follows it.
std::string_view trimRight(std::string_view s) noexcept {
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Where a stage-1 error of simdjson (found before any value is read) is: simdjson says what, not
// where, so the first offending byte is looked for (error path only).
std::size_t locateStage1Error(std::string_view text, simdjson::error_code code) {
  if (code == simdjson::UTF8_ERROR) {
    std::size_t i = 0;
    while (i < text.size()) {
      const std::size_t n = validUtf8Sequence(text.substr(i));
      if (n == 0) return i;
      i += n;
    }
    return text.size();
  }
  if (code == simdjson::UNESCAPED_CHARS) {
    bool inString = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (inString && c < 0x20) return i;
      if (inString && c == '\\') ++i;
      else if (c == '"') inString = !inString;
    }
  }
  return text.size();
}

std::string describe(simdjson::error_code code) {
  switch (code) {
    case simdjson::EMPTY: return "unexpected end of input";
    case simdjson::UTF8_ERROR: return "invalid UTF-8";
    case simdjson::UNESCAPED_CHARS: return "control character in a string";
    case simdjson::UNCLOSED_STRING: return "unterminated string";
    case simdjson::STRING_ERROR: return "invalid escape or lone surrogate in a string";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT: return "brackets do not match";
    case simdjson::TAPE_ERROR:
    case simdjson::INCORRECT_TYPE: return "unexpected character (a value, ',', ':' or a bracket was expected)";
    case simdjson::DEPTH_ERROR: return "nesting too deep";
    default: return std::string("malformed document (") + simdjson::error_message(code) + ")";
  }
}

std::string_view rawToken(od::value& v) noexcept { return v.raw_json_token(); }
std::string_view rawToken(od::document& d) noexcept {
  std::string_view s;
  if (d.raw_json_token().get(s) != simdjson::SUCCESS) return {};
  return s;
}

class Reader {
 public:
  Reader(std::string_view input, const JsonLimits& limits) : in_(input), limits_(limits) {}

  Result<Json> run(od::parser& parser, std::size_t capacity) {
    od::document doc;
    if (const auto e = parser.iterate(in_.data(), in_.size(), capacity).get(doc); e != simdjson::SUCCESS) {
      return failure(describe(e), e == simdjson::EMPTY ? 0 : locateStage1Error(in_, e));
    }
    doc_ = &doc;
    Json root;
    if (!value(doc, root, 0, true)) {
      if (!recount_) return failure(what_, offset_);
      // A count failed: the document is malformed. Walk it again without counting, which stops
      // where the fault is and says what it is (the error path only).
      sized_ = false;
      od::document again;
      if (parser.iterate(in_.data(), in_.size(), capacity).get(again) != simdjson::SUCCESS) return failure(what_, offset_);
      doc_ = &again;
      Json ignored;
      if (!value(again, ignored, 0, true)) return failure(what_, offset_);
      return failure("malformed array or object", in_.size());
    }
    if (root.kind == Json::Kind::Array || root.kind == Json::Kind::Object) {
      // After the root container the iterator must be at the end of the input.
      const char* at = nullptr;
      if (doc.current_location().get(at) == simdjson::SUCCESS) return failure("unexpected text after the value", offsetOf(at));
    }
    return root;
  }

 private:
  static Error failure(const std::string& what, std::size_t offset) {
    return badRequest("invalid JSON: " + what + " at offset " + std::to_string(offset));
  }

  bool fail(std::string what, std::size_t offset) {
    what_ = std::move(what);
    offset_ = offset;
    return false;
  }

  // An error simdjson found while walking: where its iterator stopped, else at the current value.
  bool fail(simdjson::error_code e, std::size_t fallbackOffset) {
    if (e == simdjson::INCOMPLETE_ARRAY_OR_OBJECT) return unbalanced();
    const char* at = nullptr;
    std::size_t offset = fallbackOffset;
    if (doc_ != nullptr && doc_->current_location().get(at) == simdjson::SUCCESS) offset = offsetOf(at);
    if (e == simdjson::TAPE_ERROR && offset >= in_.size()) return fail("unexpected end of input", in_.size());
    return fail(describe(e), offset);
  }

  // simdjson checks that the brackets balance before it walks, and says only that they do not
  // (error path only): find the first bracket that does not match, the end inside an open
  // container, or text after the root container.
  bool unbalanced() {
    std::string open;   // the brackets still open, innermost last
    std::size_t rootEnd = 0;
    bool inString = false;
    for (std::size_t i = 0; i < in_.size(); ++i) {
      const char c = in_[i];
      if (inString) {
        if (c == '\\') ++i;
        else if (c == '"') inString = false;
      } else if (c == '"') {
        inString = true;
      } else if (c == '[' || c == '{') {
        open += c;
      } else if (c == ']' || c == '}') {
        if (open.empty() || open.back() != (c == ']' ? '[' : '{')) return fail("closing bracket does not match", i);
        open.pop_back();
        if (open.empty() && rootEnd == 0) rootEnd = i + 1;
      }
    }
    if (!open.empty()) return fail("unexpected end of input (an array or object is not closed)", in_.size());
    std::size_t after = rootEnd;
    while (after < in_.size() && isSpace(in_[after])) ++after;
    if (rootEnd > 0 && after < in_.size()) return fail("unexpected text after the value", after);
    return fail(describe(simdjson::INCOMPLETE_ARRAY_OR_OBJECT), in_.size());
  }

  // Counting the members or items of a container failed (simdjson found it malformed).
  bool recount() {
    recount_ = true;
    return false;
  }

  std::size_t offsetOf(const char* p) const noexcept {
    return p >= in_.data() && p <= in_.data() + in_.size() ? static_cast<std::size_t>(p - in_.data()) : in_.size();
  }

  // depth = number of arrays/objects already open around this value.
  template <typename V>
  bool value(V& v, Json& out, int depth, bool root) {
    const std::string_view raw = rawToken(v);
    const std::size_t offset = raw.empty() ? in_.size() : offsetOf(raw.data());
    od::json_type type{};
    if (const auto e = v.type().get(type); e != simdjson::SUCCESS) return fail(e, offset);
    switch (type) {
      case od::json_type::object: return object(v, out, depth + 1, offset);
      case od::json_type::array: return array(v, out, depth + 1, offset);
      default: break;
    }
    // A scalar at the root must be all there is: its token runs to the next structural character.
    const std::string_view token = trimRight(raw);
    if (root && raw.data() + raw.size() != in_.data() + in_.size()) {
      return fail("unexpected text after the value", offset + raw.size());
    }
    switch (type) {
      case od::json_type::string: {
        std::string_view s;
        if (const auto e = v.get_string().get(s); e != simdjson::SUCCESS) return fail(describe(e), offset);
        out.kind = Json::Kind::String;
        out.text.assign(s);
        return true;
      }
      case od::json_type::number: return number(token, offset, out);
      case od::json_type::boolean:
        // simdjson only looked at the first character: the literal must be exactly true/false.
        if (token == "true" || token == "false") {
          out.kind = Json::Kind::Boolean;
          out.boolean = token[0] == 't';
          return true;
        }
        return fail("unknown literal", offset);
      case od::json_type::null:
        if (token == "null") {
          out.kind = Json::Kind::Null;
          return true;
        }
        return fail("unknown literal", offset);
      default: return fail("unexpected character", offset);
    }
  }

  template <typename V>
  bool object(V& v, Json& out, int depth, std::size_t offset) {
    if (depth > limits_.maxDepth) return fail("nesting deeper than " + std::to_string(limits_.maxDepth), offset);
    od::object obj;
    if (const auto e = v.get_object().get(obj); e != simdjson::SUCCESS) return fail(e, offset);
    out.kind = Json::Kind::Object;
    // Exactly sized: one allocation per object, and no member moved after it is read.
    if (sized_) {
      std::size_t count = 0;
      if (obj.count_fields().get(count) != simdjson::SUCCESS) return recount();
      out.members.reserve(count);
    }
    for (auto field : obj) {
      std::string_view key;
      if (const auto e = field.unescaped_key().get(key); e != simdjson::SUCCESS) return fail(e, offset);
      JsonMember& member = out.members.emplace_back();
      member.name.assign(key);
      od::value child;
      if (const auto e = field.value().get(child); e != simdjson::SUCCESS) return fail(e, offset);
      if (!value(child, member.value, depth, false)) return false;
    }
    return uniqueNames(out.members) || fail("duplicate member name in the object", offset);
  }

  template <typename V>
  bool array(V& v, Json& out, int depth, std::size_t offset) {
    if (depth > limits_.maxDepth) return fail("nesting deeper than " + std::to_string(limits_.maxDepth), offset);
    od::array arr;
    if (const auto e = v.get_array().get(arr); e != simdjson::SUCCESS) return fail(e, offset);
    out.kind = Json::Kind::Array;
    if (sized_) {
      std::size_t count = 0;
      if (arr.count_elements().get(count) != simdjson::SUCCESS) return recount();
      out.items.reserve(count);
    }
    for (auto item : arr) {
      od::value child;
      if (const auto e = item.get(child); e != simdjson::SUCCESS) return fail(e, offset);
      if (!value(child, out.items.emplace_back(), depth, false)) return false;
    }
    return true;
  }

  static bool uniqueNames(const std::vector<JsonMember>& members) {
    const std::size_t count = members.size();
    if (count <= kPairwiseDuplicateScan) {
      for (std::size_t i = 1; i < count; ++i) {
        for (std::size_t j = 0; j < i; ++j) {
          if (members[i].name == members[j].name) return false;
        }
      }
      return true;
    }
    std::vector<std::string_view> names;
    names.reserve(count);
    for (const auto& m : members) names.emplace_back(m.name);
    std::sort(names.begin(), names.end());
    return std::adjacent_find(names.begin(), names.end()) == names.end();
  }

  // number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
  // simdjson would accept the same grammar, but its value loses the literal and rounds 1e-400 to 0.
  bool number(std::string_view lit, std::size_t offset, Json& out) {
    if (lit.size() > limits_.maxNumberLength) {
      return fail("number literal longer than " + std::to_string(limits_.maxNumberLength) + " characters", offset);
    }
    const std::size_t n = lit.size();
    std::size_t i = 0;
    auto digits = [&] {
      const std::size_t from = i;
      while (i < n && isDigit(lit[i])) ++i;
      return i > from;
    };
    if (i < n && lit[i] == '-') ++i;
    if (i < n && lit[i] == '0') {
      ++i;
      if (i < n && isDigit(lit[i])) return fail("leading zero in a number", offset + i);
    } else if (!digits()) {
      return fail("expected a digit", offset + i);
    }
    if (i < n && lit[i] == '.') {
      ++i;
      if (!digits()) return fail("expected a digit after '.'", offset + i);
    }
    if (i < n && (lit[i] == 'e' || lit[i] == 'E')) {
      ++i;
      if (i < n && (lit[i] == '+' || lit[i] == '-')) ++i;
      if (!digits()) return fail("expected a digit in the exponent", offset + i);
    }
    if (i != n) return fail("unexpected character in a number", offset + i);
    double v = 0;
    const auto [ptr, ec] = std::from_chars(lit.data(), lit.data() + n, v);
    // Out of range either way (from_chars leaves v untouched, so 1e400 and 1e-400 cannot be told
    // apart cheaply): refused; RFC 8259 section 9 lets a parser limit the range.
    if (ec != std::errc() || ptr != lit.data() + n || !std::isfinite(v)) {
      return fail("number outside the range of a double", offset);
    }
    out.kind = Json::Kind::Number;
    out.number = v;
    out.text.assign(lit);
    return true;
  }

  std::string_view in_;
  const JsonLimits& limits_;
  od::document* doc_ = nullptr;
  bool sized_ = true;     // count members/items first and size the vectors exactly
  bool recount_ = false;  // a count failed: walk again without counting to find the fault
  std::string what_;
  std::size_t offset_ = 0;
};

// What one thread keeps from one parse to the next (so a JWT costs no parser allocation at all).
struct ThreadState {
  std::unique_ptr<od::parser> parser;
  std::string buffer;   // the input copied with simdjson's padding behind it
};

void appendValue(std::string& out, const Json& v, MemberOrder order) {
  switch (v.kind) {
    case Json::Kind::Null: out += "null"; break;
    case Json::Kind::Boolean: json::appendBool(out, v.boolean); break;
    case Json::Kind::Number: out += v.text; break;
    case Json::Kind::String: json::appendString(out, v.text); break;
    case Json::Kind::Array:
      out += '[';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out += ',';
        appendValue(out, v.items[i], order);
      }
      out += ']';
      break;
    case Json::Kind::Object: {
      const auto member = [&](std::size_t i, const JsonMember& m) {
        if (i > 0) out += ',';
        json::appendString(out, m.name);
        out += ':';
        appendValue(out, m.value, order);
      };
      out += '{';
      if (order == MemberOrder::Document) {
        for (std::size_t i = 0; i < v.members.size(); ++i) member(i, v.members[i]);
      } else {
        std::vector<const JsonMember*> sorted;
        sorted.reserve(v.members.size());
        for (const auto& m : v.members) sorted.push_back(&m);
        std::sort(sorted.begin(), sorted.end(), [](const JsonMember* a, const JsonMember* b) { return a->name < b->name; });
        for (std::size_t i = 0; i < sorted.size(); ++i) member(i, *sorted[i]);
      }
      out += '}';
      break;
    }
  }
}

std::string escapeToken(std::string_view token) {
  std::string out;
  for (const char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

}  // namespace

const Json* Json::find(std::string_view name) const noexcept {
  if (kind != Kind::Object) return nullptr;
  for (const auto& m : members) {
    if (m.name == name) return &m.value;
  }
  return nullptr;
}

bool Json::isInteger() const noexcept {
  if (kind != Kind::Number || text.find_first_of(".eE") != std::string::npos) return false;
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  return ec == std::errc() && ptr == end;
}

std::int64_t Json::asInt() const noexcept {
  if (!isInteger()) return 0;
  std::int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

std::string_view kindName(Json::Kind kind) noexcept {
  switch (kind) {
    case Json::Kind::Null: return "null";
    case Json::Kind::Boolean: return "boolean";
    case Json::Kind::Number: return "number";
    case Json::Kind::String: return "string";
    case Json::Kind::Array: return "array";
    case Json::Kind::Object: return "object";
  }
  return "?";
}

Result<Json> parseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.maxBytes) {
    return badRequest("JSON text of " + std::to_string(text.size()) + " bytes is larger than the limit of " +
                      std::to_string(limits.maxBytes) + " bytes");
  }
  // simdjson skips nothing we do not: a byte order mark is not JSON text (RFC 8259 section 8.1).
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) {
    return badRequest("invalid JSON: byte order mark at offset 0");
  }
  thread_local ThreadState state;
  const bool keep = text.size() <= kKeptDocumentBytes;
  std::unique_ptr<od::parser> ownParser;
  std::string ownBuffer;
  if (keep && !state.parser) state.parser = std::make_unique<od::parser>();
  if (!keep) ownParser = std::make_unique<od::parser>();
  od::parser& parser = keep ? *state.parser : *ownParser;
  std::string& buffer = keep ? state.buffer : ownBuffer;
  // simdjson reads up to SIMDJSON_PADDING bytes past the end of the text.
  const std::size_t capacity = text.size() + simdjson::SIMDJSON_PADDING;
  if (buffer.size() < capacity) buffer.resize(keep ? std::max(capacity, std::size_t{1024}) : capacity);
  if (!text.empty()) std::memcpy(buffer.data(), text.data(), text.size());   // a default string_view has no data
  return Reader(std::string_view(buffer.data(), text.size()), limits).run(parser, buffer.size());
}

Result<std::vector<std::string>> parsePointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer.front() != '/') return badRequest("JSON pointer " + quoteForMessage(pointer) + " must be empty or start with '/'");
  std::string current;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(current));
      current.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 < pointer.size() && pointer[i + 1] == '0') current += '~';
      else if (i + 1 < pointer.size() && pointer[i + 1] == '1') current += '/';
      else return badRequest("JSON pointer " + quoteForMessage(pointer) + ": '~' must be followed by 0 or 1 (RFC 6901)");
      ++i;
      continue;
    }
    current += pointer[i];
  }
  return tokens;
}

Result<const Json*> resolvePointer(const Json& root, const std::vector<std::string>& tokens) {
  const Json* at = &root;
  std::string path;
  for (const auto& token : tokens) {
    const std::string parent = path.empty() ? std::string("the document") : path;
    path += '/' + escapeToken(token);
    if (at->kind == Json::Kind::Object) {
      at = at->find(token);
      if (at == nullptr) return badRequest("no member at " + path.substr(0, 128));
    } else if (at->kind == Json::Kind::Array) {
      const bool digitsOnly = !token.empty() && token.size() <= 9 && std::all_of(token.begin(), token.end(), isDigit);
      if (!digitsOnly || (token.size() > 1 && token[0] == '0')) {
        return badRequest("no array element at " + path.substr(0, 128) + " (an index is a number without leading zeros)");
      }
      std::size_t index = 0;
      std::from_chars(token.data(), token.data() + token.size(), index);
      if (index >= at->items.size()) {
        return badRequest("no array element at " + path.substr(0, 128) + " (the array has " +
                          std::to_string(at->items.size()) + " elements)");
      }
      at = &at->items[index];
    } else {
      return badRequest("no value at " + path.substr(0, 128) + ": " + parent.substr(0, 128) + " is a " +
                        std::string(kindName(at->kind)));
    }
  }
  return at;
}

void appendJsonText(std::string& out, const Json& value, MemberOrder order) { appendValue(out, value, order); }

std::string toJsonText(const Json& value, MemberOrder order) {
  std::string out;
  appendValue(out, value, order);
  return out;
}

Result<std::string> toJsonText(const sdk::Value& value) {
  std::string out;
  if (value.isNull()) return std::string("null");
  switch (value.type()) {
    case sdk::ValueType::Int:
    case sdk::ValueType::Long: json::appendInt(out, value.asInteger()); return out;
    case sdk::ValueType::Double:
      if (!std::isfinite(value.asDouble())) return badRequest("a non-finite number cannot be written as JSON");
      json::appendDouble(out, value.asDouble());
      return out;
    case sdk::ValueType::Boolean: json::appendBool(out, value.asBool()); return out;
    case sdk::ValueType::String: json::appendString(out, value.asString()); return out;
    case sdk::ValueType::Json: return std::string(value.asString());
    case sdk::ValueType::Bytes: json::appendString(out, base64Encode(value.asString())); return out;
  }
  return badRequest("unknown value type");
}

}  // namespace gatehouse::kit
