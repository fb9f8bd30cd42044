#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver where either is missing: as root on Debian, with
# apt-get. The browser checks of the book and of the explorer call it under --install.
set -euo pipefail
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
