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
lib="$DEST$PREFIX/lib/berth"
install -d -m 0755 "$lib" "$DEST$PREFIX/bin"
install -m 0755 bin/berth "$lib/berth"
install -m 0755 bin/containerd-shim-berth-v1 "$lib/containerd-shim-berth-v1"
install -m 0644 "${bundles[@]}" "$lib/"
# V8 code caches (optional: bin/berth compiles without them); install keeps their stamps valid
# only with -p (the bundle's mtime), so copy both with preserved times.
for c in bin/*.js.cache; do [ -f "$c" ] && cp -p "${c%.cache}" "$c" "$lib/"; done
install -m 0755 build/Release/berth-init "$lib/berth-init"
install -m 0755 build/Release/berth_native.node "$lib/berth_native.node"
ln -sfn ../lib/berth/berth "$DEST$PREFIX/bin/berth"
ln -sfn ../lib/berth/containerd-shim-berth-v1 "$DEST$PREFIX/bin/containerd-shim-berth-v1"
man8="$DEST$PREFIX/share/man/man8"
install -d -m 0755 "$man8"
install -m 0644 man/*.8 "$man8/"
completions="$DEST$PREFIX/share/bash-completion/completions"
install -d -m 0755 "$completions"
"$lib/berth" completion bash > "$completions/berth"
chmod 0644 "$completions/berth"
echo "installed $DEST$PREFIX/bin/berth ($("$lib/berth" --version | head -1))"
