#include "plugin_host/guarded_call.h"

#include <csetjmp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>

#include <unistd.h>

namespace gatehouse::core::plugin_host {

namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

struct Guard {
  sigjmp_buf jump;
  Guard* outer = nullptr;
  volatile sig_atomic_t signal = 0;
  void* address = nullptr;
};

thread_local Guard* tCurrent = nullptr;
thread_local bool tAltStack = false;

struct sigaction gPrevious[sizeof(kSignals) / sizeof(kSignals[0])];
std::once_flag gInstallOnce;

void onFault(int sig, siginfo_t* info, void* context) {
  Guard* guard = tCurrent;
  if (guard != nullptr) {
    guard->signal = sig;
    guard->address = info != nullptr ? info->si_addr : nullptr;
    tCurrent = guard->outer;
    siglongjmp(guard->jump, 1);
  }
  // Not inside plugin code: behave exactly as before we were installed.
  for (std::size_t i = 0; i < sizeof(kSignals) / sizeof(kSignals[0]); ++i) {
    if (kSignals[i] != sig) continue;
    const struct sigaction& prev = gPrevious[i];
    if ((prev.sa_flags & SA_SIGINFO) != 0 && prev.sa_sigaction != nullptr) {
      prev.sa_sigaction(sig, info, context);
      return;
    }
    if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN && prev.sa_handler != nullptr) {
      prev.sa_handler(sig);
      return;
    }
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void install() {
  struct sigaction sa {};
  sa.sa_sigaction = onFault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (std::size_t i = 0; i < sizeof(kSignals) / sizeof(kSignals[0]); ++i) {
    sigaction(kSignals[i], &sa, &gPrevious[i]);
  }
}

// An alternate stack per thread that runs guarded code, so a stack overflow can still be handled.
// Owned by the thread: unregistered and freed when the thread ends.
struct AltStack {
  void* memory = nullptr;
  ~AltStack() {
    if (memory == nullptr) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
    std::free(memory);
  }
};
thread_local AltStack tAltStackMemory;

void ensureAltStack() {
  if (tAltStack) return;
  tAltStack = true;
  stack_t current{};
  if (sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) return;   // one exists
  static constexpr std::size_t kSize = 64 * 1024;
  stack_t ss{};
  ss.ss_sp = std::malloc(kSize);
  if (ss.ss_sp == nullptr) return;
  ss.ss_size = kSize;
  if (sigaltstack(&ss, nullptr) != 0) {
    std::free(ss.ss_sp);
    return;
  }
  tAltStackMemory.memory = ss.ss_sp;
}

std::string describeSignal(int sig, void* address) {
  const char* name = "signal";
  const char* what = "";
  switch (sig) {
    case SIGSEGV: name = "SIGSEGV"; what = "invalid memory access"; break;
    case SIGBUS: name = "SIGBUS"; what = "bus error"; break;
    case SIGILL: name = "SIGILL"; what = "illegal instruction"; break;
    case SIGFPE: name = "SIGFPE"; what = "arithmetic error"; break;
    case SIGABRT: name = "SIGABRT"; what = "aborted"; break;
    default: break;
  }
  char text[128];
  if (sig == SIGSEGV || sig == SIGBUS) {
    std::snprintf(text, sizeof(text), "%s (%s) at address %p", name, what, address);
  } else {
    std::snprintf(text, sizeof(text), "%s (%s)", name, what);
  }
  return text;
}

}  // namespace

GuardResult runGuarded(const std::function<void()>& fn) noexcept {
  std::call_once(gInstallOnce, install);
  ensureAltStack();
  GuardResult result;
  Guard guard;
  guard.outer = tCurrent;
  // savemask=1: the handler runs with the signal blocked (we use SA_NODEFER, but SIGABRT from
  // abort() blocks nothing else); restoring the mask keeps later faults deliverable.
  if (sigsetjmp(guard.jump, 1) != 0) {
    result.outcome = GuardOutcome::Crashed;
    result.what = describeSignal(guard.signal, guard.address);
    return result;
  }
  tCurrent = &guard;
  try {
    fn();
  } catch (const std::exception& e) {
    result.outcome = GuardOutcome::Threw;
    result.what = e.what();
  } catch (...) {
    result.outcome = GuardOutcome::Threw;
    result.what = "an exception of unknown type";
  }
  tCurrent = guard.outer;
  return result;
}

}  // namespace gatehouse::core::plugin_host
