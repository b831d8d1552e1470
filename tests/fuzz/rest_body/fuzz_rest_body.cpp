// Fuzzes the REST JSON body parsers (SET, ACT, snapshot): any bytes must give a value or a
// BadRequest, never a crash, a hang or an unbounded allocation.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rest/json_body.h"

using namespace gatehouse::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto set = rest::parseSetBody(body);
  if (set.ok()) {
    (void)set->toJson();
  } else if (set.error().code != ErrorCode::BadRequest || set.error().message.empty()) {
    std::abort();
  }
  auto act = rest::parseActBody(body);
  if (act.ok()) {
    for (const auto& p : *act) (void)p.value.toJson();
  } else if (act.error().code != ErrorCode::BadRequest) {
    std::abort();
  }
  auto snap = rest::parseSnapshotBody(body);
  if (!snap.ok() && snap.error().code != ErrorCode::BadRequest) std::abort();
  return 0;
}
