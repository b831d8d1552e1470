// bench/model_memory: resident memory per resource of the model (TESTING.md "Measuring").
//
// Floors: at most 256 bytes per resource at 100k resources, and linear up to 1M (the 1M/100k
// ratio of bytes per resource at most 1.25; 1.2 is what "linear" means, the rest is noise room).
//
// Each measurement runs in a fresh fork()ed child so that the parent's heap (and the previous
// measurement's freed memory) cannot hide or inflate the growth. The child trims malloc's free
// lists before both readings, so the difference is memory the model actually holds.
// Sizes alternate (100k, 1M, 100k, 1M, ...) and the median of the rounds is reported.
//
// Usage: model_memory [--rounds N]     exit 0 = floors met, 1 = a floor missed, 2 = error.
//
// Single-threaded program.

#include <malloc.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "model/model.h"

namespace {

using gatehouse::core::model::Model;
using gatehouse::core::model::Value;

constexpr int kResourcesPerProvider = 100;
constexpr int kAdminResourcesPerProvider = 5;   // every provider gets admin with 5 resources
constexpr double kFloorBytesAt100k = 256.0;
constexpr double kFloorRatio = 1.25;

struct Sample {
  long rssBeforeBytes = 0;
  long rssAfterBytes = 0;
  std::uint64_t resourcesCreated = 0;   // as reported by Model::resourceCount()
  std::uint64_t pushFailures = 0;
};

long residentBytes() {
  // /proc/self/statm: size resident shared text lib data dt, in pages.
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long size = 0, resident = 0;
  const int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) return -1;
  return resident * sysconf(_SC_PAGESIZE);
}

// Runs in the child: builds the model and reports RSS before/after through `fd`.
[[noreturn]] void childMeasure(int providers, int fd) {
  Sample s;
  malloc_trim(0);
  s.rssBeforeBytes = residentBytes();
  {
    // Deliberately never destroyed: the child exits with the model alive (measured state).
    auto* model = new Model();
    char provider[32];
    char resource[16];
    for (int p = 0; p < providers; ++p) {
      std::snprintf(provider, sizeof provider, "provider-%05d", p);
      for (int r = 0; r < kResourcesPerProvider; ++r) {
        std::snprintf(resource, sizeof resource, "r%d", r);
        if (!model->push(provider, "s", resource, Value::ofDouble(20.0 + r * 0.25), 1000 + p)) {
          ++s.pushFailures;
        }
      }
    }
    s.resourcesCreated = model->resourceCount();
  }
  malloc_trim(0);
  s.rssAfterBytes = residentBytes();
  const ssize_t written = write(fd, &s, sizeof s);
  _exit(written == static_cast<ssize_t>(sizeof s) ? 0 : 3);
}

bool measure(int providers, Sample& out) {
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("pipe");
    return false;
  }
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("fork");
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    childMeasure(providers, fds[1]);
  }
  close(fds[1]);
  Sample s;
  std::size_t got = 0;
  while (got < sizeof s) {
    const ssize_t n = read(fds[0], reinterpret_cast<char*>(&s) + got, sizeof s - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != sizeof s || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "model_memory: child for %d providers failed (status %d)\n", providers, status);
    return false;
  }
  out = s;
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

struct SizeResult {
  int providers = 0;
  std::vector<double> perResource;   // including admin resources
  std::vector<double> perPushed;     // only the P x 100 pushed resources
  std::vector<double> deltaMiB;
};

}  // namespace

int main(int argc, char** argv) {
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: model_memory [--rounds N]\n");
      return 2;
    }
  }
  if (rounds < 1) rounds = 1;
#if defined(__SANITIZE_ADDRESS__)
  std::printf("WARNING: built with AddressSanitizer; numbers are not representative\n");
#endif

  SizeResult sizes[2];
  sizes[0].providers = 1000;    // 100k pushed resources
  sizes[1].providers = 10000;   // 1M pushed resources

  std::printf("model_memory: P providers x %d resources (+%d admin each), %d alternated rounds\n",
              kResourcesPerProvider, kAdminResourcesPerProvider, rounds);
  std::printf("%-6s %-9s %10s %12s %12s %14s %16s\n", "round", "pushed", "resources", "rss_before",
              "rss_after", "B/resource", "B/pushed_res");
  for (int round = 1; round <= rounds; ++round) {
    for (SizeResult& size : sizes) {
      Sample s;
      if (!measure(size.providers, s)) return 2;
      const std::uint64_t pushed = std::uint64_t(size.providers) * kResourcesPerProvider;
      const std::uint64_t expected = std::uint64_t(size.providers) * (kResourcesPerProvider + kAdminResourcesPerProvider);
      if (s.pushFailures != 0 || s.resourcesCreated != expected) {
        std::fprintf(stderr, "model_memory: expected %llu resources, model reports %llu (%llu failed pushes)\n",
                     (unsigned long long)expected, (unsigned long long)s.resourcesCreated,
                     (unsigned long long)s.pushFailures);
        return 2;
      }
      const double delta = double(s.rssAfterBytes - s.rssBeforeBytes);
      size.perResource.push_back(delta / double(expected));
      size.perPushed.push_back(delta / double(pushed));
      size.deltaMiB.push_back(delta / (1024.0 * 1024.0));
      std::printf("%-6d %-9llu %10llu %12ld %12ld %14.1f %16.1f\n", round, (unsigned long long)pushed,
                  (unsigned long long)expected, s.rssBeforeBytes, s.rssAfterBytes, size.perResource.back(),
                  size.perPushed.back());
    }
  }

  const double at100k = median(sizes[0].perResource);
  const double at1m = median(sizes[1].perResource);
  const double ratio = at1m / at100k;
  std::printf("\nmedians:\n");
  std::printf("  100k pushed (%d providers): %.1f B/resource incl. admin, %.1f B/pushed resource, %.1f MiB\n",
              sizes[0].providers, at100k, median(sizes[0].perPushed), median(sizes[0].deltaMiB));
  std::printf("  1M pushed (%d providers):   %.1f B/resource incl. admin, %.1f B/pushed resource, %.1f MiB\n",
              sizes[1].providers, at1m, median(sizes[1].perPushed), median(sizes[1].deltaMiB));
  std::printf("  ratio 1M/100k (B/resource): %.3f (linear <= 1.2)\n", ratio);

  bool ok = true;
  if (at100k > kFloorBytesAt100k) {
    std::printf("FAIL: %.1f B/resource at 100k > %.0f\n", at100k, kFloorBytesAt100k);
    ok = false;
  }
  if (ratio > kFloorRatio) {
    std::printf("FAIL: ratio 1M/100k %.3f > %.2f\n", ratio, kFloorRatio);
    ok = false;
  }
  std::printf("%s: model_memory (floors: <= %.0f B/resource at 100k, ratio <= %.2f)\n", ok ? "PASS" : "FAIL",
              kFloorBytesAt100k, kFloorRatio);
  return ok ? 0 : 1;
}
