// The manifest (line 1) and the .sig file: canonical output, and every strictness rule of the
// parser (the format is fixed in signing/signing.h).

#include "signing/manifest.h"

#include <gtest/gtest.h>

#include "signing/crypto.h"

namespace gatehouse::core::signing {
namespace {

const std::string kSha = std::string(64, 'a');

Manifest sample() {
  Manifest m;
  m.name = "sim";
  m.version = "1.2.0";
  m.abi = "1.0";
  m.sha256Hex = kSha;
  m.size = 12345;
  m.keyId = "0123456789abcdef";
  m.notAfterText = "2027-12-01T00:00:00Z";
  return m;
}

// The canonical line with one key's raw JSON value replaced.
std::string lineWith(const std::string& key, const std::string& rawValue) {
  std::string line = serializeManifest(sample());
  const std::string needle = "\"" + key + "\":";
  const std::size_t at = line.find(needle);
  EXPECT_NE(at, std::string::npos) << key;
  const std::size_t start = at + needle.size();
  std::size_t end = start;
  if (line[start] == '"') {
    end = line.find('"', start + 1) + 1;
  } else {
    while (line[end] != ',' && line[end] != '}') ++end;
  }
  return line.substr(0, start) + rawValue + line.substr(end);
}

void expectRefused(const std::string& line, const std::string& expected) {
  auto r = parseManifest(line);
  ASSERT_FALSE(r.ok()) << "accepted: " << line;
  EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
  EXPECT_EQ(r.error().message.rfind("manifest: ", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find(expected), std::string::npos)
      << "input: " << line << "\nmessage: " << r.error().message << "\nexpected to contain: " << expected;
}

TEST(Manifest, SerializesInTheFixedCanonicalForm) {
  EXPECT_EQ(serializeManifest(sample()),
            "{\"format\":1,\"name\":\"sim\",\"version\":\"1.2.0\",\"abi\":\"1.0\",\"sha256\":\"" + kSha +
                "\",\"size\":12345,\"key_id\":\"0123456789abcdef\",\"not_after\":\"2027-12-01T00:00:00Z\"}");
}

TEST(Manifest, ParsesWhatItSerializes) {
  auto m = parseManifest(serializeManifest(sample()));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->format, 1);
  EXPECT_EQ(m->name, "sim");
  EXPECT_EQ(m->version, "1.2.0");
  EXPECT_EQ(m->abi, "1.0");
  EXPECT_EQ(m->sha256Hex, kSha);
  EXPECT_EQ(m->size, 12345u);
  EXPECT_EQ(m->keyId, "0123456789abcdef");
  EXPECT_EQ(m->notAfterText, "2027-12-01T00:00:00Z");
  EXPECT_EQ(m->notAfter, *parseUtcTimestamp("2027-12-01T00:00:00Z"));
  EXPECT_EQ(serializeManifest(*m), serializeManifest(sample()));
}

TEST(Manifest, NotAfterIsFormattedFromEpochWhenNoTextIsSet) {
  Manifest m = sample();
  m.notAfterText.clear();
  m.notAfter = *parseUtcTimestamp("2030-06-15T12:34:56Z");
  auto parsed = parseManifest(serializeManifest(m));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->notAfterText, "2030-06-15T12:34:56Z");
}

TEST(Manifest, AcceptsJsonSpacingKeyOrderAndSimpleEscapes) {
  const std::string spaced =
      "{ \"not_after\" : \"2027-12-01T00:00:00Z\" ,\t\"key_id\":\"0123456789abcdef\", \"size\":0, \"sha256\":\"" + kSha +
      "\", \"abi\":\"1.0\", \"version\":\"1.2.0-rc.1\", \"n\\u0061me\":\"x\" }";
  // \u escapes are refused even in keys ...
  expectRefused(spaced, "unsupported escape");
  // ... but the three harmless ones are decoded (here into a key that then is unknown).
  expectRefused("{\"n\\/ame\":\"x\"}", "unknown key \"n/ame\"");
  const std::string ok =
      "{ \"not_after\" : \"2027-12-01T00:00:00Z\" ,\t\"key_id\":\"0123456789abcdef\", \"size\":0, \"sha256\":\"" + kSha +
      "\", \"abi\":\"1.0\", \"version\":\"1.2.0-rc.1\", \"name\":\"x\", \"format\":1 }";
  auto m = parseManifest(ok);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->version, "1.2.0-rc.1");
  EXPECT_EQ(m->size, 0u);
}

TEST(Manifest, RefusesDuplicateMissingAndExtraKeys) {
  const std::string line = serializeManifest(sample());
  expectRefused(line.substr(0, line.size() - 1) + ",\"name\":\"other\"}", "duplicate key \"name\"");
  expectRefused("{\"format\":1,\"format\":1}", "duplicate key \"format\"");
  expectRefused(line.substr(0, line.size() - 1) + ",\"extra\":\"x\"}", "unknown key \"extra\"");
  for (const char* key : {"format", "name", "version", "abi", "sha256", "size", "key_id", "not_after"}) {
    // Remove the key and its value (and one comma).
    std::string without = lineWith(key, "");
    const std::string needle = std::string("\"") + key + "\":";
    const std::size_t at = without.find(needle);
    without.erase(at, needle.size());
    if (without[at] == ',') {
      without.erase(at, 1);
    } else {
      without.erase(at - 1, 1);
    }
    expectRefused(without, std::string("missing key \"") + key + "\"");
  }
  expectRefused("{}", "missing key \"format\"");
}

TEST(Manifest, RefusesWrongTypesAndNesting) {
  expectRefused(lineWith("format", "\"1\""), "\"format\" must be the integer 1");
  expectRefused(lineWith("format", "2"), "\"format\" must be the integer 1");
  expectRefused(lineWith("format", "1.0"), "\"format\" must be the integer 1");
  expectRefused(lineWith("format", "1e0"), "\"format\" must be the integer 1");
  for (const char* size : {"-1", "1.5", "012", "\"12\"", "1e3", "18446744073709551616", "-0"}) {
    expectRefused(lineWith("size", size), "\"size\" must be a non-negative integer");
  }
  EXPECT_EQ(parseManifest(lineWith("size", "18446744073709551615"))->size, 18446744073709551615u);
  expectRefused(lineWith("name", "7"), "\"name\" must be a string");
  expectRefused(lineWith("name", "{\"a\":1}"), "nested objects and arrays are not allowed");
  expectRefused(lineWith("abi", "[\"1.0\"]"), "nested objects and arrays are not allowed");
  expectRefused(lineWith("name", "true"), "unsupported value");
  expectRefused(lineWith("name", "null"), "unsupported value");
}

TEST(Manifest, RefusesFieldsNotMatchingTheirFormat) {
  for (const char* name : {"\"Sim\"", "\"\"", "\"a/b\"", "\"a b\"", "\"a.b\""}) expectRefused(lineWith("name", name), "\"name\"");
  expectRefused(lineWith("name", "\"" + std::string(65, 'a') + "\""), "\"name\"");
  EXPECT_TRUE(parseManifest(lineWith("name", "\"" + std::string(64, 'a') + "\"")).ok());
  EXPECT_TRUE(parseManifest(lineWith("name", "\"a-b_c9\"")).ok());

  for (const char* v : {"\"1.2\"", "\"01.2.3\"", "\"1.2.3+build\"", "\"1.2.3-\"", "\"1.2.3-01\"", "\"1.2.3-a..b\"", "\"v1.2.3\""}) {
    expectRefused(lineWith("version", v), "\"version\"");
  }
  for (const char* abi : {"\"1\"", "\"1.0.0\"", "\"01.0\"", "\"a.b\"", "\"1.\"", "\".1\""}) expectRefused(lineWith("abi", abi), "\"abi\"");

  expectRefused(lineWith("sha256", "\"" + std::string(64, 'A') + "\""), "\"sha256\" must be 64 lowercase hex");
  expectRefused(lineWith("sha256", "\"" + std::string(63, 'a') + "\""), "\"sha256\" must be 64 lowercase hex");
  expectRefused(lineWith("sha256", "\"" + std::string(63, 'a') + "g\""), "\"sha256\" must be 64 lowercase hex");
  expectRefused(lineWith("key_id", "\"0123456789abcde\""), "\"key_id\" must be 16 lowercase hex");
  expectRefused(lineWith("key_id", "\"0123456789ABCDEF\""), "\"key_id\" must be 16 lowercase hex");
}

TEST(Manifest, RefusesBadDates) {
  for (const char* date : {"2027-02-30T00:00:00Z", "2027-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2027-13-01T00:00:00Z",
                           "2027-00-01T00:00:00Z", "2027-04-31T00:00:00Z", "2027-12-00T00:00:00Z", "2027-12-01T24:00:00Z",
                           "2027-12-01T00:60:00Z", "2027-12-01T00:00:60Z", "2027-12-01 00:00:00Z", "2027-12-01T00:00:00",
                           "2027-12-01T00:00:00+00:00", "2027-12-01T00:00:00.5Z", "2027-12-01t00:00:00z", "1969-12-31T23:59:59Z",
                           "27-12-01T00:00:00Z", "2027-1-01T00:00:00Z"}) {
    expectRefused(lineWith("not_after", std::string("\"") + date + "\""), "\"not_after\"");
  }
  for (const char* date : {"2028-02-29T00:00:00Z", "2000-02-29T23:59:59Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z"}) {
    auto m = parseManifest(lineWith("not_after", std::string("\"") + date + "\""));
    ASSERT_TRUE(m.ok()) << date << ": " << m.error().message;
    EXPECT_EQ(formatUtcTimestamp(m->notAfter), date);
  }
}

TEST(Manifest, TimestampsConvertToEpochSeconds) {
  EXPECT_EQ(parseUtcTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseUtcTimestamp("1970-01-02T00:00:01Z"), 86401);
  // 2000-01-01 is 10957 days after the epoch; + 31 (Jan) + 29 (Feb, leap year).
  EXPECT_EQ(parseUtcTimestamp("2000-03-01T00:00:00Z"), (10957 + 60) * 86400LL);
  EXPECT_EQ(*parseUtcTimestamp("2027-12-01T00:00:01Z") - *parseUtcTimestamp("2027-11-30T23:59:59Z"), 2);
  EXPECT_EQ(formatUtcTimestamp(-1), "");
}

TEST(Manifest, RefusesMalformedJson) {
  const std::string line = serializeManifest(sample());
  expectRefused("", "expected '{'");
  expectRefused("[]", "expected '{'");
  expectRefused("\"sim\"", "expected '{'");
  expectRefused(line + "x", "unexpected bytes after the closing '}'");
  expectRefused(line + "}", "unexpected bytes after the closing '}'");
  expectRefused(line + " {}", "unexpected bytes after the closing '}'");
  expectRefused(line.substr(0, line.size() - 1), "expected ',' or '}'");
  expectRefused("{\"format\" 1}", "expected ':'");
  expectRefused("{\"format\":1 \"name\":\"x\"}", "expected ',' or '}'");
  expectRefused("{\"format\":1,}", "expected a key");
  expectRefused("{format:1}", "expected a key");
  expectRefused("{\"name\":\"si", "unterminated string");
  expectRefused(lineWith("name", "\"s\\nim\""), "unsupported escape");
  expectRefused(lineWith("name", "\"s\\u0069m\""), "unsupported escape");
  expectRefused(lineWith("name", "\"s\tim\""), "control or non-ASCII byte");
  expectRefused(lineWith("name", "\"s\xc3\xa9m\""), "control or non-ASCII byte");
  expectRefused(lineWith("name", std::string("\"s\0m\"", 5)), "control or non-ASCII byte");
  expectRefused(line + "\n", "unexpected bytes after the closing '}'");
  expectRefused(std::string(5000, ' '), "longer than 4096 bytes");
}

TEST(Manifest, OffsetsPointAtTheProblem) {
  auto r = parseManifest("{\"format\":1,\"format\":1}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("at offset 12"), std::string::npos) << r.error().message;
}

// ---- the .sig file ---------------------------------------------------------------------------

std::string sigLine() { return base64Encode(std::string(64, '\x5a')); }

TEST(SignatureFile, ParsesBothLinesWithOrWithoutFinalNewline) {
  const std::string line = serializeManifest(sample());
  for (const std::string& text : {line + "\n" + sigLine() + "\n", line + "\n" + sigLine()}) {
    auto f = parseSignatureFile(text);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->manifestLine, line);
    EXPECT_EQ(f->manifest.name, "sim");
    EXPECT_EQ(f->signature, std::string(64, '\x5a'));
  }
}

TEST(SignatureFile, WriteThenParseRoundTrips) {
  const PrivateKey key = *PrivateKey::generate();
  const std::string line = serializeManifest(sample());
  const std::string text = writeSignatureFile(line, key.sign(line));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  auto f = parseSignatureFile(text);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->manifestLine, line);
  EXPECT_TRUE(key.publicKey().verify(f->manifestLine, f->signature));
}

TEST(SignatureFile, RefusesEverythingElse) {
  const std::string line = serializeManifest(sample());
  auto refused = [](const std::string& text, const std::string& expected) {
    auto f = parseSignatureFile(text);
    ASSERT_FALSE(f.ok()) << "accepted: " << text;
    EXPECT_NE(f.error().message.find(expected), std::string::npos) << f.error().message << "\nexpected: " << expected;
  };
  refused(line, "expected two lines");
  refused("", "expected two lines");
  refused(line + "\r\n" + sigLine() + "\n", "carriage return");
  refused(line + "\n" + sigLine() + "\r\n", "carriage return");
  refused(line + "\n" + sigLine() + "\n\n", "unexpected bytes after the signature line");
  refused(line + "\n" + sigLine() + "\nextra", "unexpected bytes after the signature line");
  refused(line + "\n" + sigLine() + "\n" + sigLine() + "\n", "unexpected bytes after the signature line");
  refused(line + "\n\n", "line 2: the signature is 0 bytes");
  refused(line + "\n" + sigLine().substr(1) + "\n", "line 2: invalid base64");
  refused(line + "\n" + "!" + sigLine().substr(1) + "\n", "line 2: invalid base64");
  refused(line + "\n " + sigLine() + "\n", "line 2: invalid base64");
  refused(line + "\n" + base64Encode(std::string(63, 'x')) + "\n", "the signature is 63 bytes");
  refused(line + "\n" + base64Encode(std::string(65, 'x')) + "\n", "the signature is 65 bytes");
  refused(line + "x\n" + sigLine() + "\n", "line 1: manifest: unexpected bytes");
  refused(lineWith("name", "\"A\"") + "\n" + sigLine() + "\n", "line 1: manifest: \"name\"");

  auto big = parseSignatureFile(line + "\n" + sigLine() + std::string(4096, '\n'));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::TooLarge);
}

}  // namespace
}  // namespace gatehouse::core::signing
