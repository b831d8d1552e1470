#pragma once
// A real mosquitto broker on a free 127.0.0.1 port, with a generated config in its own temp
// folder, stopped by PID (TESTING.md). Restartable on the same port, optionally with persistence
// so that subscribers' sessions survive the restart.
//
// Threads: one test thread.

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace gatehouse::test {

class MosquittoBroker {
 public:
  explicit MosquittoBroker(bool persistence = false);
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // Starts the broker (on a free port the first time, the same port afterwards) and waits until
  // it accepts connections. False with a reason in lastError() when it does not come up in 10 s.
  bool start();
  // SIGTERM and wait (mosquitto writes its persistence file on the way out).
  void stop();
  bool running() const { return pid_ > 0; }
  std::uint16_t port() const { return port_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  const std::string& lastError() const { return error_; }
  std::string log() const;

 private:
  bool persistence_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

// A port nothing listens on (bound, then released).
std::uint16_t freeLoopbackPort();

}  // namespace gatehouse::test
