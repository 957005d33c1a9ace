#!/usr/bin/env bash
# Installs the system packages the tests need. Idempotent: packages already present are
# not installed again, and apt is not touched at all when nothing is missing.
#   git             — test Git servers (git http-backend) and pushes in tests
#   openssh-server  — the real sshd that test/gitserver runs on loopback
#   openssh-client  — ssh-keygen (host and client keys) and ssh for git push over SSH
#   prometheus      — the real Prometheus server that test/prometheus runs on loopback
#   chromium        — the headless browser the dashboard's tests drive (chromedp)
#   fonts-dejavu-core — a font for it, so pages and screenshots have readable text
set -euo pipefail

PACKAGES=(git openssh-server openssh-client prometheus chromium fonts-dejavu-core)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=
if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
