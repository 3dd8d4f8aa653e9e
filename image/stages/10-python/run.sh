#!/usr/bin/env bash
# The register's own venv, from the bundle the builder made (wheels pinned by
# requirements.lock, the appliance wheel built from this repository), installed
# offline by the same script an upgrade uses.
set -euo pipefail

bundle=/tmp/register-build/bundle
/usr/lib/register/install-release "$bundle"
ln -sfn "releases/$(cat "$bundle/VERSION")" /opt/register/venv
/opt/register/venv/bin/appliance --help > /dev/null
