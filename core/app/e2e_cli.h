#pragma once
// `gatehouse e2e authority init|enroll|revoke`, `keygen`, `publish`, `subscribe`
// (docs/e2e-protocol.md; security/e2e/README.md shows a session). Main thread of a short-lived process.

#include <string_view>
#include <vector>

namespace gatehouse::app {

// args[0] is "e2e". Returns the process exit code (0 ok, 1 failure, 2 usage).
int e2eCommand(const std::vector<std::string_view>& args);

}  // namespace gatehouse::app
