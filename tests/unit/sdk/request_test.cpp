#include <gatehouse/sdk/request.h>

#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "fake_host.h"

namespace gatehouse::sdk {
namespace {

using testing::FakeHost;

TEST(SdkRequest, CompletesExactlyOnce) {
  FakeHost fake;
  {
    Request r(fake.host(), 7);
    EXPECT_FALSE(r.answered());
    EXPECT_TRUE(r.complete(Value::ofInt(42)));
    EXPECT_TRUE(r.answered());
    EXPECT_FALSE(r.complete(Value::ofInt(43)));
    EXPECT_FALSE(r.fail(GH_ERR_CONFLICT, "late"));
  }
  const auto c = fake.completions();
  ASSERT_EQ(c.size(), 1u);   // and the destructor added nothing
  EXPECT_EQ(c[0].id, 7u);
  EXPECT_EQ(c[0].status, GH_OK);
  ASSERT_TRUE(c[0].result);
  EXPECT_EQ(*c[0].result, Value::ofInt(42));
  EXPECT_TRUE(c[0].messageNull);
}

TEST(SdkRequest, FailCarriesCodeAndMessage) {
  FakeHost fake;
  Request(fake.host(), 3).fail(GH_ERR_INVALID_ARGUMENT, "brightness must be between 0 and 100");
  Request(fake.host(), 4).fail(Status::timeout("device silent"));
  Request(fake.host(), 5).fail(GH_OK, "oops");   // OK is not a failure code: a bug, reported as one
  Request(fake.host(), 6).complete();            // ACT without a result
  const auto c = fake.completions();
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].status, GH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c[0].message, "brightness must be between 0 and 100");
  EXPECT_FALSE(c[0].result);
  EXPECT_EQ(c[1].status, GH_ERR_TIMEOUT);
  EXPECT_EQ(c[1].message, "device silent");
  EXPECT_EQ(c[2].status, GH_ERR_INTERNAL);
  EXPECT_NE(c[2].message.find("oops"), std::string::npos);
  EXPECT_EQ(c[3].status, GH_OK);
  EXPECT_FALSE(c[3].result);
}

TEST(SdkRequest, UnansweredRequestFailsWhenTheLastCopyGoes) {
  FakeHost fake;
  {
    Request r(fake.host(), 11);
    Request copy = r;   // NOLINT: copies are the same request
    { Request moved = std::move(copy); }
    EXPECT_TRUE(fake.completions().empty()) << "a copy is still alive";
  }
  const auto c = fake.completions();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].id, 11u);
  EXPECT_EQ(c[0].status, GH_ERR_INTERNAL);
  EXPECT_NE(c[0].message.find("dropped without an answer"), std::string::npos) << c[0].message;
}

TEST(SdkRequest, CanBeKeptInAStdFunctionAndAnsweredFromAnotherThread) {
  FakeHost fake;
  std::function<void()> answerLater;
  {
    Request r(fake.host(), 21);
    answerLater = [r] { r.complete(Value::ofString("ON")); };   // captured by copy; no `mutable`
  }
  EXPECT_TRUE(fake.completions().empty());
  std::thread t(answerLater);
  t.join();
  answerLater = nullptr;
  const auto c = fake.completions();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].status, GH_OK);
  EXPECT_EQ(*c[0].result, Value::ofString("ON"));
}

TEST(SdkRequest, RacingAnswersProduceOneCompletion) {
  FakeHost fake;
  Request r(fake.host(), 99);
  std::vector<std::thread> threads;
  std::atomic<int> winners{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([r, i, &winners] {
      if (r.complete(Value::ofInt(i))) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(fake.completions().size(), 1u);
}

TEST(SdkRequest, DefaultRequestAnswersNothing) {
  Request r;
  EXPECT_TRUE(r.answered());
  EXPECT_FALSE(r.complete(Value::ofInt(1)));
  EXPECT_EQ(r.id(), 0u);
}

}  // namespace
}  // namespace gatehouse::sdk
