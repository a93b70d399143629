/*
 * berth conformance probe: a static program that runs as the container's process and prints,
 * as one JSON object on stdout, what it observes from inside. The tests compare it with the
 * config. Extra arguments ask for more: `r:PATH` reads a file (content or errno), `w:PATH`
 * tries to open it for writing, `c:PATH` tries to create it (errno or 0).
 * Built by the tests with `gcc -static`; no libc beyond what a static link carries.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static void str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20 || c == 0x7f) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static void key(const char *k, int first) {
  if (!first) putchar(',');
  str(k);
  putchar(':');
}

/* A whole small file as a string, or NULL with errno set. */
static char *slurp(const char *path) {
  static char buf[1 << 16];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
  int e = errno;
  close(fd);
  if (r < 0) { errno = e; return NULL; }
  buf[n] = 0;
  return buf;
}

static void status_field(const char *status, const char *name, int first) {
  char pat[64];
  snprintf(pat, sizeof pat, "\n%s:\t", name);
  const char *p = strstr(status, pat);
  key(name, first);
  if (!p) { printf("null"); return; }
  p += strlen(pat);
  char v[128];
  size_t i = 0;
  while (p[i] && p[i] != '\n' && i < sizeof v - 1) { v[i] = p[i]; i++; }
  v[i] = 0;
  str(v);
}

static const struct { const char *name; int res; } limits[] = {
  {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_CPU", RLIMIT_CPU},
  {"RLIMIT_DATA", RLIMIT_DATA}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_LOCKS", RLIMIT_LOCKS},
  {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
  {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_RSS", RLIMIT_RSS},
  {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
  {"RLIMIT_STACK", RLIMIT_STACK},
};

static const char *devs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
                             "/dev/ptmx", "/dev/console", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr",
                             "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/conf-dev"};

static const char *nss[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};

int main(int argc, char **argv) {
  char buf[4096];
  putchar('{');
  key("args", 1);
  putchar('[');
  for (int i = 0; i < argc; i++) { if (i) putchar(','); str(argv[i]); }
  putchar(']');
  key("env", 0);
  putchar('[');
  for (char **e = environ; *e; e++) { if (e != environ) putchar(','); str(*e); }
  putchar(']');
  key("cwd", 0);
  if (getcwd(buf, sizeof buf)) str(buf); else printf("null");
  printf(",\"pid\":%d,\"uid\":%u,\"gid\":%u,\"euid\":%u,\"egid\":%u", getpid(), getuid(), getgid(), geteuid(), getegid());
  gid_t groups[256];
  int ng = getgroups(256, groups);
  key("groups", 0);
  putchar('[');
  for (int i = 0; i < ng; i++) printf(i ? ",%u" : "%u", groups[i]);
  putchar(']');
  mode_t um = umask(0);
  umask(um);
  printf(",\"umask\":%u", (unsigned)um);
  struct utsname u;
  uname(&u);
  key("hostname", 0);
  str(u.nodename);
  key("domainname", 0);
  str(u.domainname);

  char *status = slurp("/proc/self/status");
  char st[1 << 14];
  snprintf(st, sizeof st, "\n%s", status ? status : "");
  key("status", 0);
  putchar('{');
  const char *fields[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"};
  for (unsigned i = 0; i < sizeof fields / sizeof *fields; i++) status_field(st, fields[i], i == 0);
  putchar('}');

  key("rlimits", 0);
  putchar('{');
  for (unsigned i = 0; i < sizeof limits / sizeof *limits; i++) {
    struct rlimit rl;
    key(limits[i].name, i == 0);
    if (getrlimit(limits[i].res, &rl) != 0) { printf("null"); continue; }
    printf("{\"soft\":\"%llu\",\"hard\":\"%llu\"}", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
  }
  putchar('}');

  key("ns", 0);
  putchar('{');
  for (unsigned i = 0; i < sizeof nss / sizeof *nss; i++) {
    char p[64];
    snprintf(p, sizeof p, "/proc/self/ns/%s", nss[i]);
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    key(nss[i], i == 0);
    if (n < 0) { printf("null"); continue; }
    buf[n] = 0;
    str(buf);
  }
  putchar('}');

  key("devices", 0);
  putchar('{');
  for (unsigned i = 0; i < sizeof devs / sizeof *devs; i++) {
    struct stat s;
    key(devs[i], i == 0);
    if (lstat(devs[i], &s) != 0) { printf("null"); continue; }
    const char *t = S_ISCHR(s.st_mode) ? "c" : S_ISBLK(s.st_mode) ? "b" : S_ISLNK(s.st_mode) ? "l" : S_ISDIR(s.st_mode) ? "d" : S_ISFIFO(s.st_mode) ? "p" : "f";
    printf("{\"type\":\"%s\",\"mode\":%u,\"major\":%u,\"minor\":%u,\"uid\":%u,\"gid\":%u", t, (unsigned)(s.st_mode & 07777),
           major(s.st_rdev), minor(s.st_rdev), s.st_uid, s.st_gid);
    if (S_ISLNK(s.st_mode)) {
      ssize_t n = readlink(devs[i], buf, sizeof buf - 1);
      buf[n < 0 ? 0 : n] = 0;
      key("target", 0);
      str(buf);
    }
    putchar('}');
  }
  putchar('}');

  char *oom = slurp("/proc/self/oom_score_adj");
  printf(",\"oomScoreAdj\":%d", oom ? atoi(oom) : -99999);

  key("files", 0);
  putchar('{');
  int first = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strlen(a) < 3 || a[1] != ':') continue;
    key(a, first);
    first = 0;
    if (a[0] == 'r') {
      char *c = slurp(a + 2);
      if (c) { printf("{\"content\":"); str(c); printf("}"); }
      else printf("{\"errno\":%d}", errno);
    } else {
      int fd = a[0] == 'w' ? open(a + 2, O_WRONLY | O_CLOEXEC) : open(a + 2, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      printf("{\"errno\":%d}", fd < 0 ? errno : 0);
      if (fd >= 0) { close(fd); if (a[0] == 'c') unlink(a + 2); }
    }
  }
  putchar('}');

  char *mi = slurp("/proc/self/mountinfo");
  key("mountinfo", 0);
  str(mi ? mi : "");
  printf("}\n");
  return 0;
}
