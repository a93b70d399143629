#!/bin/bash
# The README's first command: install what berth needs, build it, and use it on a default
# bundle. Run as root on a fresh Debian 12 from a clone of the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
npm ci --no-audit --no-fund
npm run build
bundle=/tmp/berth-quickstart
rm -rf "$bundle" && mkdir -p "$bundle"
bin/berth spec --bundle "$bundle"
echo "--- berth check on the default spec ($bundle/config.json):"
bin/berth check --bundle "$bundle"
