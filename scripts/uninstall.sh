#!/bin/bash
# scripts/uninstall.sh [PREFIX]   (PREFIX defaults to /usr/local, DESTDIR is honoured, as in install.sh)
# Removes what scripts/install.sh installed under PREFIX, and nothing else: the files listed in
# PREFIX/lib/berth/installed (the bundles, berth-init, the addon, the two links in PREFIX/bin,
# the man pages share/man/man8/berth*.8, the bash and zsh completions), then the directories
# install.sh made, each only if it is empty (a file someone else put there keeps it).
# Needs no checkout: it reads only the list.
set -euo pipefail
PREFIX=${1:-${PREFIX:-/usr/local}}
base="${DESTDIR:-}$PREFIX"
manifest="$base/lib/berth/installed"
if [ ! -f "$manifest" ]; then
  echo "uninstall: $manifest is missing: berth was not installed in $base by scripts/install.sh" >&2
  exit 1
fi
dirs=()
removed=0
while read -r kind rel; do
  case "$rel" in "" | /* | *..*) echo "uninstall: $manifest: bad entry \"$kind $rel\"" >&2; exit 1 ;; esac
  case "$kind" in
    f) if [ -e "$base/$rel" ] || [ -L "$base/$rel" ]; then rm -f -- "$base/$rel"; removed=$((removed + 1)); fi ;;
    d) dirs+=("$rel") ;;
    *) echo "uninstall: $manifest: bad entry \"$kind $rel\"" >&2; exit 1 ;;
  esac
done < "$manifest"
rm -f -- "$manifest"
# The deepest first: the list holds each directory after its parent.
for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
  d="$base/${dirs[i]}"
  [ -d "$d" ] || continue
  rmdir -- "$d" 2>/dev/null || echo "uninstall: kept $d: it holds files berth did not install" >&2
done
echo "uninstalled berth from $base ($removed files)"
