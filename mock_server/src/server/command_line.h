// mock_server's command line.
#ifndef MOCK2BA_COMMAND_LINE_H_
#define MOCK2BA_COMMAND_LINE_H_

#include <optional>
#include <string>
#include <vector>

#include "server/server.h"

namespace mock2ba {

struct CommandLine {
  ServerOptions options;
  bool show_help = false;
  bool show_version = false;
  // --https: serve HTTPS with a certificate signed by a local CA kept in https_dir.
  bool https = false;
  std::string https_dir;  // empty: default_local_ca_dir()
};

// Parses arguments (without argv[0]). On a bad flag returns nullopt and sets *error.
// `default_fixture` is used when --fixture is not given.
std::optional<CommandLine> parse_command_line(const std::vector<std::string>& args,
                                              const std::string& default_fixture,
                                              std::string* error);

// The --help text.
std::string usage_text();

// Where fixtures/default.json is when no --fixture is given: beside an installed binary
// (../share/twoba-mock/fixtures), else the source tree the binary was built from.
std::string find_default_fixture();

}  // namespace mock2ba

#endif  // MOCK2BA_COMMAND_LINE_H_
