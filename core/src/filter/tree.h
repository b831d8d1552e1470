#pragma once
// Internal to gatehouse_filter: the parsed form of a filter. Built once by the parser, then only
// read (by any number of threads), so nothing here needs synchronisation.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "filter/filter.h"

namespace gatehouse::core::filter::detail {

enum class Op : std::uint8_t {
  And,
  Or,
  Not,
  Equal,           // key=value
  Approx,          // key~=value
  GreaterOrEqual,  // key>=value
  LessOrEqual,     // key<=value
  Present,         // key=*
  Substring,       // key=initial*any*...*final
};

// The assertion value of Equal/Approx/GreaterOrEqual/LessOrEqual, with the interpretations the
// comparison rules need worked out once at parse time so that matching does no parsing.
struct Assertion {
  enum class Number : std::uint8_t { None, Int, Double };

  std::string text;        // unescaped, exactly as written (kept for toString and string compares)
  std::string folded;      // Approx only: text trimmed of whitespace and ASCII-lowercased
  Number number = Number::None;
  std::int64_t intValue = 0;
  double doubleValue = 0;
  bool isBool = false;     // text is true/false (any case)
  bool boolValue = false;
};

// `initial*any[0]*...*any[n-1]*final`. Pieces in `any` are never empty; `initial`/`final` may be.
struct SubstringPattern {
  std::string initial;
  std::vector<std::string> any;
  // KMP failure table per `any` piece, so that matching is linear in the value length whatever the
  // pattern (a naive search is O(value * pattern) on inputs such as `*aaaa...ab*`).
  std::vector<std::vector<std::uint16_t>> anyFailure;
  std::string final;
};

struct Item {
  std::string key;
  Assertion assertion;        // Equal, Approx, GreaterOrEqual, LessOrEqual
  SubstringPattern substring; // Substring
};

// Nodes are stored in pre-order: the children of node i start at i + 1 and each child is followed
// by its own subtree, so walking children is `c = i + 1; c += nodes[c].size`.
struct Node {
  Op op = Op::And;
  std::uint32_t size = 1;  // nodes in this subtree, itself included
  std::uint32_t item = 0;  // index into Tree::items for leaves
};

struct Tree {
  std::vector<Node> nodes;  // nodes[0] is the root
  std::vector<Item> items;
  std::vector<std::string> keys;  // distinct item keys in order of first appearance
};

inline bool isLeaf(Op op) noexcept { return op != Op::And && op != Op::Or && op != Op::Not; }

// The whitespace the language ignores (around the filter, between components, around `~=` values).
inline bool isSpace(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline char asciiLower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
inline std::string_view trimSpace(std::string_view s) noexcept {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Evaluates the subtree rooted at `index` (match.cpp).
bool evaluate(const Tree& tree, std::uint32_t index, const Lookup& lookup);

}  // namespace gatehouse::core::filter::detail
