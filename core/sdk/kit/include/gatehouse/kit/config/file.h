#pragma once
// Reading a configuration file whole, bounded: the step before parseYamlDocument (yaml_document.h)
// for the files a bridge names in its settings (the MQTT bridge's mappings file, the NB-IoT
// bridge's layouts file). The size is checked before anything is read, and no more than maxBytes
// + 1 bytes are ever read (the file may grow meanwhile), so a huge or endless file cannot exhaust
// memory. Opened non-blocking, so naming a FIFO by mistake fails at once instead of hanging.
//
// Errors: each message starts with the path as given and names the file by `what` ("the layouts
// file"), for an operator to act on:
//   NotFound   "PATH: cannot open the layouts file: No such file or directory"
//   BadRequest "PATH: cannot open the layouts file: <strerror>" (other open failures),
//              "PATH: the layouts file is not a regular file" (a directory, a FIFO, a device),
//              "PATH: the layouts file is larger than N bytes",
//              "PATH: cannot read the layouts file: <strerror>"
//
// Threads: a free function without shared state; any thread may call it concurrently (it blocks
// on file I/O, so not from a latency-sensitive thread).

#include <cstddef>
#include <string>
#include <string_view>

#include "gatehouse/kit/result.h"

namespace gatehouse::kit::config {

// The whole content of the regular file at `path` when it has at most `maxBytes` bytes.
// `what` names the file in messages: "the mappings file", "the layouts file".
Result<std::string> readConfigFile(const std::string& path, std::size_t maxBytes, std::string_view what);

}  // namespace gatehouse::kit::config
