// oauth2_check: the gateway's token verification (security/oauth2 ResourceServer + KeySource),
// driven line by line so an integration test can use it against a real OpenID provider.
//
//   oauth2_check --issuer URL --audience AUD [--leeway S] [--cooldown-ms N] [--allow-insecure-loopback]
//                [--ca-file PEM] [--role-claim PATH]...
//
// Starts with discovery + JWKS (prints "START ok" or "START error <why>"), then reads one token
// per line on stdin and answers one line per token on stdout, flushed:
//   OK sub=<subject> roles=<r1,r2,..>
//   ERR <why>
// The process keeps its keys and cache across lines, like the gateway: key rotation at the IdP is
// seen through the unknown-kid refresh, without restarting. "STATS" prints the fetch counters.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "gatehouse/oauth2/key_source.h"
#include "gatehouse/oauth2/resource_server.h"

using namespace gatehouse::oauth2;

int main(int argc, char** argv) {
  KeySourceOptions keyOptions;
  ResourceServerOptions serverOptions;
  serverOptions.roleClaims.clear();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "oauth2_check: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--issuer") keyOptions.issuer = serverOptions.issuer = next();
    else if (a == "--audience") serverOptions.audience = next();
    else if (a == "--leeway") serverOptions.leewayS = std::stoll(next());
    else if (a == "--cooldown-ms") keyOptions.refreshCooldown = std::chrono::milliseconds(std::stoll(next()));
    else if (a == "--allow-insecure-loopback") keyOptions.allowInsecureLoopback = true;
    else if (a == "--ca-file") keyOptions.caFile = next();
    else if (a == "--role-claim") serverOptions.roleClaims.push_back(next());
    else {
      std::fprintf(stderr, "oauth2_check: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (keyOptions.issuer.empty() || serverOptions.audience.empty()) {
    std::fprintf(stderr, "oauth2_check: --issuer and --audience are required\n");
    return 2;
  }
  auto keys = std::make_shared<KeySource>(keyOptions, makeHttpGet(keyOptions));
  const std::string startError = keys->start();
  std::cout << (startError.empty() ? "START ok" : "START error " + startError) << std::endl;
  ResourceServer server(serverOptions, keys);

  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "STATS") {
      const auto k = keys->stats();
      const auto s = server.stats();
      std::cout << "STATS fetches=" << k.fetches << " failures=" << k.failures << " cache_hits=" << s.cacheHits
                << " verified=" << s.verified << " refused=" << s.refused << std::endl;
      continue;
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    const Authentication a = server.authenticate(line, now);
    if (!a.principal) {
      std::cout << "ERR " << a.error << std::endl;
      continue;
    }
    std::string roles;
    for (const auto& r : a.principal->roles) roles += (roles.empty() ? "" : ",") + r;
    std::cout << "OK sub=" << a.principal->subject << " roles=" << roles << std::endl;
  }
  return 0;
}
