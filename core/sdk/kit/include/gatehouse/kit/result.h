#pragma once
// gatehouse::kit::Result<T>: a value, or an Error whose code says what kind of failure it is and
// whose message a person can act on. The one result shape of the kit, core and every plugin: a
// caller branches on error().code, never on the message text.
//
// ErrorCode maps onto the plugin ABI's gh_status codes (toGhStatus/fromGhStatus; TooLarge and BadRequest
// both cross the ABI as GH_ERR_INVALID_ARGUMENT) and
// onto HTTP statuses (httpStatus), so a failure keeps its meaning from a device's reply through a
// bridge, the host and the REST API.
//
// Threads: plain value types; distinct objects may be used from any threads at once.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "gatehouse/sdk/abi.h"
#include "gatehouse/sdk/status.h"

namespace gatehouse::kit {

enum class ErrorCode : std::uint8_t {
  BadRequest,    // malformed input, bad argument or config value: 400, GH_ERR_INVALID_ARGUMENT
  NotFound,      // no such provider/service/resource/route/mapping: 404, GH_ERR_NOT_FOUND
  NotAllowed,    // the verb is not allowed on this target (or the device refused it): 405, GH_ERR_NOT_ALLOWED
  Conflict,      // the state does not allow it now: 409, GH_ERR_CONFLICT
  TooLarge,      // over a configured limit: 413, GH_ERR_INVALID_ARGUMENT
  Timeout,       // the owner or device did not answer in time: 504, GH_ERR_TIMEOUT
  Unavailable,   // owner, peer or plugin gone or not started: 503, GH_ERR_UNAVAILABLE
  Internal,      // a bug or an unexpected failure: 500, GH_ERR_INTERNAL
};

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
};

int httpStatus(ErrorCode code) noexcept;
gh_status toGhStatus(ErrorCode code) noexcept;
ErrorCode fromGhStatus(gh_status code) noexcept;   // GH_OK and unknown codes give Internal
std::string_view toString(ErrorCode code) noexcept;   // "bad request", "not found", ...

inline Error makeError(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }
// Shorthands for the common codes: `return kit::badRequest("hex text has an odd number of digits");`
inline Error badRequest(std::string message) { return Error{ErrorCode::BadRequest, std::move(message)}; }
inline Error notFound(std::string message) { return Error{ErrorCode::NotFound, std::move(message)}; }
inline Error notAllowed(std::string message) { return Error{ErrorCode::NotAllowed, std::move(message)}; }
inline Error unavailable(std::string message) { return Error{ErrorCode::Unavailable, std::move(message)}; }
inline Error timeout(std::string message) { return Error{ErrorCode::Timeout, std::move(message)}; }
inline Error internal(std::string message) { return Error{ErrorCode::Internal, std::move(message)}; }
// The same failure as an SDK Status (what Bridge callbacks return) and back.
inline sdk::Status toStatus(const Error& e) { return sdk::Status(toGhStatus(e.code), e.message); }
inline Error fromStatus(const sdk::Status& s) { return Error{fromGhStatus(s.code()), s.message()}; }

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
  T&& operator*() && { return std::get<0>(std::move(v_)); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }
  // The error's message, "" when ok (for messages that prefix a cause).
  const std::string& message() const noexcept {
    static const std::string kNone;
    return ok() ? kNone : std::get<1>(v_).message;
  }

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
  const std::string& message() const noexcept { return error_.message; }

 private:
  Error error_;
  bool ok_ = true;
};

// A failure with the error of another result (of any type) and a prefix: "timestamp: " + cause.
inline Error prefixed(std::string_view prefix, const Error& cause) {
  return Error{cause.code, std::string(prefix) + cause.message};
}

}  // namespace gatehouse::kit
