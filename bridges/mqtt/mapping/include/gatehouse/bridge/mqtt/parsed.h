#pragma once
// Parsed<T>: the result type of the MQTT mapping engine. Either a value, or a message a person can
// act on (what was wrong, where, and what would be right). The engine never throws on bad input.
//
// Threads: a plain value type; no shared state.

#include <optional>
#include <string>
#include <utility>

namespace gatehouse::bridge::mqtt {

template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;   // empty when value is set
  explicit operator bool() const { return value.has_value(); }

  static Parsed ok(T v) { Parsed p; p.value.emplace(std::move(v)); return p; }
  static Parsed fail(std::string message) { Parsed p; p.error = std::move(message); return p; }
};

}  // namespace gatehouse::bridge::mqtt
