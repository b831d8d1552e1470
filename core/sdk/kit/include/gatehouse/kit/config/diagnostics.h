#pragma once
// Problems found in a configuration file. Operators never see a stack trace: each problem is one
// line "FILE:LINE:COL: key.path: message", and every problem in the file is listed at once so a
// bad file is fixed in one round trip rather than one error per restart.
// Values and keys taken from the file are quoted for messages with kit::quoteForMessage (codec.h).
//
// Threads: plain values. A Diagnostics object is filled and read by one thread at a time.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
struct Mark;
}

namespace gatehouse::kit::config {

struct Diagnostic {
  int line = 0;          // 1-based; 0 when the problem concerns the whole file (unreadable, too big)
  int column = 0;        // 1-based; 0 together with line
  std::string keyPath;   // "http.port", "simulator.lights"; empty when no key is concerned (syntax)
  std::string message;   // what is wrong and, where possible, what would be right
};

// "FILE:LINE:COL: key.path: message"; the position is left out when line is 0 and the key path
// when it is empty.
std::string formatDiagnostic(std::string_view fileName, const Diagnostic& diagnostic);

class Diagnostics {
 public:
  // A pathological file (a megabyte of bad lines) must not produce a megabyte of output: beyond
  // `limit` problems are counted but not kept.
  static constexpr std::size_t kDefaultLimit = 100;
  explicit Diagnostics(std::size_t limit = kDefaultLimit) : limit_(limit) {}

  void add(Diagnostic diagnostic);
  // Position from a yaml-cpp mark (0-based there; a null mark becomes "no position").
  void add(const YAML::Mark& mark, std::string keyPath, std::string message);

  bool empty() const noexcept { return total_ == 0; }
  std::size_t total() const noexcept { return total_; }                    // kept + dropped
  std::size_t omitted() const noexcept { return total_ - kept_.size(); }   // dropped beyond the limit
  const std::vector<Diagnostic>& items() const noexcept { return kept_; }

  // All kept problems ordered by position (then by the order found), one per line, no trailing
  // newline, plus a last line saying how many more were not shown.
  std::string format(std::string_view fileName) const;

 private:
  std::size_t limit_;
  std::size_t total_ = 0;
  std::vector<Diagnostic> kept_;
};

}  // namespace gatehouse::kit::config
