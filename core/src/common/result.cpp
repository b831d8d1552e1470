#include "common/result.h"

namespace gatehouse::core {

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

}  // namespace gatehouse::core
