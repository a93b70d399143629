// errors.h: how C++ reports failures to JavaScript.
//
// The addon is built without C++ exceptions (NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS,
// -fno-exceptions, as berth-init): a function that fails throws a JS exception with one of
// these helpers and returns right away; node-addon-api raises it when we return to V8.
//
// A syscall failure becomes an Error shaped like Node's own (fs, child_process) so callers
// handle both alike: `code` ("ENOENT"), `errno`, `syscall`, and `path` when there is one.
// Unlike Node, `errno` is the kernel's positive value, so it compares directly with
// os.constants.errno and with the errno berth-init reports in its error record.
#ifndef BERTH_NATIVE_ADDON_ERRORS_H
#define BERTH_NATIVE_ADDON_ERRORS_H

#include <napi.h>

#include <string>

namespace berth {

// Builds the Error for `err` (an errno value) returned by `syscall`. Message:
// "<CODE>: <lower-case text>, <syscall>[ '<path>']", as Node words it.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const char* path = nullptr);

// Throws ErrnoError and returns undefined, for `return ThrowErrno(env, errno, "uname");`.
Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const char* path = nullptr);

// Throws a TypeError carrying Node's code for the case (ERR_INVALID_ARG_TYPE,
// ERR_INVALID_ARG_VALUE), so argument errors look the same from C++ and from TypeScript.
Napi::Value ThrowTypeError(Napi::Env env, const char* code, const std::string& message);

// The errno's symbolic name ("ENOENT"), or "E<number>" for one libc does not know.
std::string ErrnoName(int err);

}  // namespace berth

#endif  // BERTH_NATIVE_ADDON_ERRORS_H
