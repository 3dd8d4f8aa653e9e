#!/usr/bin/env bash
# No default passwords, ssh off, host keys made per device, the data dir on its own
# path (its own partition when the card has one labelled REGISTER-DATA).
set -euo pipefail

passwd -l root > /dev/null
# No account may log in with a password: every hash field is locked or empty-locked.
unlocked=$(awk -F: '$2 !~ /^(\*|!.*)$/ { print $1 }' /etc/shadow)
if [ -n "$unlocked" ]; then
  echo "accounts with a password: $unlocked" >&2
  exit 1
fi

systemctl disable ssh.service > /dev/null 2>&1 || true
systemctl disable ssh.socket > /dev/null 2>&1 || true
rm -f /etc/ssh/ssh_host_*

install -d -o register -g register -m 0750 /var/lib/appliance
if ! grep -q ' /var/lib/appliance ' /etc/fstab 2>/dev/null; then
  cat >> /etc/fstab <<'FSTAB'
# The register's data (LMDB outbox and cache): its own partition when the card has
# one labelled REGISTER-DATA; without one it is a directory on the root filesystem.
# Either way no upgrade of the software touches it.
LABEL=REGISTER-DATA /var/lib/appliance ext4 defaults,noatime,nofail,x-systemd.device-timeout=5s 0 2
FSTAB
fi
