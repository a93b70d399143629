#include "io.h"

#include <errno.h>
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

}  // namespace berth
