#!/bin/bash
# scripts/install.sh [PREFIX]   (npm run install-berth; PREFIX defaults to /usr/local, DESTDIR is honoured)
# Installs the built berth where engines find it:
#   PREFIX/lib/berth/berth (+ berth-*.js) the bundled CLI (no node_modules)
#   PREFIX/lib/berth/berth-init          the static init the CLI execs inside containers
#   PREFIX/lib/berth/berth_native.node   the addon
#   PREFIX/bin/berth -> ../lib/berth/berth
#   PREFIX/lib/berth/containerd-shim-berth-v1  containerd's runtime v2 shim (io.containerd.berth.v1;
#     an sh program; its Node entry is berth-shim-entry.js, its server berth-shim.js)
#   PREFIX/bin/containerd-shim-berth-v1 -> ../lib/berth/containerd-shim-berth-v1 (containerd
#     finds a shim by that name on its PATH)
#   PREFIX/share/man/man8/berth.8, berth-VERB.8   the man pages (npm run build writes man/)
#   PREFIX/share/bash-completion/completions/berth  from `berth completion bash`
#   PREFIX/share/zsh/site-functions/_berth          from `berth completion zsh`
# scripts/uninstall.sh [PREFIX] removes exactly these files (and the directories left empty).
# src/native looks for berth-init and the addon next to the bundle; Node resolves the symlink of
# the main script, so the bundle's directory is PREFIX/lib/berth even when run as PREFIX/bin/berth.
# berth-init is not writable by anyone but root (CVE-2019-5736: a container must never be able to
# rewrite the runtime; it is also run from a sealed memfd).
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${1:-${PREFIX:-/usr/local}}
DEST=${DESTDIR:-}
# bin/berth is a small entry that loads the bundles beside it (berth-fast.js for the hot
# verbs, berth-main.js for the rest; berth-validators.js, berth-image.js and berth-dbus.js on
# first use).
bundles=(bin/berth-fast.js bin/berth-launch.js bin/berth-main.js bin/berth-validators.js bin/berth-image.js bin/berth-dbus.js bin/berth-shim.js bin/berth-shim-entry.js)
for f in bin/berth bin/containerd-shim-berth-v1 "${bundles[@]}" build/Release/berth-init build/Release/berth_native.node man/berth.8; do
  [ -f "$f" ] || { echo "install: $f is missing: run npm run build first" >&2; exit 1; }
done
base="$DEST$PREFIX"
lib="$base/lib/berth"
# What this install puts under PREFIX, for scripts/uninstall.sh: "d DIR" for each directory it
# made (none that was there before), "f FILE" for each file and link, paths relative to PREFIX.
made=()
mkdirs() {
  local d p new
  for d in "$@"; do
    new=()
    p=$d
    while [ ! -d "$p" ]; do
      new=("$p" "${new[@]}")
      p=$(dirname "$p")
    done
    install -d -m 0755 "$d"
    for p in "${new[@]}"; do made+=("d ${p#"$base"/}"); done
  done
}
files=()
put() { files+=("f ${1#"$base"/}"); }
mkdirs "$lib" "$base/bin"
install -m 0755 bin/berth "$lib/berth" && put "$lib/berth"
install -m 0755 bin/containerd-shim-berth-v1 "$lib/containerd-shim-berth-v1" && put "$lib/containerd-shim-berth-v1"
install -m 0644 "${bundles[@]}" "$lib/"
for f in "${bundles[@]}"; do put "$lib/${f#bin/}"; done
# V8 code caches (optional: bin/berth compiles without them); install keeps their stamps valid
# only with -p (the bundle's mtime), so copy both with preserved times.
for c in bin/*.js.cache; do [ -f "$c" ] && cp -p "${c%.cache}" "$c" "$lib/" && put "$lib/${c#bin/}" && put "$lib/$(basename "${c%.cache}")"; done
install -m 0755 build/Release/berth-init "$lib/berth-init" && put "$lib/berth-init"
install -m 0755 build/Release/berth_native.node "$lib/berth_native.node" && put "$lib/berth_native.node"
ln -sfn ../lib/berth/berth "$base/bin/berth" && put "$base/bin/berth"
ln -sfn ../lib/berth/containerd-shim-berth-v1 "$base/bin/containerd-shim-berth-v1" && put "$base/bin/containerd-shim-berth-v1"
man8="$base/share/man/man8"
mkdirs "$man8"
install -m 0644 man/*.8 "$man8/"
for f in man/*.8; do put "$man8/${f#man/}"; done
completions="$base/share/bash-completion/completions"
mkdirs "$completions"
"$lib/berth" completion bash > "$completions/berth"
chmod 0644 "$completions/berth" && put "$completions/berth"
zshfuncs="$base/share/zsh/site-functions"
mkdirs "$zshfuncs"
"$lib/berth" completion zsh > "$zshfuncs/_berth"
chmod 0644 "$zshfuncs/_berth" && put "$zshfuncs/_berth"
# A second install over a first keeps the first one's directories: they are still berth's to remove.
manifest="$lib/installed"
{
  [ -f "$manifest" ] && grep '^d ' "$manifest"
  printf '%s\n' "${made[@]}"
  printf '%s\n' "${files[@]}"
} 2>/dev/null | awk 'NF && !seen[$0]++' > "$manifest.new"
mv "$manifest.new" "$manifest"
chmod 0644 "$manifest"
echo "installed $base/bin/berth ($("$lib/berth" --version | head -1))"
