#!/bin/bash
# make-busybox-bundle.sh DIR [CMD...]: an OCI bundle whose rootfs is the host's busybox-static
# (Debian's busybox-static package), with `berth spec`'s config running CMD (default: print the
# hostname and pid from inside), no terminal.
set -euo pipefail
dir=${1:?usage: make-busybox-bundle.sh DIR [CMD...]}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
busybox=/bin/busybox
if ! file -L "$busybox" 2>/dev/null | grep -q "statically linked" && ! ldd "$busybox" 2>&1 | grep -q "not a dynamic"; then
  echo "make-busybox-bundle: $busybox is not static: apt-get install busybox-static" >&2
  exit 1
fi
rm -rf "$dir"
mkdir -p "$dir/rootfs"/{bin,dev,etc,proc,sys,tmp,root}
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$dir/rootfs/etc/passwd"
echo "root:x:0:" > "$dir/rootfs/etc/group"
"$here/bin/berth" spec --bundle "$dir"
if [ $# -eq 0 ]; then set -- sh -c 'echo "hello from $(hostname), I am pid $$ in my own namespaces"'; fi
node -e '
const fs = require("fs");
const path = process.argv[1] + "/config.json";
const c = JSON.parse(fs.readFileSync(path, "utf8"));
c.process.terminal = false;
c.process.args = process.argv.slice(2);
fs.writeFileSync(path, JSON.stringify(c, null, "\t") + "\n");
' "$dir" "$@"
