#!/usr/bin/env bash
# Device access: the generated rules give the register user the scales, printers and
# scanners the profiles know, with stable names under /dev/register/.
set -euo pipefail

rules=/etc/udev/rules.d/70-register-devices.rules
test -s "$rules"
grep -q 'GROUP="register"' "$rules"
getent group register > /dev/null
