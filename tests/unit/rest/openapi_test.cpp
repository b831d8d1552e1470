// Keeps docs/openapi.json true: every route the router serves, with every method, is documented,
// and the document names no route the router does not have. Read with the kit's strict reader, so
// the document also has no duplicate keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "gatehouse/kit/json.h"
#include "rest/rest_api.h"

using namespace gatehouse::core::rest;
using gatehouse::kit::Json;

namespace {
Json openApi() {
  auto doc = gatehouse::kit::parseJson(openApiDocument(), gatehouse::kit::JsonLimits{1 << 20, 64});
  EXPECT_TRUE(doc) << doc.message();
  return doc ? *doc : Json{};
}
}  // namespace

TEST(OpenApi, DocumentParsesAsOpenApi31) {
  const Json root = openApi();
  ASSERT_TRUE(root.isObject());
  ASSERT_NE(root.find("openapi"), nullptr);
  EXPECT_EQ(root.find("openapi")->text, "3.1.0");
  EXPECT_NE(root.find("info"), nullptr);
}

TEST(OpenApi, EveryRouteAndMethodIsDocumentedAndNothingElse) {
  const Json root = openApi();
  const Json* paths = root.find("paths");
  ASSERT_TRUE(paths != nullptr && paths->isObject());
  std::set<std::string> routed;
  for (const auto& route : routeTable()) {
    routed.insert(route.pattern);
    const Json* item = paths->find(route.pattern);
    ASSERT_TRUE(item != nullptr) << "route missing from docs/openapi.json: " << route.pattern;
    std::istringstream methods(route.methods);
    std::string m;
    while (methods >> m) {
      if (m == "HEAD") continue;   // implied by GET
      std::string lower = m;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      EXPECT_TRUE(item->find(lower) != nullptr) << route.pattern << " has no '" << lower << "' operation in docs/openapi.json";
    }
  }
  for (const auto& [path, item] : paths->members) {
    EXPECT_TRUE(routed.count(path)) << "docs/openapi.json documents a route the router does not serve: " << path;
  }
}
