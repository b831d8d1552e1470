#pragma once
// Runs plugin code so that a crash inside it (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT on the
// calling thread) is reported instead of ending the gateway, and a C++ exception that escapes
// the C ABI is caught.
//
// Why this is enough, and its limits: the host calls create/configure/start/stop/destroy and
// SET/ACT through runGuarded(). A fault raised by the plugin on the calling thread jumps back
// here (siglongjmp from the signal handler, on an alternate signal stack so a stack overflow is
// caught too); the plugin is then marked crashed and none of its code is called again (its
// library is never unloaded, since its state is unknown). A fault on a thread the plugin started
// itself is outside any guard and ends the process as usual (the service manager restarts it).
//
// Threads: any thread may call runGuarded(); guards nest per thread.

#include <functional>
#include <string>

namespace gatehouse::core::plugin_host {

enum class GuardOutcome { Returned, Threw, Crashed };

struct GuardResult {
  GuardOutcome outcome = GuardOutcome::Returned;
  std::string what;   // exception text or "SIGSEGV (invalid memory access) at address 0x..."
};

// Calls fn(). Never throws.
GuardResult runGuarded(const std::function<void()>& fn) noexcept;

}  // namespace gatehouse::core::plugin_host
