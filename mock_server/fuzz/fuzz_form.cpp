// libFuzzer harness: form parsing and percent-decoding of request bodies and query strings.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "http/form.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto form = mock2ba::Form::parse(text, &error);
  if (!form) {
    if (error.empty()) std::abort();  // a rejection always says why
  } else {
    if (form->fields().size() > mock2ba::kMaxFormFields) std::abort();
    for (const auto& [name, value] : form->fields()) {
      // Encoding then decoding gives back what was parsed; no NUL survives decoding.
      if (mock2ba::form_decode(mock2ba::form_encode(name)) != name) std::abort();
      if (mock2ba::form_decode(mock2ba::form_encode(value)) != value) std::abort();
      if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos)
        std::abort();
      if (form->count(name) == 0 || !form->find(name)) std::abort();
      // An OAuth parameter is its first value, or absent when that value is empty.
      const std::string* param = form->param(name);
      if (param ? param != form->find(name) || param->empty() : !form->find(name)->empty())
        std::abort();
    }
  }
  if (auto decoded = mock2ba::form_decode(text)) {
    if (decoded->size() > text.size()) std::abort();
  }
  return 0;
}
