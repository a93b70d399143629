#include "errors.h"

#include <stdio.h>
#include <string.h>

#include <string>

namespace berth {

namespace {

// snprintf rather than std::to_string: the latter's digit table is an STB_GNU_UNIQUE symbol,
// which would be exported from the addon despite -fvisibility=hidden.
std::string Decimal(int n) {
  char buf[16];
  snprintf(buf, sizeof buf, "%d", n);
  return buf;
}

// strerrorname_np/strerrordesc_np (glibc >= 2.32) are thread-safe and never localized: the
// message must not depend on the user's LANG, since engines match substrings of it.
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#define BERTH_HAVE_STRERRORNAME_NP 1
#endif

std::string ErrnoText(int err) {
#ifdef BERTH_HAVE_STRERRORNAME_NP
  const char* desc = strerrordesc_np(err);
  std::string text = desc != nullptr ? desc : "unknown error " + Decimal(err);
#else
  // Other libcs: strerror is not thread-safe, but the addon only runs on the JS thread.
  std::string text = strerror(err);
#endif
  // Lower-case the first letter, as libuv and runc word errno text ("no such file or
  // directory"); the rest of glibc's text is already lower case except proper acronyms.
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

}  // namespace

std::string ErrnoName(int err) {
#ifdef BERTH_HAVE_STRERRORNAME_NP
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
#endif
  return "E" + Decimal(err);
}

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const char* path) {
  std::string code = ErrnoName(err);
  std::string message = code + ": " + ErrnoText(err) + ", " + syscall;
  if (path != nullptr) message += std::string(" '") + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (path != nullptr) error.Set("path", Napi::String::New(env, path));
  return error;
}

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const char* path) {
  ErrnoError(env, err, syscall, path).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowTypeError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace berth
