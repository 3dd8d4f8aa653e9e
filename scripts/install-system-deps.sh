#!/usr/bin/env bash
# Install the Debian packages the register, its tests and its demo need.
# Idempotent: packages already installed are not asked for again, and apt's lists
# are refreshed only when something is missing. Run as root, or with sudo available.
set -euo pipefail

packages=(
  python3 python3-venv          # the venv the Makefile builds
  mosquitto                     # the MQTT broker (tests and demo start their own)
  openssl                       # the TLS tests make a throwaway CA
  postgresql                    # throwaway clusters for the back office tests
  xvfb xauth                    # a real X server with no display (xvfb-run needs xauth)
  libegl1 libgl1-mesa-dri libgbm1 libmtdev1   # what a Kivy (SDL2 + GL) window needs
  libusb-1.0-0                  # pyusb: USB printers and `appliance hw list` of USB devices
  chromium                      # the dashboard's browser test (headless, driven by Playwright)
  debootstrap systemd-container # the image tests: a host-arch root filesystem, run in a chroot
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

echo "installing Debian packages: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
