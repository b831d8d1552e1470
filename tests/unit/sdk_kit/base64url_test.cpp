// base64url (kit codec.h): RFC 4648 test vectors (section 10, in the URL alphabet without padding)
// and the strict rejections JOSE relies on for a single canonical encoding. Moved here from
// tests/unit/oauth2 with the decoder security/oauth2 used to have.

#include <gtest/gtest.h>

#include <string>

#include "gatehouse/kit/codec.h"

namespace gatehouse::kit {
namespace {

TEST(Base64Url, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64UrlEncode(plain), encoded);
    auto decoded = base64UrlDecode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64Url, UsesTheUrlAlphabet) {
  std::string bytes = "\xfb\xff\xbf";  // encodes to characters 62 and 63 only
  EXPECT_EQ(base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(*base64UrlDecode("-_-_"), bytes);
}

TEST(Base64Url, RoundTripsEveryByteAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len = 0; len <= all.size(); ++len) {
    std::string part = all.substr(all.size() - len);
    std::string enc = base64UrlEncode(part);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    EXPECT_NE(enc.size() % 4, 1u);
    auto dec = base64UrlDecode(enc);
    ASSERT_TRUE(dec) << len;
    EXPECT_EQ(*dec, part);
  }
}

TEST(Base64Url, RejectsPaddingStandardAlphabetAndWhitespace) {
  for (const char* bad : {"Zg==", "Zg=", "Zm8=", "Zm9v====", "+w", "/w", "Zm9v\n", " Zm9v", "Zm 9v", "Zm9v\r",
                          "Zm9v\t", "Zm.9v", "Zm9v\xc3\xa9", "%41"}) {
    EXPECT_FALSE(base64UrlDecode(bad)) << bad;
  }
  EXPECT_FALSE(base64UrlDecode(std::string("Zm\0v", 4)));
}

TEST(Base64Url, RejectsImpossibleLength) {
  for (const char* bad : {"Z", "Zm9vY", "Zm9vYmFyZ"}) EXPECT_FALSE(base64UrlDecode(bad)) << bad;
}

TEST(Base64Url, RejectsNonZeroTrailingBits) {
  // "Zg" is canonical for "f"; "Zh".."Zv" decode to the same byte with stray low bits set.
  EXPECT_TRUE(base64UrlDecode("Zg"));
  for (const char* bad : {"Zh", "Zi", "Zv", "Zm9", "Zm-"}) EXPECT_FALSE(base64UrlDecode(bad)) << bad;
  EXPECT_TRUE(base64UrlDecode("Zm8"));
  // Every non-canonical last character of a 2- and 3-character group is refused.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  int accepted2 = 0, accepted3 = 0;
  for (char c : alphabet) {
    accepted2 += base64UrlDecode(std::string("A") + c).ok();
    accepted3 += base64UrlDecode(std::string("AA") + c).ok();
  }
  EXPECT_EQ(accepted2, 4);   // low 4 bits zero: A, Q, g, w
  EXPECT_EQ(accepted3, 16);  // low 2 bits zero
}

TEST(Base64Url, DecodeIntoAgreesWithDecodeAndRespectsCapacity) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  unsigned char buf[260];
  for (std::size_t len = 0; len <= all.size(); ++len) {
    const std::string part = all.substr(all.size() - len);
    const std::string enc = base64UrlEncode(part);
    auto size = base64UrlDecodeInto(enc, buf, sizeof buf);
    ASSERT_TRUE(size) << len;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), *size), part);
    if (len > 0) {
      EXPECT_FALSE(base64UrlDecodeInto(enc, buf, len - 1)) << "capacity " << len - 1;
    }
    EXPECT_TRUE(base64UrlDecodeInto(enc, buf, len)) << "capacity " << len;
  }
  for (const char* bad : {"Zg==", "+w", "Zm9v\n", "Z", "Zh", "Zm9", "Zm-"}) {
    EXPECT_FALSE(base64UrlDecodeInto(bad, buf, sizeof buf)) << bad;
  }
}

}  // namespace
}  // namespace gatehouse::kit
