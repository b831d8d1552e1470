// Strict JSON parser. Recursive descent whose recursion is bounded by JsonLimits::maxDepth (checked
// before descending), so hostile nesting cannot exhaust the stack.

#include "gatehouse/oauth2/json.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

namespace gatehouse::oauth2 {

Json::Json() = default;
Json::Json(const Json&) = default;
Json::Json(Json&&) noexcept = default;
Json& Json::operator=(const Json&) = default;
Json& Json::operator=(Json&&) noexcept = default;
Json::~Json() = default;

const Json* Json::find(std::string_view name) const {
  if (type != Type::Object) return nullptr;
  for (const auto& [key, value] : members) {
    if (key == name) return &value;
  }
  return nullptr;
}

bool Json::isInteger() const {
  if (type != Type::Number) return false;
  if (text.find_first_of(".eE") != std::string::npos) return false;
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  return ec == std::errc() && ptr == end;
}

std::int64_t Json::asInt() const {
  if (!isInteger()) return 0;
  std::int64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

namespace {

constexpr std::size_t kPairwiseDuplicateScan = 24;

// Bytes a string may hold as they are: printable ASCII except '"' and '\\' (control characters
// are refused, escapes and UTF-8 sequences take the careful path).
constexpr std::array<bool, 256> makePlainStringBytes() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return t;
}
constexpr std::array<bool, 256> kPlainStringByte = makePlainStringBytes();

// Members (items) of the objects (arrays) still open are collected on one stack per parse and
// moved into an exactly sized vector when their object (array) closes: one allocation per object
// instead of one per growth step, and no capacity beyond what the input really holds.
template <typename T>
struct StackMark {
  explicit StackMark(std::vector<T>& s) : stack(s), base(s.size()) {}
  ~StackMark() { stack.erase(stack.begin() + static_cast<std::ptrdiff_t>(base), stack.end()); }
  StackMark(const StackMark&) = delete;
  StackMark& operator=(const StackMark&) = delete;
  std::vector<T>& stack;
  const std::size_t base;
};

class Parser {
 public:
  Parser(std::string_view in, const JsonLimits& limits, std::vector<std::pair<std::string, Json>>& memberStack,
         std::vector<Json>& itemStack)
      : in_(in), limits_(limits), memberStack_(memberStack), itemStack_(itemStack) {}

  JsonResult run() {
    JsonResult result;
    skipWhitespace();
    if (pos_ == in_.size()) return failed("empty input");
    Json value;
    if (!parseValue(value, 0)) return failed(error_);
    skipWhitespace();
    if (pos_ != in_.size()) return failed("unexpected data after the value");
    result.value = std::move(value);
    return result;
  }

 private:
  JsonResult failed(std::string what) const {
    JsonResult r;
    r.error = "JSON: " + what + " at offset " + std::to_string(pos_);
    return r;
  }

  bool fail(const char* what) {
    error_ = what;
    return false;
  }

  void skipWhitespace() {
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  // depth = number of arrays/objects already open around this value.
  bool parseValue(Json& out, int depth) {
    if (pos_ >= in_.size()) return fail("unexpected end of input");
    switch (in_[pos_]) {
      case '{': return parseObject(out, depth + 1);
      case '[': return parseArray(out, depth + 1);
      case '"': out.type = Json::Type::String; return parseString(out.text);
      case 't': out.type = Json::Type::Bool; out.b = true; return literal("true");
      case 'f': out.type = Json::Type::Bool; out.b = false; return literal("false");
      case 'n': out.type = Json::Type::Null; return literal("null");
      default: return parseNumber(out);
    }
  }

  bool parseObject(Json& out, int depth) {
    if (depth > limits_.maxDepth) return fail("nesting deeper than allowed");
    out.type = Json::Type::Object;
    ++pos_;  // '{'
    StackMark<std::pair<std::string, Json>> open(memberStack_);
    skipWhitespace();
    if (pos_ < in_.size() && in_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skipWhitespace();
      if (pos_ >= in_.size() || in_[pos_] != '"') return fail("expected a member name");
      std::string name;
      if (!parseString(name)) return false;
      skipWhitespace();
      if (pos_ >= in_.size() || in_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      skipWhitespace();
      Json value;
      if (!parseValue(value, depth)) return false;
      memberStack_.emplace_back(std::move(name), std::move(value));
      skipWhitespace();
      if (pos_ >= in_.size()) return fail("unterminated object");
      if (in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (in_[pos_] == '}') {
        ++pos_;
        break;
      }
      return fail("expected ',' or '}'");
    }
    // One exactly sized allocation per object instead of one per growth step.
    out.members.reserve(memberStack_.size() - open.base);
    for (std::size_t i = open.base; i < memberStack_.size(); ++i) out.members.push_back(std::move(memberStack_[i]));
    // Duplicate names. Small objects (every JWT header and payload): a pairwise scan, which costs
    // less than allocating and sorting; larger ones: sort views of the (now stable) names once.
    const std::size_t count = out.members.size();
    if (count <= kPairwiseDuplicateScan) {
      for (std::size_t i = 1; i < count; ++i) {
        for (std::size_t j = 0; j < i; ++j) {
          if (out.members[i].first == out.members[j].first) return fail("duplicate member name");
        }
      }
      return true;
    }
    std::vector<std::string_view> names;
    names.reserve(out.members.size());
    for (const auto& m : out.members) names.emplace_back(m.first);
    std::sort(names.begin(), names.end());
    if (std::adjacent_find(names.begin(), names.end()) != names.end()) return fail("duplicate member name");
    return true;
  }

  bool parseArray(Json& out, int depth) {
    if (depth > limits_.maxDepth) return fail("nesting deeper than allowed");
    out.type = Json::Type::Array;
    ++pos_;  // '['
    StackMark<Json> open(itemStack_);
    skipWhitespace();
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skipWhitespace();
      Json item;
      if (!parseValue(item, depth)) return false;
      itemStack_.push_back(std::move(item));
      skipWhitespace();
      if (pos_ >= in_.size()) return fail("unterminated array");
      if (in_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (in_[pos_] == ']') {
        ++pos_;
        out.items.reserve(itemStack_.size() - open.base);
        for (std::size_t i = open.base; i < itemStack_.size(); ++i) out.items.push_back(std::move(itemStack_[i]));
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  static int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool hex4(std::uint32_t& out) {
    if (in_.size() - pos_ < 4) return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      int v = hexValue(in_[pos_ + static_cast<std::size_t>(i)]);
      if (v < 0) return fail("invalid \\u escape");
      out = (out << 4) | static_cast<std::uint32_t>(v);
    }
    pos_ += 4;
    return true;
  }

  static void appendUtf8(std::string& s, std::uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Validates one UTF-8 sequence starting at pos_ (first byte >= 0x80) per RFC 3629: no overlong
  // forms, no surrogates (U+D800..DFFF), nothing above U+10FFFF.
  bool copyUtf8(std::string& out) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(in_[pos_ + i]); };
    unsigned char b0 = byte(0);
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 == 0xE0) {
      len = 3; lo = 0xA0;
    } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
      len = 3;
    } else if (b0 == 0xED) {
      len = 3; hi = 0x9F;
    } else if (b0 == 0xF0) {
      len = 4; lo = 0x90;
    } else if (b0 >= 0xF1 && b0 <= 0xF3) {
      len = 4;
    } else if (b0 == 0xF4) {
      len = 4; hi = 0x8F;
    } else {
      return fail("invalid UTF-8");
    }
    if (in_.size() - pos_ < len) return fail("invalid UTF-8");
    if (byte(1) < lo || byte(1) > hi) return fail("invalid UTF-8");
    for (std::size_t i = 2; i < len; ++i) {
      if (byte(i) < 0x80 || byte(i) > 0xBF) return fail("invalid UTF-8");
    }
    out.append(in_.substr(pos_, len));
    pos_ += len;
    return true;
  }

  bool parseString(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      if (pos_ >= in_.size()) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return fail("control character in string");
      if (c >= 0x80) {
        if (!copyUtf8(out)) return false;
        continue;
      }
      if (c != '\\') {
        // Plain printable ASCII is by far the common case: copy the whole run at once.
        std::size_t end = pos_ + 1;
        while (end < in_.size() && kPlainStringByte[static_cast<unsigned char>(in_[end])]) ++end;
        out.append(in_.data() + pos_, end - pos_);
        pos_ = end;
        continue;
      }
      ++pos_;
      if (pos_ >= in_.size()) return fail("unterminated string");
      char e = in_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (in_.size() - pos_ < 2 || in_[pos_] != '\\' || in_[pos_ + 1] != 'u') {
              return fail("lone high surrogate");
            }
            pos_ += 2;
            std::uint32_t low = 0;
            if (!hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return fail("lone high surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default: return fail("invalid escape");
      }
    }
  }

  bool digits() {
    std::size_t start = pos_;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  // number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
  bool parseNumber(Json& out) {
    std::size_t start = pos_;
    if (in_[pos_] == '-') ++pos_;
    if (pos_ >= in_.size()) return fail("invalid number");
    if (in_[pos_] == '0') {
      ++pos_;
      if (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') return fail("leading zero in number");
    } else if (in_[pos_] >= '1' && in_[pos_] <= '9') {
      digits();
    } else {
      return fail(start == pos_ ? "invalid value" : "invalid number");
    }
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      if (!digits()) return fail("invalid number fraction");
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("invalid number exponent");
    }
    std::string_view source = in_.substr(start, pos_ - start);
    double v = 0.0;
    auto [ptr, ec] = std::from_chars(source.data(), source.data() + source.size(), v);
    // Out of double range either way (from_chars leaves v untouched then, so 1e400 and 1e-400
    // cannot be told apart cheaply): refused, RFC 8259 section 9 lets a parser limit the range.
    if (ec == std::errc::result_out_of_range) return fail("number out of range");
    if (ec != std::errc() || ptr != source.data() + source.size() || !std::isfinite(v)) {
      return fail("invalid number");
    }
    out.type = Json::Type::Number;
    out.number = v;
    out.text.assign(source);
    return true;
  }

  std::string_view in_;
  const JsonLimits& limits_;
  std::size_t pos_ = 0;
  std::string error_;
  std::vector<std::pair<std::string, Json>>& memberStack_;
  std::vector<Json>& itemStack_;
};

// The open-object/open-array stacks, one pair per thread so their capacity is reused from one
// parse to the next (a JWT costs no stack allocation at all). Capacity left by an unusually large
// document is released afterwards, so a thread never keeps more than a small amount.
constexpr std::size_t kKeptStackCapacity = 256;

template <typename T>
void releaseIfLarge(std::vector<T>& v) {
  if (v.empty() && v.capacity() > kKeptStackCapacity) std::vector<T>().swap(v);
}


}  // namespace

JsonResult parseJsonStrict(std::string_view text, JsonLimits limits) {
  if (text.size() > limits.maxBytes) {
    JsonResult r;
    r.error = "JSON: document larger than " + std::to_string(limits.maxBytes) + " bytes";
    return r;
  }
  thread_local std::vector<std::pair<std::string, Json>> memberStack;
  thread_local std::vector<Json> itemStack;
  JsonResult result = Parser(text, limits, memberStack, itemStack).run();
  releaseIfLarge(memberStack);
  releaseIfLarge(itemStack);
  return result;
}

}  // namespace gatehouse::oauth2
