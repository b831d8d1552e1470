#pragma once
// A private temporary directory (mkdtemp, mode 0700) removed with everything in it at the end of
// the test, and small helpers to put files in it.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace gatehouse::core::signing::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gatehouse-signing-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    // Give back write permission first so that remove_all can empty directories a test locked.
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ec); !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
    }
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

  // Writes `bytes` to `name` with `mode` (exactly, whatever the umask) and returns the full path.
  std::string write(std::string_view name, std::string_view bytes, mode_t mode = 0644) const {
    const std::string p = *this / name;
    {
      std::ofstream out(p, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out) throw std::runtime_error("cannot write " + p);
    }
    if (::chmod(p.c_str(), mode) != 0) throw std::runtime_error("cannot chmod " + p);
    return p;
  }

  std::string mkdir(std::string_view name, mode_t mode = 0700) const {
    const std::string p = *this / name;
    if (::mkdir(p.c_str(), 0700) != 0 || ::chmod(p.c_str(), mode) != 0) throw std::runtime_error("cannot mkdir " + p);
    return p;
  }

 private:
  std::string path_;
};

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline mode_t fileMode(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

}  // namespace gatehouse::core::signing::testing
