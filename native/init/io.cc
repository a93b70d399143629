#include "io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace berth {

int write_all(int fd, const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

int write_str(int fd, const char* s) { return write_all(fd, s, strlen(s)); }

long drain(int fd, size_t limit) {
  char buf[4096];
  size_t total = 0;
  while (total < limit) {
    size_t want = limit - total < sizeof buf ? limit - total : sizeof buf;
    ssize_t n = read(fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  return static_cast<long>(total);
}

int read_all(int fd, size_t limit, unsigned char** out, size_t* len) {
  size_t cap = 64 * 1024, used = 0;
  unsigned char* buf = static_cast<unsigned char*>(malloc(cap));
  if (buf == nullptr) return -ENOMEM;
  for (;;) {
    if (used == cap) {
      if (cap > limit) {
        free(buf);
        return -EFBIG;
      }
      unsigned char* bigger = static_cast<unsigned char*>(realloc(buf, cap * 2));
      if (bigger == nullptr) {
        free(buf);
        return -ENOMEM;
      }
      buf = bigger;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + used, cap - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      free(buf);
      return -err;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
    if (used > limit) {
      free(buf);
      return -EFBIG;
    }
  }
  *out = buf;
  *len = used;
  return 0;
}

}  // namespace berth
