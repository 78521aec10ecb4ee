// Hashing and randomness for PKCE and state (not part of the public API).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace twoba {

// SHA-256 digest (32 raw bytes).
std::string sha256(std::string_view bytes);

// n bytes from OpenSSL's CSPRNG; empty on the (practically impossible) failure.
std::string random_bytes(std::size_t n);

}  // namespace twoba
