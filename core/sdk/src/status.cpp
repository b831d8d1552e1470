#include "gatehouse/sdk/status.h"

namespace gatehouse::sdk {

std::string statusName(gh_status code) {
  switch (code) {
    case GH_OK: return "ok";
    case GH_ERR_INVALID_ARGUMENT: return "invalid argument";
    case GH_ERR_NOT_FOUND: return "not found";
    case GH_ERR_NOT_ALLOWED: return "not allowed";
    case GH_ERR_CONFLICT: return "conflict";
    case GH_ERR_UNAVAILABLE: return "unavailable";
    case GH_ERR_TIMEOUT: return "timeout";
    case GH_ERR_INTERNAL: return "internal error";
    default: return "error " + std::to_string(code);
  }
}

}  // namespace gatehouse::sdk
