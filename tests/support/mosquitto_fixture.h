#pragma once
// MosquittoFixture: a real mosquitto 2.0 broker for tests (shared by every test that needs one), on a free 127.0.0.1 port, with a config
// generated in a private temp dir, optionally TLS / mutual TLS with certificates made by `openssl`
// at test time (nothing committed), stopped by PID (SIGTERM + waitpid) and restartable on the same
// port (the broker-restart test). As root mosquitto drops to user `mosquitto`, so the temp dir is
// 0755 and what it reads 0644 (TESTING.md); the persistence folder is world-writable.
//
// Threads: one test thread drives a fixture; not thread-safe.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>


namespace gatehouse::test_support {

struct MosquittoOptions {
  bool tls = false;                 // the listener speaks TLS (server cert for 127.0.0.1/localhost)
  bool requireClientCert = false;   // mutual TLS
  bool persistence = false;         // keep sessions and queued messages across a restart
};

class MosquittoFixture {
 public:
  explicit MosquittoFixture(MosquittoOptions options = {});
  ~MosquittoFixture();
  MosquittoFixture(const MosquittoFixture&) = delete;
  MosquittoFixture& operator=(const MosquittoFixture&) = delete;

  // Starts the broker (the first time on a fresh free port, later on the same port) and waits until
  // it accepts TCP connections. Returns "" or what went wrong (with the broker's log).
  std::string start();
  // SIGTERM, then waitpid (SIGKILL after 5 s). A stopped broker with persistence saves its state.
  void stop();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  std::string uri() const;   // tcp://127.0.0.1:P or ssl://127.0.0.1:P
  const std::string& dir() const { return dir_; }
  std::string caFile() const { return dir_ + "/ca.crt"; }
  std::string clientCertFile() const { return dir_ + "/client.crt"; }
  std::string clientKeyFile() const { return dir_ + "/client.key"; }
  std::string otherCaFile() const { return dir_ + "/other-ca.crt"; }   // a CA that signed nothing here
  std::string log() const;   // the broker's stderr so far

 private:
  std::string makeCertificates();
  std::string writeConfig();

  MosquittoOptions options_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool certsMade_ = false;
};

// A loopback port nothing listens on (bound, then released).
int freeLoopbackPort();

}  // namespace gatehouse::test_support
