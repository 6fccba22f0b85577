#!/usr/bin/env bash
# Make sure the operational-CRM stand-ins the tests talk to are up: PostgreSQL on 127.0.0.1:5432
# and MariaDB on 127.0.0.1:3306. Installs them from Debian's packages when missing, starts them
# when stopped, and waits until they answer.
set -uo pipefail

need_apt=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
[ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "services: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
fi
if ! mysqladmin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
  echo "services: starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
for _ in $(seq 1 60); do
  pg_ok=0; my_ok=0
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && pg_ok=1
  mysqladmin -h 127.0.0.1 -u root ping >/dev/null 2>&1 && my_ok=1
  if [ $pg_ok = 1 ] && [ $my_ok = 1 ]; then
    echo "services: PostgreSQL and MariaDB are up"
    exit 0
  fi
  sleep 1
done
echo "services: PostgreSQL up=$pg_ok, MariaDB up=$my_ok after 60s" >&2
exit 1
