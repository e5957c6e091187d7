#!/usr/bin/env bash
# The one install command: Debian packages the tests need, then the npm packages (whose `prepare` builds dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm ci --no-audit --no-fund
