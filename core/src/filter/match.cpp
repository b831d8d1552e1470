// Evaluation of a parsed filter against one candidate. Runs on the caller's thread, reads only the
// immutable tree, and allocates nothing itself (numbers are formatted into stack buffers); the only
// allocations are those the caller's Lookup makes.

#include <charconv>
#include <cmath>
#include <compare>
#include <limits>
#include <string_view>
#include <type_traits>

#include "filter/tree.h"

namespace gatehouse::core::filter::detail {

namespace {

// Exact comparison of an integer with a double: converting the integer to double would round
// values above 2^53 and make e.g. 9007199254740993 equal to 9007199254740992.0.
std::partial_ordering compareIntDouble(std::int64_t i, double d) noexcept {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  constexpr double kTwo63 = 9223372036854775808.0;  // exactly representable
  if (d >= kTwo63) return std::partial_ordering::less;
  if (d < -kTwo63) return std::partial_ordering::greater;
  double whole = std::trunc(d);
  auto wholeInt = static_cast<std::int64_t>(whole);  // in range by the checks above
  if (i != wholeInt) return i <=> wholeInt;
  return 0.0 <=> (d - whole);  // same integral part: the fraction decides
}

// The string form of a stored scalar, for substring and string comparisons. `buffer` must outlive
// the returned view. Doubles use the shortest form that round-trips (21.5 -> "21.5", 20.0 -> "20").
std::string_view textOf(const Scalar& value, char (&buffer)[64]) noexcept {
  switch (value.index()) {
    case 1: return std::get<bool>(value) ? "true" : "false";
    case 2: {
      auto r = std::to_chars(buffer, buffer + sizeof buffer, std::get<std::int64_t>(value));
      return {buffer, static_cast<std::size_t>(r.ptr - buffer)};
    }
    case 3: {
      auto r = std::to_chars(buffer, buffer + sizeof buffer, std::get<double>(value));
      return {buffer, static_cast<std::size_t>(r.ptr - buffer)};
    }
    case 4: return std::get<std::string>(value);
    default: return {};
  }
}

// Leftmost occurrence of `pattern` in `haystack` at or after `from` (Knuth-Morris-Pratt: linear).
std::size_t findPiece(std::string_view haystack, std::size_t from, std::string_view pattern,
                      const std::vector<std::uint16_t>& failure) noexcept {
  std::size_t k = 0;
  for (std::size_t i = from; i < haystack.size(); ++i) {
    while (k > 0 && haystack[i] != pattern[k]) k = failure[k - 1];
    if (haystack[i] == pattern[k]) ++k;
    if (k == pattern.size()) return i + 1 - k;
  }
  return std::string_view::npos;
}

// With only '*' wildcards, taking each `any` piece at its leftmost position between the fixed
// prefix and suffix is optimal, so one forward scan decides: no backtracking.
bool matchSubstring(std::string_view text, const SubstringPattern& p) noexcept {
  if (text.size() < p.initial.size() + p.final.size()) return false;
  if (!text.starts_with(p.initial) || !text.ends_with(p.final)) return false;
  std::string_view middle = text.substr(p.initial.size(), text.size() - p.initial.size() - p.final.size());
  std::size_t at = 0;
  for (std::size_t i = 0; i < p.any.size(); ++i) {
    std::size_t found = findPiece(middle, at, p.any[i], p.anyFailure[i]);
    if (found == std::string_view::npos) return false;
    at = found + p.any[i].size();
  }
  return true;
}

bool accept(Op op, std::partial_ordering order) noexcept {
  if (order == std::partial_ordering::unordered) return false;
  switch (op) {
    case Op::Equal:
    case Op::Approx: return order == 0;
    case Op::GreaterOrEqual: return order >= 0;
    case Op::LessOrEqual: return order <= 0;
    default: return false;
  }
}

bool compareValue(Op op, const Assertion& a, const Scalar& value) noexcept {
  // Numbers compare numerically when the filter text is a number too.
  if (a.number != Assertion::Number::None &&
      (std::holds_alternative<std::int64_t>(value) || std::holds_alternative<double>(value))) {
    std::partial_ordering order = std::partial_ordering::unordered;
    if (const auto* i = std::get_if<std::int64_t>(&value)) {
      order = a.number == Assertion::Number::Int ? std::partial_ordering(*i <=> a.intValue)
                                                 : compareIntDouble(*i, a.doubleValue);
    } else {
      double d = std::get<double>(value);
      order = a.number == Assertion::Number::Int ? 0 <=> compareIntDouble(a.intValue, d)
                                                 : d <=> a.doubleValue;
    }
    return accept(op, order);
  }
  if (a.isBool && std::holds_alternative<bool>(value)) {
    return accept(op, std::get<bool>(value) <=> a.boolValue);  // false < true
  }
  char buffer[64];
  std::string_view text = textOf(value, buffer);
  if (op == Op::Approx) {
    text = trimSpace(text);
    if (text.size() != a.folded.size()) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (asciiLower(text[i]) != a.folded[i]) return false;
    }
    return true;
  }
  return accept(op, text.compare(a.text) <=> 0);  // bytewise lexicographic
}

bool matchValue(Op op, const Item& item, const Scalar& value) noexcept {
  if (std::holds_alternative<std::monostate>(value)) return false;  // null matches nothing
  switch (op) {
    case Op::Present: return true;
    case Op::Substring: {
      char buffer[64];
      return matchSubstring(textOf(value, buffer), item.substring);
    }
    default: return compareValue(op, item.assertion, value);
  }
}

}  // namespace

bool evaluate(const Tree& tree, std::uint32_t index, const Lookup& lookup) {
  const Node& node = tree.nodes[index];
  std::uint32_t end = index + node.size;
  switch (node.op) {
    case Op::And:
      for (std::uint32_t c = index + 1; c < end; c += tree.nodes[c].size) {
        if (!evaluate(tree, c, lookup)) return false;
      }
      return true;
    case Op::Or:
      for (std::uint32_t c = index + 1; c < end; c += tree.nodes[c].size) {
        if (evaluate(tree, c, lookup)) return true;
      }
      return false;
    case Op::Not: return !evaluate(tree, index + 1, lookup);
    default: {
      const Item& item = tree.items[node.item];
      // A missing key yields no values, so the item is false (and its negation true).
      for (const Scalar& value : lookup(item.key)) {
        if (matchValue(node.op, item, value)) return true;
      }
      return false;
    }
  }
}

}  // namespace gatehouse::core::filter::detail
