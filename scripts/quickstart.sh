#!/bin/bash
# The README's first command: install what berth needs, build it, make a busybox bundle from
# the host's busybox-static, and run a container in it. Run as root on a fresh Debian 12 from
# a clone of the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
npm ci --no-audit --no-fund
npm run build
bundle=/tmp/berth-quickstart
scripts/make-busybox-bundle.sh "$bundle"
echo "--- berth check --bundle $bundle"
bin/berth check --bundle "$bundle"
echo "--- berth run --bundle $bundle quickstart"
bin/berth --root /run/berth run --bundle "$bundle" "quickstart-$$"
