file(READ ${IN} content)
file(WRITE ${OUT} "// Generated from docs/openapi.json; do not edit.\n#include <string_view>\nnamespace gatehouse::core::rest {\nstd::string_view openApiDocument() {\n  static constexpr std::string_view doc = R\"gh_openapi(${content})gh_openapi\";\n  return doc;\n}\n}  // namespace gatehouse::core::rest\n")
