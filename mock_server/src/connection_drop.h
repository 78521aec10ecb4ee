// Closing a client's connection from inside a handler, for "lost reply" faults.
#ifndef MOCK2BA_CONNECTION_DROP_H_
#define MOCK2BA_CONNECTION_DROP_H_

#include <httplib.h>

namespace mock2ba {

// Shuts down the socket the request arrived on, so the client gets no reply at all.
// cpp-httplib 0.11 does not expose the socket, so it is found by its address pair.
// Returns false when the socket could not be found.
bool drop_connection(const httplib::Request& req);

// Raises the accept backlog of this process's listening socket on `port` to SOMAXCONN.
// cpp-httplib listens with a backlog of 5, so a burst of new connections (64 clients starting
// at once) overflows it and some connects stall for a second and then fail.
bool raise_listen_backlog(int port);

}  // namespace mock2ba

#endif  // MOCK2BA_CONNECTION_DROP_H_
