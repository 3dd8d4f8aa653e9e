#!/usr/bin/env bash
# Base system: networking by systemd-networkd, the clock by timesyncd (a Pi has no
# RTC: TLS to the broker needs the right date), a host name until first boot sets it.
set -euo pipefail

systemctl enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service
echo register-unconfigured > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\tregister-unconfigured\n' > /etc/hosts
# An empty machine-id: systemd makes a new one on each device's first boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
