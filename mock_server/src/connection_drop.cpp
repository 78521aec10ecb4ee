#include "connection_drop.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace mock2ba {
namespace {

int port_of(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  if (addr.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  return -1;
}

void abort_socket(int fd) {
  // A zero linger turns close into a reset; shutdown makes the serving thread's write fail.
  linger hard{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  shutdown(fd, SHUT_RDWR);
}

// Calls `use` on this process's descriptors (past stdio) until it returns true.
template <typename Fn>
bool find_socket(Fn&& use) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return false;
  bool found = false;
  while (dirent* entry = readdir(dir)) {
    int fd = std::atoi(entry->d_name);
    if (fd > 2 && use(fd)) {
      found = true;
      break;
    }
  }
  closedir(dir);
  return found;
}

}  // namespace

bool drop_connection(const httplib::Request& req) {
  if (req.ssl) {
    abort_socket(SSL_get_fd(const_cast<SSL*>(req.ssl)));
    return true;
  }
  return find_socket([&req](int fd) {
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) return false;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) return false;
    if (port_of(local) != req.local_port || port_of(peer) != req.remote_port) return false;
    abort_socket(fd);
    return true;
  });
}

}  // namespace mock2ba
