#pragma once
// Result<T>: a value or an Error a person can act on. Used across core instead of exceptions
// for anything that can fail because of input, config, peers or the network.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace gatehouse::core {

enum class ErrorCode : std::uint8_t {
  BadRequest,       // malformed input: 400
  NotFound,         // no such provider/service/resource/route: 404
  NotAllowed,       // verb not allowed on this target (e.g. SET on UPDATABLE): 405
  Conflict,         // state does not allow it: 409
  TooLarge,         // over a configured limit: 413
  Timeout,          // the owner did not answer in time: 504
  Unavailable,      // owner gone or not started: 503
  Internal,         // a bug or an unexpected failure: 500
};

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
};

// Maps an ErrorCode to the HTTP status the REST API answers with.
int httpStatus(ErrorCode code) noexcept;

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

inline Error makeError(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace gatehouse::core
