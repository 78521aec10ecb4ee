// twoba-client: see client/README.md or `twoba-client --help`.
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed peer is a transport error, not a crash
  return twoba::cli::run(std::vector<std::string>(argv + 1, argv + argc), stdout, stderr);
}
