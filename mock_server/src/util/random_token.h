// Opaque random tokens and codes.
#ifndef MOCK2BA_RANDOM_TOKEN_H_
#define MOCK2BA_RANDOM_TOKEN_H_

#include <cstddef>
#include <string>

namespace mock2ba {

// 43 characters of base64url from 32 bytes of the kernel's CSPRNG (getrandom, 256 bits).
std::string random_urlsafe_token();

// 2–4 KB drawn from A–Z a–z 0–9 + / =, always containing each of '+', '/' and '=': a token a
// client must form-encode and must not truncate.
std::string random_hostile_token();

// A uniformly random integer in [0, bound).
size_t random_below(size_t bound);

}  // namespace mock2ba

#endif  // MOCK2BA_RANDOM_TOKEN_H_
