#!/usr/bin/env bash
# The register user runs the screen and owns the data; it has no password (locked)
# and no shell. Groups: serial scales and scanners (dialout), the screen (video,
# render, input, tty for X on the console).
set -euo pipefail

if ! id register > /dev/null 2>&1; then
  useradd --system --create-home --home-dir /home/register --shell /usr/sbin/nologin \
    --user-group register
fi
for group in dialout video render input tty; do
  if getent group "$group" > /dev/null; then usermod -a -G "$group" register; fi
done
passwd -l register > /dev/null
systemctl set-default graphical.target
test -x /usr/bin/Xorg
