// The twoba-client command line: parsing, commands, exit codes.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "twoba/error.h"

namespace twoba::cli {

// Documented process exit codes.
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,
  kExitRelogin = 3,
  kExitTransport = 4,
  kExitServer = 5,
  kExitOther = 6,
  kExitParse = 7,
};

// The exit code for an error (5 for any 5xx reply, 3 for relogin required, ...).
int exit_code_for(const Error& error);

// Runs the CLI with argv (without the program name) and the process environment; writes
// results to out and diagnostics to err; returns the exit code.
int run(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace twoba::cli
