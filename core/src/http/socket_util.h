#pragma once
// The few socket helpers the server needs, kept apart so tests can check them on real sockets.
// Internal to gatehouse_http; any thread.

#include <sys/socket.h>

#include <string>

namespace gatehouse::core::http::detail {

// TCP_NODELAY on an accepted socket: responses leave in one write, and with Nagle on a second
// small write waits for the peer's delayed ACK (tens of milliseconds of p99 on loopback).
// Returns false if the option could not be set (the connection is still usable).
bool configureAcceptedSocket(int fd);

// "127.0.0.1:41234" or "[::1]:41234".
std::string formatPeer(const sockaddr_storage& addr);

// Raises the RLIMIT_NOFILE soft limit to the hard limit; returns the resulting soft limit.
unsigned long raiseFileLimit();

}  // namespace gatehouse::core::http::detail
