// Keeps docs/openapi.json true: every route the router serves, with every method, is documented,
// and the document names no route the router does not have.
#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "rest/rest_api.h"

using namespace gatehouse::core::rest;

TEST(OpenApi, DocumentParsesAsOpenApi31) {
  Poco::JSON::Parser parser;
  auto root = parser.parse(std::string(openApiDocument())).extract<Poco::JSON::Object::Ptr>();
  ASSERT_TRUE(root);
  EXPECT_EQ(root->getValue<std::string>("openapi"), "3.1.0");
  EXPECT_TRUE(root->has("info"));
}

TEST(OpenApi, EveryRouteAndMethodIsDocumentedAndNothingElse) {
  Poco::JSON::Parser parser;
  auto root = parser.parse(std::string(openApiDocument())).extract<Poco::JSON::Object::Ptr>();
  auto paths = root->getObject("paths");
  ASSERT_TRUE(paths);
  std::set<std::string> routed;
  for (const auto& route : routeTable()) {
    routed.insert(route.pattern);
    ASSERT_TRUE(paths->has(route.pattern)) << "route missing from docs/openapi.json: " << route.pattern;
    auto item = paths->getObject(route.pattern);
    std::istringstream methods(route.methods);
    std::string m;
    while (methods >> m) {
      if (m == "HEAD") continue;   // implied by GET
      std::string lower = m;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      EXPECT_TRUE(item->has(lower)) << route.pattern << " has no '" << lower << "' operation in docs/openapi.json";
    }
  }
  for (const auto& [path, item] : *paths) {
    EXPECT_TRUE(routed.count(path)) << "docs/openapi.json documents a route the router does not serve: " << path;
  }
}
