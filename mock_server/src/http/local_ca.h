// --https: a local certificate authority and a server certificate it signs, made with OpenSSL.
#ifndef MOCK2BA_LOCAL_CA_H_
#define MOCK2BA_LOCAL_CA_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mock2ba {

struct LocalTlsFiles {
  std::string ca_file;         // the CA certificate clients are told to trust (PEM)
  std::string cert_file;       // the server certificate (PEM), signed by the CA
  std::string key_file;        // its private key (PEM, mode 0600)
  std::shared_ptr<void> lock;  // the folder's lock: release it once the files are loaded
};

// The folder --https uses without --https-dir: $XDG_CACHE_HOME/twoba-mock, else
// $HOME/.cache/twoba-mock, else /tmp/twoba-mock-<uid>.
std::string default_local_ca_dir();

// The names a certificate for `host` covers: localhost, 127.0.0.1 and ::1, `host` itself or,
// for a wildcard address (0.0.0.0, ::), this machine's host name; then `public_hosts`
// (--public-host), each once.
std::vector<std::string> local_certificate_names(const std::string& host,
                                                 const std::vector<std::string>& public_hosts = {});

// Reuses the CA in `dir` (ca.pem, ca-key.pem) or makes one (so a client configured to trust it
// once keeps working), then writes a fresh server certificate for `names` (server.pem,
// server-key.pem). Creates `dir` (mode 0700). On failure returns nullopt and sets *error.
std::optional<LocalTlsFiles> make_local_tls(const std::string& dir,
                                            const std::vector<std::string>& names,
                                            std::string* error);

}  // namespace mock2ba

#endif  // MOCK2BA_LOCAL_CA_H_
