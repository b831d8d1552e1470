// Fuzzes inspectElf (the B10 check of a plugin image) with arbitrary bytes. Besides "no crash,
// no out-of-bounds read" (ASan), an accepted image must only list plain DT_NEEDED names, and a
// refusal must be a BadRequest saying "ELF: ...".

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "signing/elf_inspect.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "elf_dynamic: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A copy of exactly `size` bytes, so that any read past the end is caught by ASan.
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto r = gatehouse::core::signing::inspectElf(bytes);
  if (!r.ok()) {
    if (r.error().code != gatehouse::core::ErrorCode::BadRequest || r.error().message.rfind("ELF: ", 0) != 0) {
      fail("unexpected error shape", r.error().message);
    }
    return 0;
  }
  for (const std::string& name : r->needed) {
    if (name.empty() || name.find_first_of("/$") != std::string::npos || name.find('\0') != std::string::npos) {
      fail("accepted a DT_NEEDED name that is not a plain library name", name);
    }
  }
  return 0;
}
