#pragma once
// Core's result type is the kit's (core/sdk/kit/include/gatehouse/kit/result.h): one Result<T>
// with an ErrorCode for core, the SDK and every plugin.

#include "gatehouse/kit/result.h"

namespace gatehouse::core {

using kit::Error;
using kit::ErrorCode;
using kit::httpStatus;
using kit::makeError;
using kit::Result;

}  // namespace gatehouse::core
