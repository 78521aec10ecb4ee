// Closing a client's connection from inside a handler, for "lost reply" faults.
#ifndef MOCK2BA_CONNECTION_DROP_H_
#define MOCK2BA_CONNECTION_DROP_H_

#include <httplib.h>

namespace mock2ba {

// Shuts down the socket the request arrived on, so the client gets no reply at all.
// cpp-httplib 0.11 does not expose the socket, so it is found by its address pair.
// Returns false when the socket could not be found.
bool drop_connection(const httplib::Request& req);

}  // namespace mock2ba

#endif  // MOCK2BA_CONNECTION_DROP_H_
