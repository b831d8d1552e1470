// inspectElf on real shared objects (the fixtures built by this folder's CMakeLists.txt and the
// system's libz), on precisely damaged copies of them, and on every truncation.

#include "signing/elf_inspect.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "temp_dir.h"

namespace gatehouse::core::signing {
namespace {

std::string fixture(const char* path) {
  std::string bytes = testing::readFile(path);
  EXPECT_GT(bytes.size(), 1000u) << path;
  return bytes;
}

void expectRefused(std::string_view bytes, const std::string& expected) {
  auto r = inspectElf(bytes);
  ASSERT_FALSE(r.ok()) << "accepted; expected: " << expected;
  EXPECT_EQ(r.error().code, ErrorCode::BadRequest);
  EXPECT_EQ(r.error().message.rfind("ELF: ", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find(expected), std::string::npos) << r.error().message << "\nexpected: " << expected;
}

// The file offset of PT_DYNAMIC, found independently of the code under test.
std::size_t dynamicOffset(const std::string& bytes, std::size_t* count) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  for (std::size_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, bytes.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type == PT_DYNAMIC) {
      *count = ph.p_filesz / sizeof(Elf64_Dyn);
      return ph.p_offset;
    }
  }
  ADD_FAILURE() << "no PT_DYNAMIC";
  return 0;
}

// Rewrites the tag of the first dynamic entry with tag `from` (or of all of them) to `to`.
std::string retag(std::string bytes, std::int64_t from, std::int64_t to, bool all = false) {
  std::size_t count = 0;
  const std::size_t off = dynamicOffset(bytes, &count);
  bool done = false;
  for (std::size_t i = 0; i < count; ++i) {
    Elf64_Dyn d;
    std::memcpy(&d, bytes.data() + off + i * sizeof d, sizeof d);
    if (d.d_tag == from) {
      d.d_tag = to;
      std::memcpy(bytes.data() + off + i * sizeof d, &d, sizeof d);
      done = true;
      if (!all) break;
    }
  }
  EXPECT_TRUE(done) << "no dynamic tag " << from;
  return bytes;
}

TEST(InspectElf, AcceptsAPlainSharedObjectAndListsNeeded) {
  const std::string bytes = fixture(SIGNING_FIXTURE_PLAIN);
  auto info = inspectElf(bytes);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_NE(std::find(info->needed.begin(), info->needed.end(), "libc.so.6"), info->needed.end());
  EXPECT_TRUE(info->hasEntrySymbolTable);
}

TEST(InspectElf, AcceptsTheSystemLibz) {
  const char* path = "/usr/lib/x86_64-linux-gnu/libz.so.1";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not installed";
  auto info = inspectElf(testing::readFile(path));
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_NE(std::find(info->needed.begin(), info->needed.end(), "libc.so.6"), info->needed.end());
}

TEST(InspectElf, RefusesRunpathAndRpath) {
  expectRefused(fixture(SIGNING_FIXTURE_RUNPATH), "has RUNPATH '$ORIGIN/x'; plugins may not carry a library search path");
  expectRefused(fixture(SIGNING_FIXTURE_RPATH), "has RPATH '$ORIGIN/x'; plugins may not carry a library search path");
}

TEST(InspectElf, RefusesANeededPath) {
  std::string bytes = fixture(SIGNING_FIXTURE_PLAIN);
  // Same length, so every offset stays valid: DT_NEEDED now names a path.
  for (std::size_t at = bytes.find(std::string("libc.so.6\0", 10)); at != std::string::npos;
       at = bytes.find(std::string("libc.so.6\0", 10), at + 1)) {
    bytes.replace(at, 9, "/x/libc.6");
  }
  expectRefused(bytes, "needs '/x/libc.6', a path");
}

TEST(InspectElf, RefusesOtherKindsOfFile) {
  const std::string good = fixture(SIGNING_FIXTURE_PLAIN);
  auto patched = [&](std::size_t offset, const void* value, std::size_t size) {
    std::string b = good;
    std::memcpy(b.data() + offset, value, size);
    return b;
  };
  const std::uint16_t other = EM_RISCV;   // neither x86-64 nor AArch64
  expectRefused(patched(offsetof(Elf64_Ehdr, e_machine), &other, 2), "built for machine");
  const std::uint16_t exec = ET_EXEC;
  expectRefused(patched(offsetof(Elf64_Ehdr, e_type), &exec, 2), "not a shared object");
  const unsigned char class32 = ELFCLASS32, big = ELFDATA2MSB;
  expectRefused(patched(EI_CLASS, &class32, 1), "not a 64-bit ELF file");
  expectRefused(patched(EI_DATA, &big, 1), "not a little-endian ELF file");
  expectRefused(patched(0, "\x7f" "ELG", 4), "not an ELF file");
  const std::uint16_t noPh = 0;
  expectRefused(patched(offsetof(Elf64_Ehdr, e_phnum), &noPh, 2), "no usable program header table");
  const std::uint64_t farAway = 1ull << 62;
  expectRefused(patched(offsetof(Elf64_Ehdr, e_phoff), &farAway, 8), "program header table");
  expectRefused("#!/bin/sh\nexec evil\n", "too short");
  expectRefused(std::string(4096, '\0'), "not an ELF file");
}

TEST(InspectElf, RefusesAmbiguousDynamicSections) {
  const std::string good = fixture(SIGNING_FIXTURE_PLAIN);
  // A second DT_STRTAB could show this check one string table and the loader another.
  expectRefused(retag(good, DT_NEEDED, DT_STRTAB), "more than one DT_STRTAB");
  expectRefused(retag(good, DT_NEEDED, DT_STRSZ), "more than one DT_STRSZ");
  expectRefused(retag(good, DT_NULL, DT_DEBUG, true), "does not end with DT_NULL");
  // A RUNPATH entry pointing at the same string as DT_NEEDED: refused, value shown.
  expectRefused(retag(good, DT_NEEDED, DT_RUNPATH), "has RUNPATH 'libc.so.6'");
  auto noSymbols = inspectElf(retag(good, DT_SYMTAB, DT_DEBUG));
  ASSERT_TRUE(noSymbols.ok()) << noSymbols.error().message;
  EXPECT_FALSE(noSymbols->hasEntrySymbolTable);
}

TEST(InspectElf, EveryTruncationOfTheFirst4KiBIsAnError) {
  for (const char* path : {SIGNING_FIXTURE_PLAIN, SIGNING_FIXTURE_RUNPATH}) {
    const std::string bytes = fixture(path);
    const std::size_t limit = std::min<std::size_t>(4096, bytes.size());
    for (std::size_t n = 0; n < limit; ++n) {
      // A copy of exactly n bytes, so that ASan sees any read past the end.
      const std::string cut = bytes.substr(0, n);
      auto r = inspectElf(cut);
      ASSERT_FALSE(r.ok()) << path << " truncated to " << n << " bytes was accepted";
      ASSERT_EQ(r.error().message.rfind("ELF: ", 0), 0u) << r.error().message;
    }
  }
}

}  // namespace
}  // namespace gatehouse::core::signing
