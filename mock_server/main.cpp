// mock_server: parses the command line, loads the fixture, serves until SIGINT/SIGTERM.
#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "http/local_ca.h"
#include "oauth/fixture.h"
#include "server/command_line.h"
#include "server/server.h"

// AddressSanitizer's leak check runs at exit: such a build exits the slow way (gcc defines
// __SANITIZE_ADDRESS__, clang answers __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#define MOCK2BA_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOCK2BA_SANITIZED 1
#endif
#endif

int main(int argc, char** argv) {
  // One glibc arena per busy worker thread fragments the heap as tokens are issued and purged;
  // two arenas keep RSS near what is live, at about the same CPU per request.
  mallopt(M_ARENA_MAX, 2);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string error;
  auto cl = mock2ba::parse_command_line(args, mock2ba::find_default_fixture(), &error);
  if (!cl) {
    std::fprintf(stderr, "mock_server: %s\n", error.c_str());
    return 2;
  }
  if (cl->show_help) {
    std::fputs(mock2ba::usage_text().c_str(), stdout);
    return 0;
  }
  if (cl->show_version) {
    std::printf("mock_server %s\n", TWOBA_VERSION);
    return 0;
  }

  // Signals are taken by sigwait below, never by a handler inside a worker thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Every connection takes a descriptor; the usual soft limit of 1024 would let a flood of slow
  // connections exhaust it long before the hard limit.
  mock2ba::raise_descriptor_limit();

  std::optional<mock2ba::LocalTlsFiles> tls;
  if (cl->https) {
    std::string dir = cl->https_dir.empty() ? mock2ba::default_local_ca_dir() : cl->https_dir;
    tls = mock2ba::make_local_tls(
        dir, mock2ba::local_certificate_names(cl->options.host, cl->options.public_hosts), &error);
    if (!tls) {
      std::fprintf(stderr, "mock_server: --https: %s\n", error.c_str());
      return 2;
    }
    cl->options.tls_cert = tls->cert_file;
    cl->options.tls_key = tls->key_file;
  }

  std::unique_ptr<mock2ba::MockServer> server;
  try {
    server = std::make_unique<mock2ba::MockServer>(cl->options);
  } catch (const mock2ba::FixtureError& e) {
    std::fprintf(stderr, "mock_server: bad fixture: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mock_server: %s\n", e.what());
    return 2;
  }
  if (tls) tls->lock.reset();  // the certificate is loaded
  if (const auto& user = server->root().state()->fixture->auto_login) {
    std::fprintf(
        stderr,
        "mock_server: TEST-ONLY fixture option auto_login: /OAuth/Authorize logs in \"%s\" "
        "without showing the login form\n",
        user->c_str());
  }
  if (!server->start(&error)) {
    std::fprintf(stderr,
                 "mock_server: %s\nmock_server: is another mock running? --port 0 takes a free "
                 "port (the READY line gives the URL)\n",
                 error.c_str());
    return 1;
  }
  std::printf("READY %s\n", server->base_url().c_str());
  // A second line, so the READY line keeps its format for every reader.
  if (tls) std::printf("CA-FILE %s\n", tls->ca_file.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->stop();
#if !defined(MOCK2BA_SANITIZED)
  // Every reply has gone out and, with --state-file, is on disk (stop() waits for requests in
  // flight). Freeing the heap piece by piece and OpenSSL's clean-up would only delay the exit a
  // test suite that starts a mock per test waits for.
  std::fflush(stdout);
  std::_Exit(0);
#endif
  return 0;
}
