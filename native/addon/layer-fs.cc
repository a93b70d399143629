// layer-fs.cc: the filesystem calls of the layer model (src/image) that Node does not expose.
//
// An image layer on disk uses overlayfs' own forms: a whiteout is a 0:0 character device
// (mknod), an opaque directory carries the trusted.overlay.opaque="y" xattr (lsetxattr /
// lgetxattr: never follow a symlink, the path is inside an untrusted layer), and a container's
// rootfs is an overlay mount (mount(2) / umount2(2)). The decisions (which path, which option
// string) are made in TypeScript; these functions only execute.
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <string>

#include "addon.h"
#include "errors.h"

namespace berth {

namespace {

bool StringArg(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) return false;
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

bool UintArg(const Napi::CallbackInfo& info, size_t i, unsigned* out) {
  if (info.Length() <= i || !info[i].IsNumber()) return false;
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<unsigned>(d))) return false;
  *out = static_cast<unsigned>(d);
  return true;
}

}  // namespace

// mountOverlay(target, data): mount("overlay", target, "overlay", 0, data).
Napi::Value MountOverlay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target, data;
  if (!StringArg(info, 0, &target) || !StringArg(info, 1, &data)) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "mountOverlay: (target, data) must be strings");
  }
  if (mount("overlay", target.c_str(), "overlay", 0, data.c_str()) != 0) return ThrowErrno(env, errno, "mount", target.c_str());
  return env.Undefined();
}

// umount(target, detach?): umount2(target, UMOUNT_NOFOLLOW [| MNT_DETACH]).
Napi::Value Umount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target;
  if (!StringArg(info, 0, &target)) return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "umount: target must be a string");
  int flags = UMOUNT_NOFOLLOW;
  if (info.Length() > 1 && info[1].ToBoolean().Value()) flags |= MNT_DETACH;
  if (umount2(target.c_str(), flags) != 0) return ThrowErrno(env, errno, "umount2", target.c_str());
  return env.Undefined();
}

// mknod(path, mode, major, minor): mode includes the file type (S_IFCHR, S_IFBLK, S_IFIFO).
Napi::Value Mknod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  unsigned mode, major, minor;
  if (!StringArg(info, 0, &path) || !UintArg(info, 1, &mode) || !UintArg(info, 2, &major) || !UintArg(info, 3, &minor)) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "mknod: (path, mode, major, minor) expected");
  }
  if (mknod(path.c_str(), static_cast<mode_t>(mode), makedev(major, minor)) != 0) return ThrowErrno(env, errno, "mknod", path.c_str());
  return env.Undefined();
}

// lsetxattr(path, name, value).
Napi::Value Lsetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, name, value;
  if (!StringArg(info, 0, &path) || !StringArg(info, 1, &name) || !StringArg(info, 2, &value)) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "lsetxattr: (path, name, value) must be strings");
  }
  if (lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) return ThrowErrno(env, errno, "lsetxattr", path.c_str());
  return env.Undefined();
}

// lgetxattr(path, name) -> string, or null when the attribute is not set (ENODATA).
Napi::Value Lgetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, name;
  if (!StringArg(info, 0, &path) || !StringArg(info, 1, &name)) {
    return ThrowTypeError(env, "ERR_INVALID_ARG_TYPE", "lgetxattr: (path, name) must be strings");
  }
  char buf[256];
  ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf, sizeof buf);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return env.Null();
    return ThrowErrno(env, errno, "lgetxattr", path.c_str());
  }
  return Napi::String::New(env, buf, static_cast<size_t>(n));
}

}  // namespace berth
