#include <gatehouse/sdk/value.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include <gtest/gtest.h>

namespace gatehouse::sdk {
namespace {

Value roundTrip(const Value& v) {
  const gh_value c = v.toC();
  std::string why;
  auto back = Value::fromC(c, &why);
  EXPECT_TRUE(back.has_value()) << why;
  return back.value_or(Value());
}

TEST(SdkValue, EveryTypeRoundTripsThroughTheAbi) {
  const std::string bytes("a\0b\xff", 4);
  const std::vector<Value> values = {
      Value::ofInt(-2147483647 - 1), Value::ofInt(2147483647), Value::ofLong(std::numeric_limits<std::int64_t>::min()),
      Value::ofLong(1234567890123LL), Value::ofDouble(-21.375), Value::ofDouble(0.1), Value::ofBool(true),
      Value::ofBool(false), Value::ofString("°C ok"), Value::ofString(""), Value::ofJson("{\"a\":[1,2]}"),
      Value::ofBytes(bytes), Value::null(ValueType::Double), Value::null(ValueType::Bytes)};
  for (const auto& v : values) {
    const Value back = roundTrip(v);
    EXPECT_EQ(back, v) << toString(v.type());
    EXPECT_EQ(back.type(), v.type());
    EXPECT_EQ(back.isNull(), v.isNull());
  }
  EXPECT_EQ(roundTrip(Value::ofBytes(bytes)).asString().size(), 4u);   // embedded NUL kept
}

TEST(SdkValue, ToCFillsTheFieldsTheAbiNames) {
  const auto b = Value::ofBool(true).toC();
  EXPECT_EQ(b.type, GH_TYPE_BOOLEAN);
  EXPECT_EQ(b.i, 1);
  EXPECT_EQ(b.is_null, 0u);
  const Value s = Value::ofString("hello");
  const auto c = s.toC();
  EXPECT_EQ(c.type, GH_TYPE_STRING);
  EXPECT_EQ(c.size, 5u);
  EXPECT_EQ(std::string(c.data, c.size), "hello");
  EXPECT_EQ(c.data, s.asString().data());   // borrowed, not copied
  const auto d = Value::ofDouble(2.5).toC();
  EXPECT_EQ(d.type, GH_TYPE_DOUBLE);
  EXPECT_DOUBLE_EQ(d.d, 2.5);
  const auto n = Value::null(ValueType::Long).toC();
  EXPECT_EQ(n.type, GH_TYPE_LONG);
  EXPECT_EQ(n.is_null, 1u);
}

TEST(SdkValue, FromCRejectsMalformedValues) {
  std::string why;
  gh_value v{};
  v.type = 99;
  EXPECT_FALSE(Value::fromC(v, &why));
  EXPECT_NE(why.find("unknown value type 99"), std::string::npos) << why;

  v = gh_value{};
  v.type = GH_TYPE_INT;
  v.i = 1LL << 40;
  EXPECT_FALSE(Value::fromC(v, &why));
  EXPECT_NE(why.find("32 bits"), std::string::npos) << why;

  v = gh_value{};
  v.type = GH_TYPE_BOOLEAN;
  v.i = 2;
  EXPECT_FALSE(Value::fromC(v, &why));

  v = gh_value{};
  v.type = GH_TYPE_STRING;
  v.data = nullptr;
  v.size = 3;
  EXPECT_FALSE(Value::fromC(v, &why));
  EXPECT_NE(why.find("no data"), std::string::npos) << why;

  v = gh_value{};
  v.type = GH_TYPE_STRING;
  v.is_null = 7;
  EXPECT_FALSE(Value::fromC(v, &why));

  // NULL data with size 0 is an empty string, not an error.
  v = gh_value{};
  v.type = GH_TYPE_JSON;
  auto empty = Value::fromC(v, &why);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->type(), ValueType::Json);
  EXPECT_EQ(empty->asString(), "");
}

TEST(SdkValue, AccessorsRefuseOtherTypesWithAMessage) {
  EXPECT_EQ(Value::ofInt(7).asInteger(), 7);
  EXPECT_DOUBLE_EQ(Value::ofLong(7).asDouble(), 7.0);
  try {
    (void)Value::ofString("x").asInteger();
    FAIL() << "expected std::logic_error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("string"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)Value::null(ValueType::Int).asInteger(), std::logic_error);
  EXPECT_THROW((void)Value::ofBool(true).asInteger(), std::logic_error);
  EXPECT_THROW((void)Value::ofDouble(1).asBool(), std::logic_error);
  EXPECT_THROW((void)Value::ofInt(1).asString(), std::logic_error);
}

TEST(SdkValue, DefaultIsANullString) {
  const Value v;
  EXPECT_TRUE(v.isNull());
  EXPECT_EQ(v.type(), ValueType::String);
  EXPECT_NE(v, Value::ofString(""));
}

}  // namespace
}  // namespace gatehouse::sdk
