#include "signing/elf_inspect.h"

#include <elf.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "signing/text_util.h"

namespace gatehouse::core::signing {

namespace {

#if defined(__x86_64__)
constexpr std::uint16_t kHostMachine = EM_X86_64;
constexpr const char* kHostMachineName = "x86-64";
#elif defined(__aarch64__)
constexpr std::uint16_t kHostMachine = EM_AARCH64;
constexpr const char* kHostMachineName = "AArch64";
#else
#error "inspectElf knows the ELF machine of x86-64 and AArch64 hosts only"
#endif
static_assert(std::endian::native == std::endian::little, "inspectElf reads ELF fields in host byte order");

constexpr std::size_t kMaxNeeded = 256;

Error elfError(const std::string& why) { return makeError(ErrorCode::BadRequest, "ELF: " + why); }

// True when [offset, offset + length) lies inside a buffer of `size` bytes (no overflow).
bool inside(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

template <typename T>
std::optional<T> readAt(std::string_view bytes, std::uint64_t offset) {
  if (!inside(offset, sizeof(T), bytes.size())) return std::nullopt;
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

struct Load {
  std::uint64_t vaddr, memsz, offset, filesz;
};

// The file offset holding [vaddr, vaddr + length) of the loaded image, if a PT_LOAD segment
// backs that whole range with file bytes (what the loader maps there).
std::optional<std::uint64_t> fileOffsetOf(const std::vector<Load>& loads, std::uint64_t vaddr, std::uint64_t length) {
  for (const Load& l : loads) {
    if (vaddr >= l.vaddr && inside(vaddr - l.vaddr, length, l.filesz)) return l.offset + (vaddr - l.vaddr);
  }
  return std::nullopt;
}

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// ELF has its own quoting convention in the messages the brief fixes: 'value'.
std::string singleQuoted(std::string_view s) {
  std::string q = detail::quoted(s, 200);
  q.front() = '\'';
  q.back() = '\'';
  return q;
}

}  // namespace

Result<ElfInfo> inspectElf(std::string_view bytes) {
  const auto eh = readAt<Elf64_Ehdr>(bytes, 0);
  if (!eh) return elfError("only " + std::to_string(bytes.size()) + " bytes, too short for an ELF64 header");
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) return elfError("not an ELF file (bad magic)");
  if (eh->e_ident[EI_CLASS] != ELFCLASS64) return elfError("not a 64-bit ELF file");
  if (eh->e_ident[EI_DATA] != ELFDATA2LSB) return elfError("not a little-endian ELF file");
  if (eh->e_ident[EI_VERSION] != EV_CURRENT) return elfError("unknown ELF version");
  if (eh->e_type != ET_DYN) return elfError("not a shared object (e_type " + std::to_string(eh->e_type) + ", expected ET_DYN)");
  if (eh->e_machine != kHostMachine) {
    return elfError("built for machine " + std::to_string(eh->e_machine) + ", not for this " + kHostMachineName + " host");
  }
  if (eh->e_phentsize != sizeof(Elf64_Phdr)) return elfError("unexpected program header size " + std::to_string(eh->e_phentsize));
  if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM) return elfError("no usable program header table");
  if (!inside(eh->e_phoff, std::uint64_t{eh->e_phnum} * sizeof(Elf64_Phdr), bytes.size())) {
    return elfError("program header table at " + hex(eh->e_phoff) + " lies outside the file");
  }

  std::vector<Load> loads;
  std::optional<Elf64_Phdr> dynamic;
  for (std::uint64_t i = 0; i < eh->e_phnum; ++i) {
    const auto ph = readAt<Elf64_Phdr>(bytes, eh->e_phoff + i * sizeof(Elf64_Phdr));
    if (!ph) return elfError("truncated program header");   // unreachable after the check above
    if (ph->p_type == PT_LOAD) {
      if (ph->p_filesz > ph->p_memsz || !inside(ph->p_offset, ph->p_filesz, bytes.size()) ||
          ph->p_vaddr > UINT64_MAX - ph->p_memsz) {
        return elfError("PT_LOAD segment " + std::to_string(i) + " lies outside the file (truncated?)");
      }
      // The loader maps segments in order; ascending, disjoint segments leave one meaning per address.
      if (!loads.empty() && ph->p_vaddr < loads.back().vaddr + loads.back().memsz) {
        return elfError("PT_LOAD segments overlap or are not in ascending order");
      }
      loads.push_back({ph->p_vaddr, ph->p_memsz, ph->p_offset, ph->p_filesz});
    } else if (ph->p_type == PT_DYNAMIC) {
      if (dynamic) return elfError("more than one PT_DYNAMIC segment");
      dynamic = *ph;
    }
  }
  if (!dynamic) return elfError("no PT_DYNAMIC segment; not a dynamically linked shared object");
  // The loader reads the dynamic section at its address, so that is where it is read here too.
  const auto dynOffset = fileOffsetOf(loads, dynamic->p_vaddr, dynamic->p_filesz);
  if (!dynOffset || *dynOffset != dynamic->p_offset) {
    return elfError("PT_DYNAMIC is not backed by a PT_LOAD segment at its file offset");
  }

  std::optional<std::uint64_t> strtab, strsz;
  std::optional<std::uint64_t> rpath, runpath;
  std::vector<std::uint64_t> neededOffsets;
  bool symtab = false, hashTable = false, terminated = false;
  const std::uint64_t count = dynamic->p_filesz / sizeof(Elf64_Dyn);
  for (std::uint64_t i = 0; i < count && !terminated; ++i) {
    const auto d = readAt<Elf64_Dyn>(bytes, *dynOffset + i * sizeof(Elf64_Dyn));
    if (!d) return elfError("truncated dynamic section");
    auto once = [&](std::optional<std::uint64_t>& slot) {
      if (slot) return false;
      slot = d->d_un.d_val;
      return true;
    };
    switch (d->d_tag) {
      case DT_NULL: terminated = true; break;
      case DT_NEEDED:
        if (neededOffsets.size() == kMaxNeeded) return elfError("more than " + std::to_string(kMaxNeeded) + " DT_NEEDED entries");
        neededOffsets.push_back(d->d_un.d_val);
        break;
      // A second entry would let this check read one table while the loader uses another.
      case DT_STRTAB:
        if (!once(strtab)) return elfError("more than one DT_STRTAB");
        break;
      case DT_STRSZ:
        if (!once(strsz)) return elfError("more than one DT_STRSZ");
        break;
      case DT_RPATH:
        if (!rpath) rpath = d->d_un.d_val;
        break;
      case DT_RUNPATH:
        if (!runpath) runpath = d->d_un.d_val;
        break;
      case DT_SYMTAB:
        if (symtab) return elfError("more than one DT_SYMTAB");
        symtab = true;
        break;
      case DT_HASH:
      case DT_GNU_HASH: hashTable = true; break;
      default: break;
    }
  }
  if (!terminated) return elfError("dynamic section does not end with DT_NULL");

  ElfInfo info;
  info.hasEntrySymbolTable = symtab && hashTable;
  if (neededOffsets.empty() && !rpath && !runpath) return info;
  if (!strtab || !strsz) return elfError("DT_NEEDED/DT_RPATH/DT_RUNPATH without a string table (DT_STRTAB, DT_STRSZ)");
  const auto strOffset = fileOffsetOf(loads, *strtab, *strsz);
  if (!strOffset) return elfError("string table at " + hex(*strtab) + " (" + std::to_string(*strsz) + " bytes) is outside the loaded file bytes");
  const std::string_view table = bytes.substr(static_cast<std::size_t>(*strOffset), static_cast<std::size_t>(*strsz));

  auto stringAt = [&](std::uint64_t offset) -> std::optional<std::string_view> {
    if (offset >= table.size()) return std::nullopt;
    const std::size_t end = table.find('\0', static_cast<std::size_t>(offset));
    if (end == std::string_view::npos) return std::nullopt;
    return table.substr(static_cast<std::size_t>(offset), end - static_cast<std::size_t>(offset));
  };
  for (const auto& [slot, label] : {std::pair{rpath, "RPATH"}, std::pair{runpath, "RUNPATH"}}) {
    if (!slot) continue;
    const auto value = stringAt(*slot);
    return elfError(std::string("has ") + label + " " + (value ? singleQuoted(*value) : std::string("(unreadable)")) +
                    "; plugins may not carry a library search path");
  }
  for (std::uint64_t offset : neededOffsets) {
    const auto name = stringAt(offset);
    if (!name) return elfError("DT_NEEDED entry points outside the string table or is not terminated");
    if (name->empty()) return elfError("empty DT_NEEDED name");
    if (name->find_first_of("/$") != std::string_view::npos) {
      return elfError("needs " + singleQuoted(*name) +
                      ", a path; a plugin's dependencies must be plain library names found on the system search path");
    }
    info.needed.emplace_back(*name);
  }
  return info;
}

}  // namespace gatehouse::core::signing
