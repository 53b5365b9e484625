#!/usr/bin/env bash
# Headless Chromium from Debian's packages, for the trajectory viewer's browser test
# (tests/test_viewer.py skips without it). Idempotent; needs root or sudo.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    chromium --version
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
chromium --version
