// args.h: reading JS arguments in the flat functions, with Node-style TypeErrors.
//
// Each returns false after throwing (ERR_INVALID_ARG_TYPE for the wrong type,
// ERR_INVALID_ARG_VALUE for a number out of range or a string with a NUL); the caller then
// returns env.Undefined() at once.
#ifndef BERTH_NATIVE_ADDON_ARGS_H
#define BERTH_NATIVE_ADDON_ARGS_H

#include <napi.h>
#include <stdint.h>

#include <string>

namespace berth {

// info[index] as an integer in [min, max]. `what` names it in the message: "pidfdOpen: pid".
bool ArgInt(const Napi::CallbackInfo& info, size_t index, const char* what, int64_t min, int64_t max, int64_t* out);

// info[index] as a file descriptor (an integer >= 0).
bool ArgFd(const Napi::CallbackInfo& info, size_t index, const char* what, int* out);

// info[index] as a string without NUL (a path the kernel would otherwise cut short).
bool ArgPath(const Napi::CallbackInfo& info, size_t index, const char* what, std::string* out);

}  // namespace berth

#endif  // BERTH_NATIVE_ADDON_ARGS_H
