// Unit tests for gatehouse::core::filter: grammar, every operator, comparison rules, limits, error
// offsets and the canonical round trip.

#include "filter/filter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace gatehouse::core::filter {
namespace {

using Values = std::map<std::string, std::vector<Scalar>, std::less<>>;

// A candidate as a key -> values map; counts lookups so short-circuiting can be checked.
struct Candidate {
  Values values;
  mutable std::vector<std::string> asked;

  Lookup lookup() const {
    return [this](std::string_view key) {
      asked.emplace_back(key);
      auto it = values.find(key);
      return it == values.end() ? std::vector<Scalar>{} : it->second;
    };
  }
};

Filter parseOk(std::string_view text) {
  auto f = Filter::parse(text);
  EXPECT_TRUE(f.ok()) << text << ": " << (f.ok() ? "" : f.error().message);
  if (!f.ok()) return Filter::parse("(never.parsed=x)").value();
  return std::move(f).value();
}

bool matches(std::string_view text, const Values& values) {
  Candidate c{values, {}};
  return parseOk(text).matches(c.lookup());
}

std::string parseError(std::string_view text) {
  auto f = Filter::parse(text);
  EXPECT_FALSE(f.ok()) << text << " parsed as " << (f.ok() ? f->toString() : "");
  if (f.ok()) return {};
  EXPECT_EQ(f.error().code, ErrorCode::BadRequest);
  return f.error().message;
}

// ---------------------------------------------------------------------------------------------
// Operators

TEST(FilterOperators, EqualIsCaseSensitiveString) {
  Values v{{"light.status", {std::string("ON")}}};
  EXPECT_TRUE(matches("(light.status=ON)", v));
  EXPECT_FALSE(matches("(light.status=on)", v));
  EXPECT_FALSE(matches("(light.status=ON )", v));
  EXPECT_FALSE(matches("(light.status=OFF)", v));
}

TEST(FilterOperators, EqualEmptyValue) {
  EXPECT_TRUE(matches("(a=)", {{"a", {std::string()}}}));
  EXPECT_FALSE(matches("(a=)", {{"a", {std::string("x")}}}));
}

TEST(FilterOperators, ApproxIgnoresCaseAndSurroundingWhitespace) {
  Values v{{"admin.friendlyName", {std::string("  Kitchen Lamp ")}}};
  EXPECT_TRUE(matches("(admin.friendlyName~=kitchen lamp)", v));
  EXPECT_TRUE(matches("(admin.friendlyName~=  KITCHEN LAMP\\09)", v));
  EXPECT_FALSE(matches("(admin.friendlyName~=kitchenlamp)", v));
  EXPECT_FALSE(matches("(admin.friendlyName~=kitchen)", v));
  // Approx on numbers is numeric equality; the spaces around the number are ignored.
  EXPECT_TRUE(matches("(t~= 20 )", {{"t", {20.0}}}));
  EXPECT_FALSE(matches("(t~=20)", {{"t", {20.5}}}));
}

TEST(FilterOperators, GreaterOrEqualAndLessOrEqualNumeric) {
  Values v{{"temperature.value", {std::int64_t{20}}}};
  EXPECT_TRUE(matches("(temperature.value>=20)", v));
  EXPECT_TRUE(matches("(temperature.value<=20)", v));
  EXPECT_TRUE(matches("(temperature.value>=19.5)", v));
  EXPECT_FALSE(matches("(temperature.value>=20.5)", v));
  EXPECT_TRUE(matches("(temperature.value<=20.001)", v));
  EXPECT_FALSE(matches("(temperature.value<=-3)", v));
  EXPECT_TRUE(matches("(temperature.value>=-3)", v));
}

TEST(FilterOperators, GreaterOrEqualAndLessOrEqualStringsAreLexicographic) {
  Values v{{"n", {std::string("mango")}}};
  EXPECT_TRUE(matches("(n>=m)", v));
  EXPECT_TRUE(matches("(n>=mango)", v));
  EXPECT_FALSE(matches("(n>=mangoes)", v));
  EXPECT_TRUE(matches("(n<=n)", v));
  EXPECT_FALSE(matches("(n<=Mango)", v));  // 'M' < 'm' bytewise
}

TEST(FilterOperators, Presence) {
  EXPECT_TRUE(matches("(admin.location=*)", {{"admin.location", {std::string("{}")}}}));
  EXPECT_TRUE(matches("(admin.location=*)", {{"admin.location", {std::string()}}}));
  EXPECT_TRUE(matches("(x=*)", {{"x", {false}}}));
  EXPECT_FALSE(matches("(admin.location=*)", {}));
}

TEST(FilterOperators, SubstringInitialAnyFinal) {
  Values v{{"PROVIDER", {std::string("sim-kitchen-42")}}};
  EXPECT_TRUE(matches("(PROVIDER=sim-*)", v));
  EXPECT_TRUE(matches("(PROVIDER=*-42)", v));
  EXPECT_TRUE(matches("(PROVIDER=*kitchen*)", v));
  EXPECT_TRUE(matches("(PROVIDER=sim*kit*en*42)", v));
  EXPECT_TRUE(matches("(PROVIDER=s*i*m*-*k*2)", v));
  EXPECT_FALSE(matches("(PROVIDER=SIM-*)", v));
  EXPECT_FALSE(matches("(PROVIDER=*kitchen)", v));
  EXPECT_FALSE(matches("(PROVIDER=sim*42*kitchen*)", v));  // pieces must appear in order
  EXPECT_FALSE(matches("(PROVIDER=*x*)", v));
}

TEST(FilterOperators, SubstringPrefixAndSuffixMustNotOverlap) {
  EXPECT_FALSE(matches("(a=ab*ba)", {{"a", {std::string("aba")}}}));
  EXPECT_TRUE(matches("(a=ab*ba)", {{"a", {std::string("abba")}}}));
  EXPECT_FALSE(matches("(a=a*aa*a)", {{"a", {std::string("aaa")}}}));
  EXPECT_TRUE(matches("(a=a*aa*a)", {{"a", {std::string("aaaa")}}}));
}

TEST(FilterOperators, SubstringNeedsFullKmpFallback) {
  // "aab" inside "aaab" needs the failure table; a buggy restart would miss it.
  EXPECT_TRUE(matches("(a=*aab*)", {{"a", {std::string("aaab")}}}));
  EXPECT_TRUE(matches("(a=*abab*)", {{"a", {std::string("ababab")}}}));
  EXPECT_TRUE(matches("(a=*abcabd*)", {{"a", {std::string("abcabcabd")}}}));
  EXPECT_FALSE(matches("(a=*abcabd*)", {{"a", {std::string("abcabcab")}}}));
}

TEST(FilterOperators, SubstringOnNumbersUsesTheirText) {
  EXPECT_TRUE(matches("(t=21*)", {{"t", {21.5}}}));
  EXPECT_TRUE(matches("(t=*.5)", {{"t", {21.5}}}));
  EXPECT_TRUE(matches("(n=*00)", {{"n", {std::int64_t{1200}}}}));
  EXPECT_TRUE(matches("(b=tr*)", {{"b", {true}}}));
}

TEST(FilterOperators, AndOrNot) {
  Values v{{"PROVIDER", {std::string("sim-1")}}, {"light.status", {std::string("ON")}},
           {"sensor.battery", {std::int64_t{8}}}};
  EXPECT_TRUE(matches("(&(PROVIDER=sim-*)(light.status=ON))", v));
  EXPECT_FALSE(matches("(&(PROVIDER=sim-*)(light.status=OFF))", v));
  EXPECT_TRUE(matches("(|(PROVIDER=real-*)(light.status=ON))", v));
  EXPECT_FALSE(matches("(|(PROVIDER=real-*)(light.status=OFF))", v));
  EXPECT_FALSE(matches("(!(sensor.battery<=10))", v));
  EXPECT_TRUE(matches("(!(sensor.battery<=5))", v));
  EXPECT_TRUE(matches("(!(!(PROVIDER=sim-1)))", v));
  EXPECT_TRUE(matches("(|(admin.friendlyName=Kitchen*)(!(sensor.battery<=5)))", v));
  EXPECT_TRUE(matches("(&(a=*)(PROVIDER=sim-1))", {{"a", {std::int64_t{1}}}, {"PROVIDER", {std::string("sim-1")}}}));
  EXPECT_TRUE(matches("(&(PROVIDER=sim-1))", v));
  EXPECT_FALSE(matches("(|(x=1))", v));
}

TEST(FilterOperators, AndOrShortCircuit) {
  Candidate c{{{"a", {std::int64_t{1}}}, {"b", {std::int64_t{2}}}}, {}};
  EXPECT_FALSE(parseOk("(&(a=0)(b=2))").matches(c.lookup()));
  EXPECT_EQ(c.asked, (std::vector<std::string>{"a"}));
  c.asked.clear();
  EXPECT_TRUE(parseOk("(|(a=1)(b=0))").matches(c.lookup()));
  EXPECT_EQ(c.asked, (std::vector<std::string>{"a"}));
}

// ---------------------------------------------------------------------------------------------
// Comparison rules

TEST(FilterComparison, NumericWhenStoredIsNumberAndTextIsNumber) {
  EXPECT_TRUE(matches("(t=20)", {{"t", {20.0}}}));
  EXPECT_TRUE(matches("(t=20.0)", {{"t", {std::int64_t{20}}}}));
  EXPECT_TRUE(matches("(t=2e1)", {{"t", {std::int64_t{20}}}}));
  EXPECT_TRUE(matches("(t=+20)", {{"t", {std::int64_t{20}}}}));
  EXPECT_TRUE(matches("(t=-0.5)", {{"t", {-0.5}}}));
  EXPECT_TRUE(matches("(t=.5)", {{"t", {0.5}}}));
  // Numerically 3 < 20, whereas as strings "3" > "20".
  EXPECT_FALSE(matches("(t>=20)", {{"t", {std::int64_t{3}}}}));
  EXPECT_TRUE(matches("(t>=20)", {{"t", {std::string("3")}}}));
  // A stored string is compared as a string even if the filter text is a number.
  EXPECT_FALSE(matches("(t=20)", {{"t", {std::string("20.0")}}}));
  EXPECT_TRUE(matches("(t=20)", {{"t", {std::string("20")}}}));
}

TEST(FilterComparison, NonNumericTextAgainstNumberComparesText) {
  EXPECT_FALSE(matches("(t=21.5x)", {{"t", {21.5}}}));
  EXPECT_FALSE(matches("(t=20 )", {{"t", {std::int64_t{20}}}}));  // "20 " is not a number
  EXPECT_TRUE(matches("(t=21.5 )", {{"t", {std::string("21.5 ")}}}));
  EXPECT_FALSE(matches("(t>=a)", {{"t", {std::int64_t{5}}}}));  // "5" < "a" as text
  EXPECT_TRUE(matches("(t<=a)", {{"t", {std::int64_t{5}}}}));
  // Words from_chars would read as numbers stay text.
  EXPECT_FALSE(matches("(t>=nan)", {{"t", {1.0}}}));
  EXPECT_TRUE(matches("(t<=inf)", {{"t", {1.0}}}));  // "1" < "inf" as text
  EXPECT_FALSE(matches("(t>=inf)", {{"t", {1.0}}}));
}

TEST(FilterComparison, LargeIntegersCompareExactlyWithDoubles) {
  // 2^53 + 1 is not a double; converting the stored integer would make these equal.
  Values v{{"n", {std::int64_t{9007199254740993}}}};
  EXPECT_FALSE(matches("(n<=9007199254740992.0)", v));
  EXPECT_TRUE(matches("(n>=9007199254740992.0)", v));
  EXPECT_FALSE(matches("(n=9007199254740992.0)", v));
  EXPECT_TRUE(matches("(n=9007199254740993)", v));
  Values big{{"n", {std::numeric_limits<std::int64_t>::max()}}};
  EXPECT_TRUE(matches("(n<=1e19)", big));
  EXPECT_FALSE(matches("(n>=1e19)", big));
  Values small{{"n", {std::numeric_limits<std::int64_t>::min()}}};
  EXPECT_TRUE(matches("(n>=-1e19)", small));
  EXPECT_TRUE(matches("(n=-9223372036854775808)", small));
  // Stored double against integer text, both ways round.
  EXPECT_TRUE(matches("(d>=7)", {{"d", {7.25}}}));
  EXPECT_FALSE(matches("(d<=7)", {{"d", {7.25}}}));
  EXPECT_TRUE(matches("(d<=-7)", {{"d", {-7.25}}}));
}

TEST(FilterComparison, IntegerTextBeyondInt64IsADouble) {
  EXPECT_TRUE(matches("(n<=99999999999999999999)", {{"n", {std::numeric_limits<std::int64_t>::max()}}}));
}

TEST(FilterComparison, NaNNeverComparesNumerically) {
  Values v{{"d", {std::nan("")}}};
  EXPECT_FALSE(matches("(d>=0)", v));
  EXPECT_FALSE(matches("(d<=0)", v));
  EXPECT_FALSE(matches("(d=0)", v));
  EXPECT_TRUE(matches("(d=*)", v));
}

TEST(FilterComparison, BooleansCaseInsensitive) {
  Values v{{"b", {true}}};
  EXPECT_TRUE(matches("(b=true)", v));
  EXPECT_TRUE(matches("(b=TRUE)", v));
  EXPECT_TRUE(matches("(b=True)", v));
  EXPECT_FALSE(matches("(b=false)", v));
  EXPECT_FALSE(matches("(b=1)", v));
  EXPECT_TRUE(matches("(b~= tRuE )", v));
  EXPECT_TRUE(matches("(b>=false)", v));
  EXPECT_FALSE(matches("(b<=FALSE)", v));
  EXPECT_TRUE(matches("(b=FALSE)", {{"b", {false}}}));
  // A string "True" is a string: equality is then case-sensitive.
  EXPECT_FALSE(matches("(b=true)", {{"b", {std::string("True")}}}));
}

TEST(FilterComparison, NullMatchesNothingNotEvenPresence) {
  Values v{{"a", {std::monostate{}}}};
  EXPECT_FALSE(matches("(a=*)", v));
  EXPECT_TRUE(matches("(!(a=*))", v));
  EXPECT_FALSE(matches("(a=)", v));
  EXPECT_FALSE(matches("(a=null)", v));
  EXPECT_FALSE(matches("(a>=0)", v));
  EXPECT_FALSE(matches("(a<=z)", v));
  EXPECT_FALSE(matches("(a~=)", v));
  EXPECT_FALSE(matches("(a=*x*)", v));
}

TEST(FilterComparison, MultiValuedMatchesIfAnyValueMatches) {
  Values v{{"tags", {std::monostate{}, std::string("red"), std::int64_t{7}, std::string("blue")}}};
  EXPECT_TRUE(matches("(tags=blue)", v));
  EXPECT_TRUE(matches("(tags=7)", v));
  EXPECT_TRUE(matches("(tags>=6.5)", v));
  EXPECT_TRUE(matches("(tags=*)", v));
  EXPECT_FALSE(matches("(tags=green)", v));
  EXPECT_FALSE(matches("(!(tags=red))", v));
  EXPECT_TRUE(matches("(!(tags=green))", v));
}

TEST(FilterComparison, MissingKeyMakesItemFalseAndNegationTrue) {
  Values v{{"other", {std::int64_t{1}}}};
  for (const char* text : {"(a=1)", "(a~=1)", "(a>=1)", "(a<=1)", "(a=*)", "(a=*1*)"}) {
    EXPECT_FALSE(matches(text, v)) << text;
    EXPECT_TRUE(matches(std::string("(!") + text + ")", v)) << text;
  }
  EXPECT_FALSE(matches("(&(other=1)(a=1))", v));
  EXPECT_TRUE(matches("(|(other=1)(a=1))", v));
}

// ---------------------------------------------------------------------------------------------
// Escapes

TEST(FilterEscapes, HexEscapesDecode) {
  EXPECT_TRUE(matches("(a=\\2a)", {{"a", {std::string("*")}}}));
  EXPECT_FALSE(matches("(a=\\2a)", {{"a", {std::string("anything")}}}));
  EXPECT_TRUE(matches("(a=\\28x\\29)", {{"a", {std::string("(x)")}}}));
  EXPECT_TRUE(matches("(a=C:\\5cdir)", {{"a", {std::string("C:\\dir")}}}));
  EXPECT_TRUE(matches("(a=\\2A\\2a*)", {{"a", {std::string("**x")}}}));  // upper and lower hex
  EXPECT_TRUE(matches("(a=x\\00y)", {{"a", {std::string("x\0y", 3)}}}));
  EXPECT_TRUE(matches("(a=caf\\c3\\a9)", {{"a", {std::string("caf\xc3\xa9")}}}));
  EXPECT_TRUE(matches("(a=*\\2a*)", {{"a", {std::string("x*y")}}}));
}

TEST(FilterEscapes, EscapedStarIsNotPresence) {
  EXPECT_EQ(parseOk("(a=\\2a)").toString(), "(a=\\2a)");
  EXPECT_EQ(parseOk("(a=*)").toString(), "(a=*)");
  EXPECT_FALSE(matches("(a=\\2a)", {{"a", {std::string("x")}}}));
}

TEST(FilterEscapes, InvalidEscapesAreErrors) {
  EXPECT_EQ(parseError("(a=\\zz)"),
            "filter: invalid escape: '\\' must be followed by two hex digits (e.g. \\2a for '*') at offset 3");
  EXPECT_NE(parseError("(a=\\2)").find("at offset 3"), std::string::npos);
  EXPECT_NE(parseError("(a=x\\)").find("at offset 4"), std::string::npos);
  EXPECT_NE(parseError("(a=\\*)").find("at offset 3"), std::string::npos);
  EXPECT_NE(parseError("a=b\\").find("at offset 3"), std::string::npos);
  EXPECT_NE(parseError("(a=\\g0)").find("invalid escape"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Grammar conveniences

TEST(FilterGrammar, BareItemAndTrimmedWhitespace) {
  EXPECT_EQ(parseOk("PROVIDER=sim*").toString(), "(PROVIDER=sim*)");
  EXPECT_EQ(parseOk("  \t(a=1)\n ").toString(), "(a=1)");
  EXPECT_EQ(parseOk("  a>=1  ").toString(), "(a>=1)");
  EXPECT_EQ(parseOk("(& (a=1)\n  (b=2) )").toString(), "(&(a=1)(b=2))");
  EXPECT_EQ(parseOk("(! (a=1) )").toString(), "(!(a=1))");
  EXPECT_TRUE(matches("PROVIDER=sim*", {{"PROVIDER", {std::string("sim-3")}}}));
}

TEST(FilterGrammar, AttributeNameCharacters) {
  EXPECT_EQ(parseOk("(a-b_c.d:e9=1)").keys(), (std::vector<std::string>{"a-b_c.d:e9"}));
  EXPECT_NE(parseError("(a b=1)").find("at offset 2"), std::string::npos);
  EXPECT_NE(parseError("(a/b=1)").find("at offset 2"), std::string::npos);
  EXPECT_NE(parseError("(=1)").find("expected an attribute name"), std::string::npos);
}

TEST(FilterGrammar, KeysListsEachKeyOnceInOrder) {
  auto f = parseOk("(&(PROVIDER=sim*)(|(t.v>=1)(t.v<=-1))(!(MODEL=x))(PROVIDER=*))");
  EXPECT_EQ(f.keys(), (std::vector<std::string>{"PROVIDER", "t.v", "MODEL"}));
}

TEST(FilterGrammar, CopiesShareBehaviourAcrossThreads) {
  Filter f = parseOk("(&(PROVIDER=sim-*)(temperature.value>=20))");
  Filter copy = f;
  EXPECT_EQ(copy.toString(), f.toString());
  Values hot{{"PROVIDER", {std::string("sim-1")}}, {"temperature.value", {25.0}}};
  Values cold{{"PROVIDER", {std::string("sim-1")}}, {"temperature.value", {15.0}}};
  int hotCount[2] = {0, 0};
  int coldCount[2] = {0, 0};
  auto work = [&](const Filter& filter, int slot) {
    Candidate h{hot, {}};
    Candidate c{cold, {}};
    for (int i = 0; i < 2000; ++i) {
      hotCount[slot] += filter.matches(h.lookup()) ? 1 : 0;
      coldCount[slot] += filter.matches(c.lookup()) ? 1 : 0;
      h.asked.clear();
      c.asked.clear();
    }
  };
  std::thread a(work, std::cref(f), 0);
  std::thread b(work, std::cref(copy), 1);
  a.join();
  b.join();
  EXPECT_EQ(hotCount[0], 2000);
  EXPECT_EQ(hotCount[1], 2000);
  EXPECT_EQ(coldCount[0], 0);
  EXPECT_EQ(coldCount[1], 0);
}

// ---------------------------------------------------------------------------------------------
// Errors and their offsets

TEST(FilterErrors, MessagesNameTheOffset) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "filter: empty filter at offset 0"},
      {"   ", "filter: empty filter at offset 0"},
      {"(a=1", "filter: unexpected end of filter, expected ')' at offset 4"},
      {"(&(a=1)(b=2)", "filter: unexpected end of filter, expected ')' at offset 12"},
      {"(&(temperature.value>=20)x", "filter: expected ')', found 'x' at offset 25"},
      {"(a=1))", "filter: unexpected ')' after the end of the filter at offset 5"},
      {"(a=1)(b=2)", "filter: unexpected '(' after the end of the filter at offset 5"},
      {"(&)", "filter: expected '(' after '&', found ')' at offset 2"},
      {"(|)", "filter: expected '(' after '|', found ')' at offset 2"},
      {"(!)", "filter: expected '(' after '!', found ')' at offset 2"},
      {"(!(a=1)(b=2))", "filter: expected ')', found '(' at offset 7"},
      {"(a)", "filter: expected '=', '~=', '>=' or '<=' after the attribute name, found ')' at offset 2"},
      {"(a>1)", "filter: expected '=' to complete the operator, found '1' at offset 3"},
      {"(a<", "filter: unexpected end of filter, expected '=' to complete the operator at offset 3"},
      {"(a~1)", "filter: expected '=' to complete the operator, found '1' at offset 3"},
      {"(a=b(c)", "filter: unescaped '(' in value; write \\28 at offset 4"},
      {"(a>=1*)", "filter: '*' is only allowed after '='; write \\2a for a literal '*' at offset 5"},
      {"(a~=*)", "filter: '*' is only allowed after '='; write \\2a for a literal '*' at offset 4"},
      {"(a=x**y)", "filter: empty substring between two '*' at offset 5"},
      {"(a=**)", "filter: empty substring between two '*' at offset 4"},
      {"((a=1))", "filter: expected an attribute name ([A-Za-z0-9_.:-]), found '(' at offset 1"},
      {"(", "filter: unexpected end of filter, expected '&', '|', '!' or an attribute name at offset 1"},
      {"a=b)", "filter: unexpected ')' after the end of the filter at offset 3"},
      {"  (a=1) x", "filter: unexpected 'x' after the end of the filter at offset 8"},
      {"(a b=1)", "filter: expected '=', '~=', '>=' or '<=' after the attribute name, found ' ' at offset 2"},
      {"(a\x01=1)", "filter: expected '=', '~=', '>=' or '<=' after the attribute name, found byte 0x01 at offset 2"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parseError(c.text), c.message) << "input: " << c.text;
  }
  EXPECT_EQ(parseError(std::string_view("(a=x\0)", 6)), "filter: byte 0x00 in value; write \\00 at offset 4");
  EXPECT_EQ(parseError("(a=x\ny)"), "filter: byte 0x0a in value; write \\0a at offset 4");
  EXPECT_EQ(parseError("(a=\t)"), "filter: byte 0x09 in value; write \\09 at offset 3");
  EXPECT_EQ(parseError("(a=\x7f)"), "filter: byte 0x7f in value; write \\7f at offset 3");
}

// ---------------------------------------------------------------------------------------------
// Limits

std::string nested(std::size_t depth) {
  // depth = number of parenthesised filters on the path to the item: (!(!(...(a=1)...)))
  std::string s;
  for (std::size_t i = 1; i < depth; ++i) s += "(!";
  s += "(a=1)";
  for (std::size_t i = 1; i < depth; ++i) s += ")";
  return s;
}

std::string items(std::size_t count) {
  std::string s = "(|";
  for (std::size_t i = 0; i < count; ++i) s += "(k" + std::to_string(i) + "=1)";
  return s + ")";
}

TEST(FilterLimits, Depth) {
  auto deep = parseOk(nested(kMaxFilterDepth));
  // 31 negations of (a=1): odd count, so false when a=1.
  EXPECT_FALSE(deep.matches(Candidate{{{"a", {std::int64_t{1}}}}, {}}.lookup()));
  std::string tooDeep = nested(kMaxFilterDepth + 1);
  EXPECT_EQ(parseError(tooDeep),
            "filter: filters nested deeper than 32 at offset " + std::to_string(2 * kMaxFilterDepth));
  std::string deepest = nested(1300);
  ASSERT_LE(deepest.size(), kMaxFilterBytes);
  EXPECT_FALSE(Filter::parse(deepest).ok());  // refused at depth 33, not after 1300 recursions
}

TEST(FilterLimits, ItemCount) {
  auto f = parseOk(items(kMaxFilterItems));
  EXPECT_EQ(f.keys().size(), kMaxFilterItems);
  EXPECT_TRUE(f.matches(Candidate{{{"k255", {std::int64_t{1}}}}, {}}.lookup()));
  std::string tooMany = items(kMaxFilterItems + 1);
  std::string msg = parseError(tooMany);
  EXPECT_EQ(msg, "filter: more than 256 items at offset " + std::to_string(tooMany.find("(k256=") + 1));
}

TEST(FilterLimits, TextLength) {
  std::string exact = "(a=" + std::string(kMaxFilterBytes - 4, 'x') + ")";
  ASSERT_EQ(exact.size(), kMaxFilterBytes);
  EXPECT_TRUE(Filter::parse(exact).ok());
  std::string over = "(a=" + std::string(kMaxFilterBytes - 3, 'x') + ")";
  EXPECT_EQ(parseError(over), "filter: longer than 4096 bytes at offset 4096");
  // A bare item counts the parentheses its canonical form adds, so that form always re-parses.
  std::string bare = "a=" + std::string(kMaxFilterBytes - 4, 'x');
  auto f = parseOk(bare);
  EXPECT_EQ(f.toString().size(), kMaxFilterBytes);
  EXPECT_TRUE(Filter::parse(f.toString()).ok());
  EXPECT_EQ(parseError(" " + bare + "x"),
            "filter: longer than 4096 bytes with the implied parentheses at offset 4095");
  // The limit applies to the text as received, whitespace included.
  EXPECT_FALSE(Filter::parse(std::string(kMaxFilterBytes, ' ') + "(a=1)").ok());
}

TEST(FilterLimits, ManyStarsStayLinear) {
  // 1000 '*' against a long value designed to defeat naive backtracking and naive search.
  std::string pattern = "(v=";
  for (int i = 0; i < 1000; ++i) pattern += "*a";
  pattern += "*b)";
  ASSERT_LE(pattern.size(), kMaxFilterBytes);
  auto f = parseOk(pattern);
  Values v{{"v", {std::string(1 << 20, 'a')}}};
  Candidate c{v, {}};
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(f.matches(c.lookup()));
  std::get<std::string>(c.values["v"][0]).back() = 'b';
  EXPECT_TRUE(f.matches(c.lookup()));
  // A long piece of 'a's followed by 'b' against many 'a's: quadratic with naive search.
  std::string longPiece = "(v=*" + std::string(4000, 'a') + "b*)";
  auto g = parseOk(longPiece);
  Candidate d{{{"v", {std::string(1 << 20, 'a')}}}, {}};
  EXPECT_FALSE(g.matches(d.lookup()));
  auto elapsed = std::chrono::steady_clock::now() - start;
  // Linear work is a few milliseconds even under sanitizers; the quadratic variants take minutes.
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

// ---------------------------------------------------------------------------------------------
// Canonical form and round trip (property-style over the fuzz seeds and a list of filters)

std::vector<std::string> seedTexts() {
  std::vector<std::string> seeds = {
      "(temperature.value>=20)",
      "(&(PROVIDER=sim-*)(light.status=ON))",
      "(|(admin.friendlyName=Kitchen*)(!(sensor.battery<=10)))",
      "(admin.location=*)",
      "PROVIDER=sim*",
      "(a=\\2a\\28\\29\\5c\\00)",
      "(a=x*\\2a*y)",
      "(a~= Spaced Out )",
      "(&(a=1)(|(b=2)(!(c=*)))(d=*e*f*))",
      "(MODEL=model-\\c3\\a9)",
      "(a=tab\\09line\\0anew)",
      "(a=)",
      "(a=*x)",
      "(a=x*)",
      "(& (a=1)\n (b<=-2.5e3) )",
      "(a=caf\xc3\xa9)",
  };
  const std::filesystem::path corpus = GATEHOUSE_FILTER_CORPUS_DIR;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    std::ifstream in(entry.path(), std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return seeds;
}

std::vector<Values> sampleCandidates() {
  return {
      {},
      {{"temperature.value", {std::int64_t{20}}}, {"PROVIDER", {std::string("sim-1")}}},
      {{"temperature.value", {19.5}}, {"light.status", {std::string("ON")}}, {"PROVIDER", {std::string("sim-2")}}},
      {{"a", {std::string("*()\\")}}, {"b", {std::int64_t{2}}}, {"c", {std::monostate{}}}, {"d", {std::string("xeyfz")}}},
      {{"a", {std::string("x*y")}}, {"admin.location", {std::string("{}")}}, {"sensor.battery", {std::int64_t{50}}}},
      {{"a", {std::string(" spaced out")}}, {"admin.friendlyName", {std::string("Kitchen lamp")}}},
      {{"a", {std::string("x"), std::string("")}}, {"b", {-2500.0}}, {"MODEL", {std::string("model-\xc3\xa9")}}},
  };
}

TEST(FilterRoundTrip, ToStringReparsesToTheSameFilter) {
  std::size_t valid = 0;
  for (const std::string& text : seedTexts()) {
    auto first = Filter::parse(text);
    if (!first.ok()) continue;  // invalid seeds are there for the fuzzer
    ++valid;
    std::string canonical = first->toString();
    auto second = Filter::parse(canonical);
    ASSERT_TRUE(second.ok()) << text << " -> " << canonical << ": " << second.error().message;
    EXPECT_EQ(second->toString(), canonical) << text;
    EXPECT_EQ(second->keys(), first->keys()) << text;
    for (const Values& values : sampleCandidates()) {
      Candidate c{values, {}};
      EXPECT_EQ(first->matches(c.lookup()), second->matches(c.lookup())) << text << " vs " << canonical;
    }
  }
  EXPECT_GE(valid, 20u);
}

TEST(FilterRoundTrip, CanonicalFormExamples) {
  EXPECT_EQ(parseOk("(a=\\2A)").toString(), "(a=\\2a)");
  EXPECT_EQ(parseOk("(a=\\41)").toString(), "(a=A)");
  EXPECT_EQ(parseOk("(a=x\\0ay)").toString(), "(a=x\\0ay)");
  EXPECT_EQ(parseOk("(a=x\\7fy)").toString(), "(a=x\\7fy)");
  EXPECT_EQ(parseOk("(a~= 1 )").toString(), "(a~= 1 )");
  EXPECT_EQ(parseOk("(|(a<=1)(b>=2)(c~=3)(d=*)(e=f*g*h))").toString(), "(|(a<=1)(b>=2)(c~=3)(d=*)(e=f*g*h))");
}

}  // namespace
}  // namespace gatehouse::core::filter
