#pragma once
// Core writes JSON with the kit's helpers (gatehouse/kit/json_write.h); base64 is the kit's codec.

#include "gatehouse/kit/codec.h"
#include "gatehouse/kit/json_write.h"

namespace gatehouse::core {
namespace json = kit::json;
}  // namespace gatehouse::core
