#include "gatehouse/kit/result.h"

namespace gatehouse::kit {

int httpStatus(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::BadRequest: return 400;
    case ErrorCode::NotFound: return 404;
    case ErrorCode::NotAllowed: return 405;
    case ErrorCode::Conflict: return 409;
    case ErrorCode::TooLarge: return 413;
    case ErrorCode::Timeout: return 504;
    case ErrorCode::Unavailable: return 503;
    case ErrorCode::Internal: return 500;
  }
  return 500;
}

gh_status toGhStatus(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::BadRequest: return GH_ERR_INVALID_ARGUMENT;
    case ErrorCode::NotFound: return GH_ERR_NOT_FOUND;
    case ErrorCode::NotAllowed: return GH_ERR_NOT_ALLOWED;
    case ErrorCode::Conflict: return GH_ERR_CONFLICT;
    case ErrorCode::TooLarge: return GH_ERR_INVALID_ARGUMENT;
    case ErrorCode::Timeout: return GH_ERR_TIMEOUT;
    case ErrorCode::Unavailable: return GH_ERR_UNAVAILABLE;
    case ErrorCode::Internal: return GH_ERR_INTERNAL;
  }
  return GH_ERR_INTERNAL;
}

ErrorCode fromGhStatus(gh_status code) noexcept {
  switch (code) {
    case GH_ERR_INVALID_ARGUMENT: return ErrorCode::BadRequest;
    case GH_ERR_NOT_FOUND: return ErrorCode::NotFound;
    case GH_ERR_NOT_ALLOWED: return ErrorCode::NotAllowed;
    case GH_ERR_CONFLICT: return ErrorCode::Conflict;
    case GH_ERR_UNAVAILABLE: return ErrorCode::Unavailable;
    case GH_ERR_TIMEOUT: return ErrorCode::Timeout;
    default: return ErrorCode::Internal;
  }
}

std::string_view toString(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::BadRequest: return "bad request";
    case ErrorCode::NotFound: return "not found";
    case ErrorCode::NotAllowed: return "not allowed";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::TooLarge: return "too large";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::Unavailable: return "unavailable";
    case ErrorCode::Internal: return "internal error";
  }
  return "internal error";
}

}  // namespace gatehouse::kit
