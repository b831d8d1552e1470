#pragma once
// LDAP-syntax filters (RFC 4515) as used by sensiNact's `?filter=` REST parameter, e.g.
// `(&(PROVIDER=sim-*)(temperature.value>=20))`. Keys are opaque to this library: a Lookup callback
// supplies the value(s) of a key for one candidate, so the filter stays independent of the model.
// The user-facing language description lives in docs/filters.md.
//
// Threads: Filter is immutable after parse(). Any thread may call any const member on any Filter,
// concurrently; copies share one immutable tree (copying is a reference-count increment).
// parse() is reentrant. matches() calls the Lookup on the calling thread only, synchronously, and
// lets exceptions thrown by the Lookup propagate (they are the caller's).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace gatehouse::core::filter {

// A value a key can hold. monostate is null: it matches no item, not even presence (`key=*`).
using Scalar = std::variant<std::monostate, bool, std::int64_t, double, std::string>;

// Returns the value(s) of `key` for the candidate being tested, or an empty vector when the key
// does not exist for it. `key` is the attribute name exactly as written in the filter (case kept)
// and is only valid for the duration of the call.
using Lookup = std::function<std::vector<Scalar>(std::string_view key)>;

// Limits applied to untrusted filter text; exceeding one is a BadRequest.
inline constexpr std::size_t kMaxFilterBytes = 4096;
inline constexpr std::size_t kMaxFilterDepth = 32;   // nested parenthesised filters, `(a=1)` is 1
inline constexpr std::size_t kMaxFilterItems = 256;  // comparison items (leaves)

namespace detail {
struct Tree;  // the parsed, immutable form; defined in filter.cpp
}  // namespace detail

class Filter {
 public:
  // Parses RFC 4515 text (surrounding whitespace trimmed; a single item may omit its outer
  // parentheses). Errors are BadRequest with a message naming the 0-based byte offset in `text`,
  // e.g. "filter: expected ')' at offset 17". Never throws.
  static Result<Filter> parse(std::string_view text);

  // True when the candidate described by `lookup` satisfies the filter. `&` and `|` short-circuit,
  // so the lookup is called only for the keys needed, possibly more than once for the same key.
  // `lookup` must be callable (an empty std::function throws std::bad_function_call).
  bool matches(const Lookup& lookup) const;

  // Canonical text: always parenthesised, no whitespace between components, values escaped
  // minimally (`(`, `)`, `*`, `\`, control bytes as `\xx`). parse(toString()) gives a filter with
  // the same toString() and the same behaviour.
  std::string toString() const;

  // Every attribute key the filter uses, each once, in order of first appearance.
  std::vector<std::string> keys() const;

 private:
  explicit Filter(std::shared_ptr<const detail::Tree> tree) : tree_(std::move(tree)) {}
  std::shared_ptr<const detail::Tree> tree_;  // never null
};

}  // namespace gatehouse::core::filter
