#include "http/local_ca.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>

namespace mock2ba {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

constexpr long kDay = 24 * 3600;
constexpr long kCaLifetime = 3650 * kDay;
// Under the 398 days browsers and Apple's TLS stack accept for a server certificate.
constexpr long kServerLifetime = 365 * kDay;

std::string openssl_error(const std::string& what) {
  unsigned long code = ERR_get_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return what + ": " + text;
}

bool is_ip_literal(const std::string& name) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Extension ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// A certificate for `key` named `common_name`, signed by `issuer_key` (self-signed without an
// issuer), with the given extensions in order.
Cert make_certificate(EVP_PKEY* key, const std::string& common_name, X509* issuer,
                      EVP_PKEY* issuer_key, long lifetime,
                      const std::vector<std::pair<int, std::string>>& extensions,
                      std::string* error) {
  Cert cert(X509_new());
  BIGNUM* serial = BN_new();
  bool ok =
      cert && serial && X509_set_version(cert.get(), 2) == 1 &&
      BN_rand(serial, 120, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
      BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get())) != nullptr &&
      // An hour back tolerates a client clock slightly behind.
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), lifetime) != nullptr &&
      X509_set_pubkey(cert.get(), key) == 1 &&
      X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) == 1 &&
      X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer ? issuer : cert.get())) == 1;
  BN_free(serial);
  for (size_t i = 0; ok && i < extensions.size(); ++i) {
    ok = add_extension(cert.get(), issuer ? issuer : cert.get(), extensions[i].first,
                       extensions[i].second);
  }
  if (!ok || X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) {
    *error = openssl_error("cannot make the certificate '" + common_name + "'");
    return nullptr;
  }
  return cert;
}

bool write_pem(const std::string& path, mode_t mode, const std::function<int(BIO*)>& write,
               std::string* error) {
  // Written beside and renamed, so a reader never sees half a file; the mode is set before
  // any key byte is written.
  std::string temp = path + ".tmp";
  ::unlink(temp.c_str());
  FILE* file = nullptr;
  if (int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode); fd >= 0) {
    file = ::fdopen(fd, "w");
    if (!file) ::close(fd);
  }
  if (!file) {
    *error = "cannot write " + temp + ": " + std::strerror(errno);
    return false;
  }
  Bio bio(BIO_new_fp(file, BIO_CLOSE));
  bool ok = bio && write(bio.get()) == 1 && BIO_flush(bio.get()) == 1;
  bio.reset();
  if (!ok) {
    ::unlink(temp.c_str());
    *error = openssl_error("cannot write " + path);
    return false;
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    *error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool make_dirs(const std::string& dir, std::string* error) {
  for (size_t slash = 1; slash != std::string::npos;) {
    slash = dir.find('/', slash + 1);
    std::string part = dir.substr(0, slash);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      *error = "cannot create " + part + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

// The CA of an earlier run, when both of its files read back as a matching pair.
std::pair<Cert, Key> read_ca(const std::string& ca_file, const std::string& key_file) {
  Bio cert_bio(BIO_new_file(ca_file.c_str(), "r"));
  Bio key_bio(BIO_new_file(key_file.c_str(), "r"));
  if (!cert_bio || !key_bio) {
    ERR_clear_error();
    return {};
  }
  Cert cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  Key key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  bool usable = cert && key && X509_check_private_key(cert.get(), key.get()) == 1 &&
                X509_cmp_current_time(X509_get0_notAfter(cert.get())) > 0;
  ERR_clear_error();
  if (!usable) return {};
  return {std::move(cert), std::move(key)};
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) return path;
  return std::string(cwd) + "/" + path;
}

}  // namespace

std::string default_local_ca_dir() {
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache && *cache == '/')
    return std::string(cache) + "/twoba-mock";
  if (const char* home = std::getenv("HOME"); home && *home == '/')
    return std::string(home) + "/.cache/twoba-mock";
  return "/tmp/twoba-mock-" + std::to_string(::getuid());
}

std::vector<std::string> local_certificate_names(const std::string& host,
                                                 const std::vector<std::string>& public_hosts) {
  std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
  auto add = [&names](const std::string& name) {
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(name);
  };
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  if (bare == "0.0.0.0" || bare == "::") {
    // Other containers and machines reach a wildcard listener by this machine's name.
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0) add(name);
  } else {
    add(bare);
  }
  for (const auto& name : public_hosts) add(name);
  return names;
}

std::optional<LocalTlsFiles> make_local_tls(const std::string& dir_given,
                                            const std::vector<std::string>& names,
                                            std::string* error) {
  std::string dir = absolute(dir_given);
  if (!make_dirs(dir, error)) return std::nullopt;
  LocalTlsFiles files{dir + "/ca.pem", dir + "/server.pem", dir + "/server-key.pem", nullptr};
  // Mocks started at once on the same folder take turns, so none trusts another's CA or loads
  // another's certificate with its own key: the lock is held until the caller has loaded them.
  int lock_fd = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX) != 0) {
    *error = "cannot lock " + dir + "/lock: " + std::strerror(errno);
    if (lock_fd >= 0) ::close(lock_fd);
    return std::nullopt;
  }
  files.lock = std::shared_ptr<void>(nullptr, [lock_fd](void*) { ::close(lock_fd); });
  std::string ca_key_file = dir + "/ca-key.pem";

  auto [ca, ca_key] = read_ca(files.ca_file, ca_key_file);
  if (!ca) {
    ca_key.reset(EVP_EC_gen("P-256"));
    if (!ca_key) {
      *error = openssl_error("cannot make a key");
      return std::nullopt;
    }
    ca = make_certificate(ca_key.get(), "twoba-mock local CA", nullptr, ca_key.get(), kCaLifetime,
                          {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                           {NID_key_usage, "critical,keyCertSign,cRLSign"},
                           {NID_subject_key_identifier, "hash"}},
                          error);
    if (!ca) return std::nullopt;
    // Lambdas cannot capture structured bindings in C++17 (clang refuses).
    Key& key = ca_key;
    X509* cert = ca.get();
    if (!write_pem(
            ca_key_file, 0600,
            [&key](BIO* bio) {
              return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr,
                                              nullptr);
            },
            error) ||
        !write_pem(
            files.ca_file, 0644, [cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); },
            error)) {
      return std::nullopt;
    }
  }

  std::string alt_names;
  for (const auto& name : names) {
    alt_names +=
        (alt_names.empty() ? "" : ",") + std::string(is_ip_literal(name) ? "IP:" : "DNS:") + name;
  }
  Key key(EVP_EC_gen("P-256"));
  if (!key) {
    *error = openssl_error("cannot make a key");
    return std::nullopt;
  }
  Cert cert = make_certificate(key.get(), names.front(), ca.get(), ca_key.get(), kServerLifetime,
                               {{NID_basic_constraints, "critical,CA:FALSE"},
                                {NID_key_usage, "critical,digitalSignature"},
                                {NID_ext_key_usage, "serverAuth"},
                                {NID_subject_key_identifier, "hash"},
                                {NID_authority_key_identifier, "keyid:always"},
                                {NID_subject_alt_name, alt_names}},
                               error);
  if (!cert) return std::nullopt;
  if (!write_pem(
          files.key_file, 0600,
          [&key](BIO* bio) {
            return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          },
          error) ||
      !write_pem(
          files.cert_file, 0644, [&cert](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); },
          error)) {
    return std::nullopt;
  }
  return files;
}

}  // namespace mock2ba
