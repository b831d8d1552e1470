// kit::Result and the error-code mappings: every code keeps its meaning across the ABI and HTTP.
#include "gatehouse/kit/result.h"

#include <gtest/gtest.h>

#include <string>

namespace gatehouse::kit {
namespace {

TEST(KitResult, HoldsAValueOrAnError) {
  Result<int> ok = 42;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);
  EXPECT_EQ(ok.message(), "");
  Result<int> bad = makeError(ErrorCode::NotFound, "no such provider");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::NotFound);
  EXPECT_EQ(bad.message(), "no such provider");
  Result<void> done;
  EXPECT_TRUE(done.ok());
  Result<void> failed = makeError(ErrorCode::Timeout, "device silent");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::Timeout);
}

TEST(KitResult, MovesItsValueOut) {
  Result<std::string> r = std::string(1000, 'x');
  std::string taken = std::move(r).value();
  EXPECT_EQ(taken.size(), 1000u);
}

TEST(KitResult, CodesMapToHttpAndTheAbi) {
  struct Row { ErrorCode code; int http; gh_status abi; };
  const Row rows[] = {
      {ErrorCode::BadRequest, 400, GH_ERR_INVALID_ARGUMENT}, {ErrorCode::NotFound, 404, GH_ERR_NOT_FOUND},
      {ErrorCode::NotAllowed, 405, GH_ERR_NOT_ALLOWED},      {ErrorCode::Conflict, 409, GH_ERR_CONFLICT},
      {ErrorCode::TooLarge, 413, GH_ERR_INVALID_ARGUMENT},   {ErrorCode::Timeout, 504, GH_ERR_TIMEOUT},
      {ErrorCode::Unavailable, 503, GH_ERR_UNAVAILABLE},     {ErrorCode::Internal, 500, GH_ERR_INTERNAL},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(httpStatus(row.code), row.http) << toString(row.code);
    EXPECT_EQ(toGhStatus(row.code), row.abi) << toString(row.code);
    if (row.code != ErrorCode::TooLarge) {
      EXPECT_EQ(fromGhStatus(row.abi), row.code) << toString(row.code);
    }
  }
  EXPECT_EQ(fromGhStatus(GH_OK), ErrorCode::Internal);
  EXPECT_EQ(fromGhStatus(999), ErrorCode::Internal);
}

TEST(KitResult, ConvertsToAndFromSdkStatus) {
  const sdk::Status s = toStatus(makeError(ErrorCode::Unavailable, "broker away"));
  EXPECT_EQ(s.code(), GH_ERR_UNAVAILABLE);
  EXPECT_EQ(s.message(), "broker away");
  const Error e = fromStatus(sdk::Status::timeout("late"));
  EXPECT_EQ(e.code, ErrorCode::Timeout);
  EXPECT_EQ(e.message, "late");
  const Error p = prefixed("timestamp: ", e);
  EXPECT_EQ(p.code, ErrorCode::Timeout);
  EXPECT_EQ(p.message, "timestamp: late");
}

}  // namespace
}  // namespace gatehouse::kit
