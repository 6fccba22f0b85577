#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/serve/test_browser.py drives it through
# Playwright's Python package; `playwright install` cannot download on an offline machine).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium
