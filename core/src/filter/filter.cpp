// Parsing (RFC 4515 with the conveniences documented in docs/filters.md), canonical printing and
// key listing. The parser is a single left-to-right pass: every byte is examined a bounded number
// of times, and recursion is bounded by kMaxFilterDepth, so untrusted text costs linear time.

#include "filter/filter.h"

#include <charconv>
#include <cmath>
#include <new>
#include <optional>
#include <utility>

#include "filter/tree.h"

namespace gatehouse::core::filter {

namespace {

using detail::asciiLower;
using detail::Assertion;
using detail::isSpace;
using detail::Item;
using detail::Node;
using detail::Op;
using detail::SubstringPattern;
using detail::Tree;
using detail::trimSpace;

bool isAttributeChar(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

int hexDigit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  }
  return true;
}

// Fills the numeric reading of `s` when the whole of it is a finite decimal number. Words that
// std::from_chars would also accept ("inf", "nan") stay strings: a device name is not a number.
void readNumber(std::string_view s, Assertion& a) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);  // from_chars rejects a leading '+'
  if (s.empty()) return;
  std::size_t firstDigit = s.front() == '-' ? 1 : 0;
  if (firstDigit >= s.size()) return;
  char c = s[firstDigit];
  if (!((c >= '0' && c <= '9') || c == '.')) return;
  const char* end = s.data() + s.size();
  std::int64_t i = 0;
  auto ri = std::from_chars(s.data(), end, i);
  if (ri.ec == std::errc() && ri.ptr == end) {
    a.number = Assertion::Number::Int;
    a.intValue = i;
    return;
  }
  double d = 0;
  auto rd = std::from_chars(s.data(), end, d, std::chars_format::general);
  if (rd.ec == std::errc() && rd.ptr == end && std::isfinite(d)) {
    a.number = Assertion::Number::Double;
    a.doubleValue = d;
  }
}

Assertion makeAssertion(Op op, std::string text) {
  Assertion a;
  a.text = std::move(text);
  // `~=` ignores surrounding whitespace, so it also reads numbers and booleans from the trimmed text.
  std::string_view reading = op == Op::Approx ? trimSpace(a.text) : std::string_view(a.text);
  if (op == Op::Approx) {
    a.folded.reserve(reading.size());
    for (char c : reading) a.folded.push_back(asciiLower(c));
  }
  readNumber(reading, a);
  if (equalsIgnoreCase(reading, "true")) {
    a.isBool = true;
    a.boolValue = true;
  } else if (equalsIgnoreCase(reading, "false")) {
    a.isBool = true;
    a.boolValue = false;
  }
  return a;
}

std::vector<std::uint16_t> failureTable(std::string_view pattern) {
  // Pieces come from text of at most kMaxFilterBytes, so every prefix length fits 16 bits.
  static_assert(kMaxFilterBytes < 65535);
  std::vector<std::uint16_t> fail(pattern.size(), 0);
  std::size_t k = 0;
  for (std::size_t i = 1; i < pattern.size(); ++i) {
    while (k > 0 && pattern[i] != pattern[k]) k = fail[k - 1];
    if (pattern[i] == pattern[k]) ++k;
    fail[i] = static_cast<std::uint16_t>(k);
  }
  return fail;
}

// Two lowercase hex digits: the form of escapes in canonical text and of bytes in messages.
void appendHex(std::string& out, char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto u = static_cast<unsigned char>(c);
  out.push_back(kHex[u >> 4]);
  out.push_back(kHex[u & 0xf]);
}

// A printable description of the byte at an error position, without echoing control bytes.
std::string describe(char c) {
  if (c >= 0x20 && c <= 0x7e) return std::string("'") + c + "'";
  std::string out = "byte 0x";
  appendHex(out, c);
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Tree> run() {
    if (text_.size() > kMaxFilterBytes) {
      return fail(kMaxFilterBytes, "longer than " + std::to_string(kMaxFilterBytes) + " bytes");
    }
    end_ = text_.size();
    while (end_ > 0 && isSpace(text_[end_ - 1])) --end_;
    while (pos_ < end_ && isSpace(text_[pos_])) ++pos_;
    if (pos_ == end_) return fail(0, "empty filter");

    bool bare = text_[pos_] != '(';
    // toString() adds the parentheses a bare item leaves out; counting them here keeps every
    // canonical form within the limit, so it always parses again.
    if (bare && end_ - pos_ + 2 > kMaxFilterBytes) {
      return fail(pos_ + kMaxFilterBytes - 2,
                  "longer than " + std::to_string(kMaxFilterBytes) + " bytes with the implied parentheses");
    }
    bool ok = bare ? parseItem() : parseFilter(1);
    if (!ok) return std::move(*error_);
    skipSpace();
    if (pos_ != end_) return fail(pos_, "unexpected " + describe(text_[pos_]) + " after the end of the filter");

    // Distinct keys, kept in order; at most kMaxFilterItems of them, so a linear scan is fine.
    for (const Item& item : tree_.items) {
      bool seen = false;
      for (const std::string& k : tree_.keys) seen = seen || k == item.key;
      if (!seen) tree_.keys.push_back(item.key);
    }
    return std::move(tree_);
  }

 private:
  Error fail(std::size_t offset, std::string reason) {
    return makeError(ErrorCode::BadRequest,
                     "filter: " + std::move(reason) + " at offset " + std::to_string(offset));
  }
  bool failAt(std::size_t offset, std::string reason) {
    if (!error_) error_ = fail(offset, std::move(reason));
    return false;
  }
  bool failHere(std::string what) {
    if (pos_ >= end_) return failAt(pos_, "unexpected end of filter, " + what);
    return failAt(pos_, what + ", found " + describe(text_[pos_]));
  }
  void skipSpace() {
    while (pos_ < end_ && isSpace(text_[pos_])) ++pos_;
  }
  bool expect(char c) {
    if (pos_ < end_ && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return failHere(std::string("expected '") + c + "'");
  }

  // filter = "(" ( "&" filterlist / "|" filterlist / "!" filter / item ) ")"
  // Whitespace is tolerated between the components of a composite (people write filters over
  // several lines); inside an item every byte counts.
  bool parseFilter(std::size_t depth) {
    if (depth > kMaxFilterDepth) {
      return failAt(pos_, "filters nested deeper than " + std::to_string(kMaxFilterDepth));
    }
    if (!expect('(')) return false;
    if (pos_ >= end_) return failHere("expected '&', '|', '!' or an attribute name");
    char c = text_[pos_];
    if (c == '&' || c == '|' || c == '!') {
      Op op = c == '&' ? Op::And : (c == '|' ? Op::Or : Op::Not);
      ++pos_;
      std::size_t self = tree_.nodes.size();
      tree_.nodes.push_back(Node{op, 1, 0});
      skipSpace();
      std::size_t children = 0;
      while (pos_ < end_ && text_[pos_] == '(') {
        if (op == Op::Not && children == 1) break;
        if (!parseFilter(depth + 1)) return false;
        ++children;
        skipSpace();
      }
      if (children == 0) {
        return failHere(std::string("expected '(' after '") + c + "'");
      }
      tree_.nodes[self].size = static_cast<std::uint32_t>(tree_.nodes.size() - self);
      return expect(')');
    }
    if (!parseItem()) return false;
    return expect(')');
  }

  // item = attr ( "=" / "~=" / ">=" / "<=" ) value, where "=" also covers presence ("=*") and
  // substrings (unescaped '*'). Reads up to the first unescaped ')' or the end of the text.
  bool parseItem() {
    if (tree_.items.size() >= kMaxFilterItems) {
      return failAt(pos_, "more than " + std::to_string(kMaxFilterItems) + " items");
    }
    std::size_t keyStart = pos_;
    while (pos_ < end_ && isAttributeChar(text_[pos_])) ++pos_;
    if (pos_ == keyStart) return failHere("expected an attribute name ([A-Za-z0-9_.:-])");
    std::string_view key = text_.substr(keyStart, pos_ - keyStart);

    Op op = Op::Equal;
    if (pos_ >= end_) return failHere("expected '=', '~=', '>=' or '<=' after the attribute name");
    switch (text_[pos_]) {
      case '=': op = Op::Equal; break;
      case '~': op = Op::Approx; break;
      case '>': op = Op::GreaterOrEqual; break;
      case '<': op = Op::LessOrEqual; break;
      default: return failHere("expected '=', '~=', '>=' or '<=' after the attribute name");
    }
    if (op != Op::Equal) {
      ++pos_;
      if (pos_ >= end_ || text_[pos_] != '=') return failHere("expected '=' to complete the operator");
    }
    ++pos_;

    // The value, split at unescaped '*'. pieceStart[i] is where piece i begins in the text.
    std::vector<std::string> pieces(1);
    std::vector<std::size_t> pieceStart{pos_};
    while (pos_ < end_ && text_[pos_] != ')') {
      char c = text_[pos_];
      if (c == '\\') {
        int hi = pos_ + 1 < end_ ? hexDigit(text_[pos_ + 1]) : -1;
        int lo = pos_ + 2 < end_ ? hexDigit(text_[pos_ + 2]) : -1;
        if (hi < 0 || lo < 0) {
          return failAt(pos_, "invalid escape: '\\' must be followed by two hex digits (e.g. \\2a for '*')");
        }
        pieces.back().push_back(static_cast<char>(hi * 16 + lo));
        pos_ += 3;
        continue;
      }
      if (c == '*') {
        if (op != Op::Equal) return failAt(pos_, "'*' is only allowed after '='; write \\2a for a literal '*'");
        ++pos_;
        pieces.emplace_back();
        pieceStart.push_back(pos_);
        continue;
      }
      if (c == '(') return failAt(pos_, "unescaped '(' in value; write \\28");
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        // Control bytes must be escaped: they would otherwise reach logs and URLs raw, and the
        // canonical form (which escapes them) could outgrow the text it came from.
        std::string reason = describe(c) + " in value; write \\";
        appendHex(reason, c);
        return failAt(pos_, std::move(reason));
      }
      pieces.back().push_back(c);
      ++pos_;
    }

    Item item;
    item.key = std::string(key);
    if (pieces.size() == 1) {
      item.assertion = makeAssertion(op, std::move(pieces.front()));
    } else if (pieces.size() == 2 && pieces[0].empty() && pieces[1].empty()) {
      op = Op::Present;
    } else {
      op = Op::Substring;
      SubstringPattern& sub = item.substring;
      sub.initial = std::move(pieces.front());
      sub.final = std::move(pieces.back());
      for (std::size_t i = 1; i + 1 < pieces.size(); ++i) {
        if (pieces[i].empty()) {
          // RFC 4515 forbids "**"; rejecting it keeps one spelling per pattern.
          return failAt(pieceStart[i], "empty substring between two '*'");
        }
        sub.anyFailure.push_back(failureTable(pieces[i]));
        sub.any.push_back(std::move(pieces[i]));
      }
    }
    tree_.nodes.push_back(Node{op, 1, static_cast<std::uint32_t>(tree_.items.size())});
    tree_.items.push_back(std::move(item));
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  Tree tree_;
  std::optional<Error> error_;
};

void appendEscaped(std::string& out, std::string_view value) {
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '(' || c == ')' || c == '*' || c == '\\' || u < 0x20 || u == 0x7f) {
      out.push_back('\\');
      appendHex(out, c);
    } else {
      out.push_back(c);
    }
  }
}

void appendNode(std::string& out, const Tree& tree, std::uint32_t index) {
  const Node& node = tree.nodes[index];
  out.push_back('(');
  if (!detail::isLeaf(node.op)) {
    out.push_back(node.op == Op::And ? '&' : (node.op == Op::Or ? '|' : '!'));
    for (std::uint32_t c = index + 1; c < index + node.size; c += tree.nodes[c].size) {
      appendNode(out, tree, c);
    }
  } else {
    const Item& item = tree.items[node.item];
    out += item.key;
    switch (node.op) {
      case Op::Equal: out += '='; break;
      case Op::Approx: out += "~="; break;
      case Op::GreaterOrEqual: out += ">="; break;
      case Op::LessOrEqual: out += "<="; break;
      case Op::Present: out += "=*"; break;
      case Op::Substring: out += '='; break;
      default: break;
    }
    if (node.op == Op::Substring) {
      appendEscaped(out, item.substring.initial);
      out.push_back('*');
      for (const std::string& piece : item.substring.any) {
        appendEscaped(out, piece);
        out.push_back('*');
      }
      appendEscaped(out, item.substring.final);
    } else if (node.op != Op::Present) {
      appendEscaped(out, item.assertion.text);
    }
  }
  out.push_back(')');
}

}  // namespace

Result<Filter> Filter::parse(std::string_view text) {
  try {
    Result<Tree> tree = Parser(text).run();
    if (!tree) return std::move(tree).error();
    return Filter(std::make_shared<const Tree>(std::move(tree).value()));
  } catch (const std::bad_alloc&) {
    return makeError(ErrorCode::Internal, "filter: out of memory");
  } catch (...) {  // nothing else is expected to throw; never let it cross the Result API
    return makeError(ErrorCode::Internal, "filter: unexpected failure while parsing");
  }
}

bool Filter::matches(const Lookup& lookup) const { return detail::evaluate(*tree_, 0, lookup); }

std::string Filter::toString() const {
  std::string out;
  appendNode(out, *tree_, 0);
  return out;
}

std::vector<std::string> Filter::keys() const { return tree_->keys; }

}  // namespace gatehouse::core::filter
