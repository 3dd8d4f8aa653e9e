# A field tech's shell: `appliance status`, `appliance hw list`... work as typed.
set -a
. /etc/default/register
set +a
PATH="$PATH:/opt/register/venv/bin"
