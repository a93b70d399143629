#include "args.h"

#include <string>

#include "errors.h"

namespace berth {

bool ArgInt(const Napi::CallbackInfo& info, size_t index, const char* what, int64_t min, int64_t max, int64_t* out) {
  Napi::Env env = info.Env();
  if (info.Length() <= index || !info[index].IsNumber()) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", std::string(what) + " must be a number");
    return false;
  }
  double d = info[index].As<Napi::Number>().DoubleValue();
  // Compare as doubles first: casting a NaN or an out-of-range double to int64 is undefined.
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", std::string(what) + " must be an integer in range");
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool ArgFd(const Napi::CallbackInfo& info, size_t index, const char* what, int* out) {
  int64_t v = 0;
  if (!ArgInt(info, index, what, 0, 0x7fffffff, &v)) return false;
  *out = static_cast<int>(v);
  return true;
}

bool ArgPath(const Napi::CallbackInfo& info, size_t index, const char* what, std::string* out) {
  Napi::Env env = info.Env();
  if (info.Length() <= index || !info[index].IsString()) {
    ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", std::string(what) + " must be a string");
    return false;
  }
  *out = info[index].As<Napi::String>().Utf8Value();
  if (out->empty() || out->find('\0') != std::string::npos) {
    ThrowTypeError(env, "ERR_INVALID_ARG_VALUE", std::string(what) + " must be a non-empty path without NUL");
    return false;
  }
  return true;
}

}  // namespace berth
