#include <gtest/gtest.h>

#include "model/value.h"

using namespace gatehouse::core;
using namespace gatehouse::core::model;

TEST(Value, JsonOfEachType) {
  EXPECT_EQ(Value::ofInt(-3).toJson(), "-3");
  EXPECT_EQ(Value::ofLong(1693394285012).toJson(), "1693394285012");
  EXPECT_EQ(Value::ofDouble(29.5).toJson(), "29.5");
  EXPECT_EQ(Value::ofDouble(29).toJson(), "29.0");
  EXPECT_EQ(Value::ofBool(true).toJson(), "true");
  EXPECT_EQ(Value::ofString("a\"b\n").toJson(), "\"a\\\"b\\n\"");
  EXPECT_EQ(Value::ofJson("{\"x\":1}").toJson(), "{\"x\":1}");
  EXPECT_EQ(Value::ofBytes(std::string("\x00\xff", 2)).toJson(), "\"AP8=\"");
  EXPECT_EQ(Value::null(ValueType::Double).toJson(), "null");
}

TEST(Value, InvalidUtf8IsReplacedSoOutputStaysJson) {
  EXPECT_EQ(Value::ofString("a\xff").toJson(), "\"a\xEF\xBF\xBD\"");
}

TEST(Value, CoercionIsLossless) {
  auto d = coerce(Value::ofLong(21), ValueType::Double);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->asDouble(), 21.0);
  auto l = coerce(Value::ofDouble(42.0), ValueType::Long);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->asInteger(), 42);
  EXPECT_FALSE(coerce(Value::ofDouble(42.5), ValueType::Long).ok());
  EXPECT_FALSE(coerce(Value::ofLong(1LL << 40), ValueType::Int).ok());
  EXPECT_FALSE(coerce(Value::ofString("12"), ValueType::Double).ok());
  EXPECT_FALSE(coerce(Value::ofBool(true), ValueType::Int).ok());
  auto j = coerce(Value::ofLong(5), ValueType::Json);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->toJson(), "5");
  auto n = coerce(Value(), ValueType::Double);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->isNull());
  EXPECT_EQ(n->type(), ValueType::Double);
}

// Bytes may be end-to-end ciphertext: a refused conversion names their size, never their content.
TEST(Value, ACoercionErrorNeverQuotesBytes) {
  auto d = coerce(Value::ofBytes("GHE\x01\x01secret-looking"), ValueType::Double);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message, "expected a value of type double, got bytes (19 bytes)");
  auto s = coerce(Value::ofString("12"), ValueType::Double);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "expected a value of type double, got string \"12\"");
}

TEST(Value, TypeNamesRoundTripAndAcceptSensinactAliases) {
  for (auto t : {ValueType::Int, ValueType::Long, ValueType::Double, ValueType::Boolean, ValueType::String,
                 ValueType::Json, ValueType::Bytes}) {
    EXPECT_EQ(parseValueType(toString(t)), t);
  }
  EXPECT_EQ(parseValueType("java.lang.Double"), ValueType::Double);
  EXPECT_FALSE(parseValueType("quaternion").has_value());
  EXPECT_EQ(parseResourceKind("STATE_VARIABLE"), ResourceKind::StateVariable);
  EXPECT_EQ(parseMutability("FIXED"), Mutability::Fixed);
}

TEST(Value, Identifiers) {
  EXPECT_TRUE(isValidIdentifier("sim-light_1.a:b"));
  EXPECT_TRUE(isValidIdentifier(std::string(128, 'a')));
  EXPECT_FALSE(isValidIdentifier(std::string(129, 'a')));
  EXPECT_FALSE(isValidIdentifier(""));
  for (const char* bad : {"a/b", "a+b", "a#", "a b", "a\nb", "é"}) EXPECT_FALSE(isValidIdentifier(bad)) << bad;
  auto r = checkIdentifier("provider", "a/b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
  EXPECT_NE(r.error().message.find("provider name \"a/b\""), std::string::npos) << r.error().message;
}
