#!/usr/bin/env bash
# First boot: the unit runs `appliance firstboot` while /boot/firmware/register.toml
# exists; the kiosk stays off until it accepts the file.
set -euo pipefail

systemctl enable register-firstboot.service
systemctl disable register-kiosk.service > /dev/null 2>&1 || true
install -d -m 0755 /usr/share/doc/register
rm -f /boot/firmware/.keep
