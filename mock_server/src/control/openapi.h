// The OpenAPI 3 document of every route the mock serves (mock_server/openapi.json, embedded at
// build time with the project version filled in).
#ifndef MOCK2BA_OPENAPI_H_
#define MOCK2BA_OPENAPI_H_

namespace mock2ba {

// The document as JSON text; servers[0].url is the default http://127.0.0.1:8080.
const char* openapi_json();

}  // namespace mock2ba

#endif  // MOCK2BA_OPENAPI_H_
