#pragma once
// Checks a plugin image (the bytes of a SealedImage) before dlopen (B10): it must be a shared
// object for this machine that carries no library search path, so it cannot pull in an
// unsigned library from next to itself. The bytes are untrusted: every read is bounds-checked
// (fuzzed by tests/fuzz/elf_dynamic).
//
// Threads: a pure function; any thread.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace gatehouse::core::signing {

struct ElfInfo {
  std::vector<std::string> needed;   // DT_NEEDED names, in order
  // The dynamic section has a symbol table (DT_SYMTAB) and a hash table (DT_HASH or
  // DT_GNU_HASH): what dlsym() needs to find the plugin's entry symbol.
  bool hasEntrySymbolTable = true;
};

// Requires ELF64, little-endian, this host's machine (EM_X86_64 / EM_AARCH64), ET_DYN; PT_LOAD
// segments inside the file, ascending and not overlapping; exactly one PT_DYNAMIC, inside a
// PT_LOAD at the same offset the loader will see, ending in DT_NULL; at most one DT_STRTAB,
// DT_STRSZ, DT_SYMTAB; the string table (DT_STRTAB mapped through PT_LOAD) inside the file.
// Refuses DT_RPATH / DT_RUNPATH ("has RUNPATH '$ORIGIN/lib'; plugins may not carry a library
// search path") and DT_NEEDED names containing '/' or '$' (which the loader would take as a
// path, e.g. "$ORIGIN/libx.so": the same hole). BadRequest with a message starting "ELF: ".
Result<ElfInfo> inspectElf(std::string_view bytes);

}  // namespace gatehouse::core::signing
