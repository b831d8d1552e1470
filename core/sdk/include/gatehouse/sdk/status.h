#pragma once
// gatehouse::sdk::Status: success, or a gh_status code with a message a person can act on.
// What Bridge callbacks and Host calls return instead of throwing.
//
// Threads: a plain value type; distinct objects may be used from any threads at once.

#include <string>
#include <string_view>
#include <utility>

#include "gatehouse/sdk/abi.h"

namespace gatehouse::sdk {

class [[nodiscard]] Status {
 public:
  Status() = default;   // OK
  // A failure; code must not be GH_OK (a GH_OK code with a message is still OK).
  Status(gh_status code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalidArgument(std::string m) { return {GH_ERR_INVALID_ARGUMENT, std::move(m)}; }
  static Status notFound(std::string m) { return {GH_ERR_NOT_FOUND, std::move(m)}; }
  static Status notAllowed(std::string m) { return {GH_ERR_NOT_ALLOWED, std::move(m)}; }
  static Status conflict(std::string m) { return {GH_ERR_CONFLICT, std::move(m)}; }
  static Status unavailable(std::string m) { return {GH_ERR_UNAVAILABLE, std::move(m)}; }
  static Status timeout(std::string m) { return {GH_ERR_TIMEOUT, std::move(m)}; }
  static Status internal(std::string m) { return {GH_ERR_INTERNAL, std::move(m)}; }

  bool isOk() const noexcept { return code_ == GH_OK; }
  explicit operator bool() const noexcept { return isOk(); }
  gh_status code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

 private:
  gh_status code_ = GH_OK;
  std::string message_;
};

// "ok", "invalid argument", "not found", "not allowed", "conflict", "unavailable", "timeout",
// "internal error"; "error <n>" for codes this SDK does not know.
std::string statusName(gh_status code);

}  // namespace gatehouse::sdk
