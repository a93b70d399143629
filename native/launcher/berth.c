/*
 * bin/berth: the command engines exec. It only picks how Node starts, then execs it:
 *
 *   create / run   NODE --snapshot-blob DIR/berth-launch.blob -- ARGS
 *                  the V8 startup snapshot of the whole CLI (src/cli/snapshot.ts), with NODE
 *                  the node binary that built the blob (recorded in DIR/berth.snapshot with
 *                  its size and mtime: a blob only loads in the node that made it)
 *   anything else  node DIR/berth.js ARGS
 *                  the small entry with V8 code caches (src/cli/entry.ts), node from PATH,
 *                  as the `#!/usr/bin/env node` script bin/berth was before
 *
 * Why two ways: measured in bench/results.md, the snapshot starts create/run faster (all of
 * their code arrives compiled) but state/kill/list slower (its heap is larger than what those
 * verbs need). Both ways run the same parser and verbs, so the choice made here -- a quick look
 * for the verb, skipping global flags -- only affects speed, never behaviour. Without a usable
 * snapshot (no blob, node replaced since the build, BERTH_SNAPSHOT=off) create and run take
 * the second way too.
 *
 * DIR is this program's own directory (/proc/self/exe, so a symlink such as PREFIX/bin/berth
 * finds PREFIX/lib/berth). Plain C, no allocation worth speaking of, one exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Global flags that take a value as the next argument (src/cli/fast-args.ts valueFlags). */
static int takes_value(const char *a)
{
  static const char *const flags[] = {"--root", "--log", "--log-format", "--rootless", "--criu", NULL};
  for (int i = 0; flags[i]; i++)
    if (strcmp(a, flags[i]) == 0) return 1;
  return 0;
}

static int is_launch_verb(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) return 0;
    if (a[0] == '-') {
      if (takes_value(a)) i++;
      continue;
    }
    return strcmp(a, "create") == 0 || strcmp(a, "run") == 0;
  }
  return 0;
}

/* DIR/berth.snapshot: "NODE_PATH\nSIZE MTIME_SEC MTIME_NSEC\n"; true when that node is unchanged. */
static int snapshot_node(const char *dir, char *node, size_t len)
{
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/berth.snapshot", dir) >= (int)sizeof path) return 0;
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  long long size = -1, sec = -1, nsec = -1;
  int ok = fgets(node, (int)len, f) != NULL && fscanf(f, "%lld %lld %lld", &size, &sec, &nsec) == 3;
  fclose(f);
  if (!ok) return 0;
  node[strcspn(node, "\n")] = '\0';
  struct stat st;
  if (node[0] != '/' || stat(node, &st) != 0) return 0;
  return st.st_size == size && st.st_mtim.tv_sec == sec && st.st_mtim.tv_nsec == nsec;
}

int main(int argc, char **argv)
{
  char dir[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
  if (n <= 0) {
    fprintf(stderr, "berth: cannot find its own directory: readlink /proc/self/exe: %s\n", strerror(errno));
    return 127;
  }
  dir[n] = '\0';
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';

  char **args = calloc((size_t)argc + 5, sizeof *args);
  if (!args) return 127;
  char file[PATH_MAX + 32]; /* dir is shorter than PATH_MAX: the names below always fit */
  const char *off = getenv("BERTH_SNAPSHOT");
  char node[PATH_MAX];
  if (!(off && strcmp(off, "off") == 0) && is_launch_verb(argc, argv) && snapshot_node(dir, node, sizeof node)) {
    int len = snprintf(file, sizeof file, "%s/berth-launch.blob", dir);
    if (len > 0 && len < (int)sizeof file && access(file, R_OK) == 0) {
      int k = 0;
      args[k++] = node;
      args[k++] = "--snapshot-blob";
      args[k++] = file;
      args[k++] = "--";
      for (int i = 1; i < argc; i++) args[k++] = argv[i];
      execv(node, args);
      /* fall through to the plain entry */
    }
  }
  int len = snprintf(file, sizeof file, "%s/berth.js", dir);
  if (len <= 0 || len >= (int)sizeof file) return 127;
  int k = 0;
  args[k++] = "node";
  args[k++] = file;
  for (int i = 1; i < argc; i++) args[k++] = argv[i];
  args[k] = NULL;
  execvp("node", args);
  fprintf(stderr, "berth: cannot run node: %s\n", strerror(errno));
  return 127;
}
