#include "http/form.h"

#include <algorithm>

#include "util/text_util.h"

namespace mock2ba {

std::optional<std::string> form_decode(std::string_view text) {
  // Most values (tokens, ids, grant types) have nothing to decode: one copy, no byte loop.
  size_t first = 0;
  while (first < text.size() && text[first] != '+' && text[first] != '%' && text[first] != '\0')
    ++first;
  if (first == text.size()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  out.append(text.data(), first);
  for (size_t i = first; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_digit_value(text[i + 1]);
      int lo = hex_digit_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      char byte = static_cast<char>(hi * 16 + lo);
      if (byte == '\0') return std::nullopt;
      out.push_back(byte);
      i += 2;
    } else {
      if (c == '\0') return std::nullopt;
      out.push_back(c);
    }
  }
  return out;
}

std::string form_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size() * 3);
  for (unsigned char c : value) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool is_form_content_type(const std::string& content_type) {
  std::string lower = to_lower(content_type);
  const std::string kForm = "application/x-www-form-urlencoded";
  if (!starts_with(lower, kForm)) return false;
  return lower.size() == kForm.size() || lower[kForm.size()] == ';' || lower[kForm.size()] == ' ';
}

std::optional<Form> Form::parse(std::string_view text, std::string* error) {
  Form form;
  size_t pairs = 1;
  for (char c : text) pairs += c == '&';
  form.fields_.reserve(std::min(pairs, kMaxFormFields));
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('&', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view pair = text.substr(pos, end - pos);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string_view raw_name = pair.substr(0, eq);
      std::string_view raw_value =
          eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      auto name = form_decode(raw_name);
      auto value = form_decode(raw_value);
      if (!name || !value) {
        if (error) {
          // Quote the name only as printable ASCII: the message ends up in a JSON reply.
          std::string shown;
          for (char c : raw_name.substr(0, 64)) shown.push_back(c >= 0x20 && c < 0x7F ? c : '?');
          *error = "malformed percent-encoding in parameter '" + shown + "'";
        }
        return std::nullopt;
      }
      if (form.fields_.size() == kMaxFormFields) {
        if (error) *error = "more than " + std::to_string(kMaxFormFields) + " parameters";
        return std::nullopt;
      }
      form.fields_.emplace_back(std::move(*name), std::move(*value));
    }
    pos = end + 1;
  }
  return form;
}

size_t Form::count(std::string_view name) const {
  size_t n = 0;
  for (const auto& field : fields_) n += field.first == name;
  return n;
}

const std::string* Form::find(std::string_view name) const {
  for (const auto& field : fields_) {
    if (field.first == name) return &field.second;
  }
  return nullptr;
}

const std::string* Form::param(std::string_view name) const {
  const std::string* value = find(name);
  return value && !value->empty() ? value : nullptr;
}

std::string Form::value(std::string_view name) const {
  const std::string* value = find(name);
  return value ? *value : std::string();
}

std::optional<std::string> copy_of(const std::string* value) {
  return value ? std::optional<std::string>(*value) : std::nullopt;
}

}  // namespace mock2ba
