#include "dataset/python_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace wkfs {

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  // Shortest round-trip digits, as Python's repr; then Python's layout rules.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  std::string sign;
  if (s[0] == '-') sign = "-", s = s.substr(1);
  size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  int exp10 = std::stoi(s.substr(e + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  int decpt = exp10 + 1;  // value = 0.<digits> * 10^decpt
  std::string out;
  if (decpt <= -4 || decpt > 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[32];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    out += eb;
  } else if (decpt <= 0) {
    out = "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
  } else if (static_cast<size_t>(decpt) >= digits.size()) {
    out = digits + std::string(static_cast<size_t>(decpt) - digits.size(), '0') + ".0";
  } else {
    out = digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
  }
  return sign + out;
}

namespace {

void append_u16_escape(std::string& out, unsigned cp) {
  char b[16];
  std::snprintf(b, sizeof b, "\\u%04x", cp);
  out += b;
}

void append_string(std::string& out, const std::string& s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20 || c == 0x7f) append_u16_escape(out, c);
          else out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // UTF-8 sequence (nlohmann only holds valid UTF-8 after parsing) -> \uXXXX, surrogates above BMP
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    unsigned cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
    for (int k = 1; k < len && i + static_cast<size_t>(k) < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) & 0x3F);
    i += static_cast<size_t>(len);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      append_u16_escape(out, 0xD800 + (cp >> 10));
      append_u16_escape(out, 0xDC00 + (cp & 0x3FF));
    } else {
      append_u16_escape(out, cp);
    }
  }
  out += '"';
}

void dump(std::string& out, const nlohmann::ordered_json& v, int depth) {
  using T = nlohmann::ordered_json::value_t;
  const std::string inner(static_cast<size_t>(depth + 1) * 4, ' ');
  const std::string outer(static_cast<size_t>(depth) * 4, ' ');
  switch (v.type()) {
    case T::object: {
      if (v.empty()) { out += "{}"; return; }
      out += "{\n";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ",\n";
        first = false;
        out += inner;
        append_string(out, it.key());
        out += ": ";
        dump(out, it.value(), depth + 1);
      }
      out += "\n" + outer + "}";
      return;
    }
    case T::array: {
      if (v.empty()) { out += "[]"; return; }
      out += "[\n";
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ",\n";
        first = false;
        out += inner;
        dump(out, e, depth + 1);
      }
      out += "\n" + outer + "]";
      return;
    }
    case T::string: append_string(out, v.get_ref<const std::string&>()); return;
    case T::boolean: out += v.get<bool>() ? "true" : "false"; return;
    case T::number_integer: out += std::to_string(v.get<int64_t>()); return;
    case T::number_unsigned: out += std::to_string(v.get<uint64_t>()); return;
    case T::number_float: out += python_float_repr(v.get<double>()); return;
    case T::null:
    case T::discarded:
    case T::binary: out += "null"; return;
  }
}

}  // namespace

std::string python_json_dumps(const nlohmann::ordered_json& value) {
  std::string out;
  dump(out, value, 0);
  return out;
}

}  // namespace wkfs
