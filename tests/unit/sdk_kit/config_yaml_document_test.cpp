// Size and nesting caps applied before yaml-cpp parses, and how parse failures are reported.
#include "gatehouse/kit/config/yaml_document.h"

#include <gtest/gtest.h>

namespace gatehouse::kit::config {
namespace {

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// A block mapping nested `depth` levels: a:\n  a:\n    a: ... 1
std::string blockMaps(int depth) {
  std::string out;
  for (int i = 0; i < depth; ++i) out += std::string(static_cast<std::size_t>(2 * i), ' ') + "a:" + (i + 1 == depth ? " 1\n" : "\n");
  return out;
}

TEST(YamlDocument, FlowNestingUpToTheLimitIsAcceptedAndParses) {
  // A mapping holding 63 nested lists: 64 levels.
  const std::string ok = "x: " + repeat("[", 63) + repeat("]", 63);
  EXPECT_FALSE(findNestingBeyond(ok, 64).has_value());
  Diagnostics d;
  EXPECT_TRUE(parseYamlDocument(ok, YamlLimits{}, d).has_value()) << d.format("f");
}

TEST(YamlDocument, FlowNestingBeyondTheLimitIsRefusedWithPosition) {
  const std::string deep = "x: " + repeat("[", 65) + repeat("]", 65);
  const auto at = findNestingBeyond(deep, 64);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->line, 1);
  EXPECT_EQ(at->column, 4 + 63);   // the 64th bracket, as the mapping is level one
  Diagnostics d;
  EXPECT_FALSE(parseYamlDocument(deep, YamlLimits{}, d).has_value());
  EXPECT_EQ(d.format("f.yaml"), "f.yaml:1:67: nesting is deeper than 64 levels; a configuration never needs that");
}

TEST(YamlDocument, HugeNestingIsRefusedBeforeParsing) {
  // yaml-cpp would recurse once per bracket; this must come back quickly with one clean error.
  for (const std::string& deep : {repeat("[", 100000), repeat("{a: ", 50000), repeat("- ", 50000) + "x"}) {
    Diagnostics d;
    EXPECT_FALSE(parseYamlDocument(deep, YamlLimits{}, d).has_value());
    ASSERT_EQ(d.total(), 1u);
    EXPECT_NE(d.items()[0].message.find("nesting is deeper than 64"), std::string::npos);
  }
}

TEST(YamlDocument, BlockIndentationCountsAsNesting) {
  EXPECT_FALSE(findNestingBeyond(blockMaps(64), 64).has_value());
  const auto at = findNestingBeyond(blockMaps(65), 64);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->line, 65);
  EXPECT_EQ(at->column, 129);
  Diagnostics d;
  EXPECT_TRUE(parseYamlDocument(blockMaps(64), YamlLimits{}, d).has_value()) << d.format("f");
}

TEST(YamlDocument, SequenceDashesOnOneLineNest) {
  EXPECT_TRUE(findNestingBeyond(repeat("- ", 65) + "x", 64).has_value());
  EXPECT_FALSE(findNestingBeyond(repeat("- ", 20) + "x", 64).has_value());
  // A long flat list is not deep.
  EXPECT_FALSE(findNestingBeyond(repeat("- item\n", 1000), 64).has_value());
}

TEST(YamlDocument, BracketsInTextDoNotCount) {
  const std::string brackets = repeat("[", 100);
  const std::string texts[] = {
      "a: \"" + brackets + "\"\n",                   // double-quoted
      "a: '" + brackets + "'\n",                     // single-quoted
      "a: x" + brackets + "\n",                      // inside a plain scalar
      "a: 1 # " + brackets + "\n",                   // comment
      "# " + brackets + "\n",                        // comment line
      "a: |\n  " + brackets + "\n  more\nb: 1\n",    // literal block scalar
      "a: >-\n  " + brackets + "\nb: 1\n",           // folded block scalar
      "a: \"x\\\"" + brackets + "\"\n",              // escaped quote inside double quotes
      "a: 'it''s " + brackets + "'\n",               // doubled quote inside single quotes
      "a: \"multi\n  line " + brackets + "\"\n",     // quoted scalar over two lines
  };
  for (const auto& text : texts) {
    EXPECT_FALSE(findNestingBeyond(text, 64).has_value()) << text;
    Diagnostics d;
    EXPECT_TRUE(parseYamlDocument(text, YamlLimits{}, d).has_value()) << text << "\n" << d.format("f");
  }
}

TEST(YamlDocument, ScannerSurvivesOddInput) {
  // Unterminated quotes, stray closers, CRLF, NULs: no crash, no false alarm for shallow text.
  for (const std::string& text : {std::string("a: \"open\n"), std::string("]]]}}}"), std::string("a:\r\n  b: 1\r\n"),
                                 std::string("a\0b: [1]", 8), std::string("\\"), std::string("- \"x\\")}) {
    EXPECT_FALSE(findNestingBeyond(text, 64).has_value()) << text;
  }
}

TEST(YamlDocument, SizeCapIsInclusive) {
  YamlLimits limits;
  limits.maxBytes = 64;
  Diagnostics ok;
  EXPECT_TRUE(parseYamlDocument("a: 1\n#" + std::string(58, 'x'), limits, ok).has_value());
  Diagnostics tooBig;
  EXPECT_FALSE(parseYamlDocument("a: 1\n#" + std::string(59, 'x'), limits, tooBig).has_value());
  EXPECT_EQ(tooBig.format("f.yaml"), "f.yaml: the file is 65 bytes; the limit is 64 bytes");
}

TEST(YamlDocument, EmptyAndCommentOnlyTextsAreNullDocuments) {
  for (const char* text : {"", "\n\n", "# just a comment\n", "---\n"}) {
    Diagnostics d;
    const auto node = parseYamlDocument(text, YamlLimits{}, d);
    ASSERT_TRUE(node.has_value()) << text;
    EXPECT_TRUE(node->IsNull()) << text;
    EXPECT_TRUE(d.empty());
  }
}

TEST(YamlDocument, SyntaxErrorsCarryTheParserPosition) {
  Diagnostics d;
  EXPECT_FALSE(parseYamlDocument("a: 1\nb: [1, 2\n", YamlLimits{}, d).has_value());
  EXPECT_EQ(d.format("f.yaml"), "f.yaml:3:1: YAML syntax error: end of sequence flow not found");
  Diagnostics d2;
  EXPECT_FALSE(parseYamlDocument("a: b: c\n", YamlLimits{}, d2).has_value());
  EXPECT_EQ(d2.format("f.yaml"), "f.yaml:1:5: YAML syntax error: illegal map value");
}

TEST(YamlDocument, ControlCharactersInParserMessagesAreEscaped) {
  // yaml-cpp quotes the offending byte in its message; it must not split the output line.
  Diagnostics d;
  EXPECT_FALSE(parseYamlDocument("a: \"\\\x01\"\n", YamlLimits{}, d).has_value());
  EXPECT_EQ(d.format("f.yaml"), "f.yaml:1:7: YAML syntax error: unknown escape character: \\x01");
}

TEST(YamlDocument, InputThatMakesYamlCppLoadAllLoopIsRefused) {
  // YAML::LoadAll never returns on these (found by fuzzing); we must answer, with an error.
  for (const std::string& text : {std::string(",?"), std::string(", ? a"), std::string(",\x14\0\0\0?.j.", 9)}) {
    Diagnostics d;
    EXPECT_FALSE(parseYamlDocument(text, YamlLimits{}, d).has_value());
    EXPECT_FALSE(d.empty());
  }
}

TEST(YamlDocument, MoreThanOneDocumentIsRefused) {
  Diagnostics d;
  EXPECT_FALSE(parseYamlDocument("a: 1\n---\nb: 2\n", YamlLimits{}, d).has_value());
  EXPECT_EQ(d.format("f.yaml"), "f.yaml:2:1: a second YAML document starts here; the configuration must be one document");
}

}  // namespace
}  // namespace gatehouse::kit::config
