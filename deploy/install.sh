#!/usr/bin/env bash
# Install a fivesafes deployment: its folders, config, TLS-only PostgreSQL cluster, keys, the
# encrypted volume its data lives on and the systemd units that run it (the volume, the API
# server and PostgreSQL; jobs run in-process, see below).
#
#   deploy/install.sh --config FILE [--root DIR] [--user NAME] [--fivesafes PATH]
#                     [--db-user NAME] [--pg-port N]
#
# --config    the deployment's settings (docs/running-an-environment.md, "Settings"); it is
#             installed as ROOT/etc/fivesafes/fivesafes.toml, with data_dir, key_file,
#             database_url and the TLS paths filled in where it leaves them out
# --root      install under DIR instead of / (a rehearsal, or the test that runs these very
#             steps on loopback); the units then name paths under DIR
# --user      the account the services run as (default fivesafes; created if missing and root)
# --fivesafes the fivesafes executable the units run (default: the one on PATH)
# --db-user   the account PostgreSQL runs as (default: --user; PostgreSQL never runs as root)
# --pg-port   the port of the deployment's own PostgreSQL cluster on 127.0.0.1 (default 5432)
#
# The data directory (store, workspaces, outputs, ledger, the pseudonym and ledger keys) is a
# gocryptfs volume (SATRE 2.8.01): its encrypted files in /var/lib/fivesafes/data.gocryptfs,
# its passphrase, which wraps the volume's master key, in /etc/credstore (root only),
# mounted by fivesafes-volume.service, which the API requires. Key management:
# docs/running-an-environment.md, "Encryption".
#
# Every step can be run again: existing keys, certificates, volumes and database clusters are
# kept.
# Afterwards: `systemctl daemon-reload && systemctl enable --now fivesafes.target`, or, where
# there is no systemd, `python3 deploy/run_units.py ROOT/etc/systemd/system` starts the units'
# own commands. Then `fivesafes doctor` checks the result.
set -euo pipefail

root="" config="" user="fivesafes" fivesafes="$(command -v fivesafes || true)" port=5432 db_user=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --root) root="$(realpath -m "$2")"; shift 2 ;;
        --config) config="$2"; shift 2 ;;
        --user) user="$2"; shift 2 ;;
        --fivesafes) fivesafes="$(realpath "$2")"; shift 2 ;;
        --pg-port) port="$2"; shift 2 ;;
        --db-user) db_user="$2"; shift 2 ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
db_user="${db_user:-$user}"
[[ -n "$config" && -f "$config" ]] || { echo "install.sh: --config FILE is required" >&2; exit 2; }
[[ -x "$fivesafes" ]] || { echo "install.sh: no fivesafes executable (--fivesafes PATH)" >&2; exit 2; }
pg_bin="$(dirname "$(ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -1)")"
[[ -x "$pg_bin/postgres" ]] || { echo "install.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 2; }

gocryptfs="$(command -v gocryptfs || true)" fusermount="$(command -v fusermount3 || true)"
[[ -x "$gocryptfs" && -x "$fusermount" ]] || { echo "install.sh: gocryptfs is not installed (apt-get install gocryptfs fuse3)" >&2; exit 2; }

etc="$root/etc/fivesafes" lib="$root/var/lib/fivesafes" units="$root/etc/systemd/system"
data="$lib/data" pg="$lib/postgresql" tls="$etc/tls"
keys="$data/keys" cipher="$lib/data.gocryptfs" credstore="$root/etc/credstore"
passphrase="$credstore/fivesafes-volume.passphrase"
if [[ $EUID -eq 0 ]] && ! id "$user" >/dev/null 2>&1; then
    useradd --system --home-dir "$lib" --shell /usr/sbin/nologin "$user"
fi
install -d -m 0755 "$etc" "$units"
install -d -m 0711 "$lib"  # holds nothing itself; each service's own folder below is 0700
install -d -m 0700 "$data" "$cipher" "$credstore" "$tls"

# Mounted by root for the service account: allow_other lets it in, and gocryptfs then has the
# kernel check each file's owner and mode (default_permissions), as on any other filesystem.
mount_options=()
if [[ $EUID -eq 0 ]]; then mount_options=(-allow_other); fi
echo "== encrypted volume $cipher, mounted at $data"
if [[ ! -f "$cipher/gocryptfs.conf" ]]; then
    if ! mountpoint -q "$data" && [[ -n "$(ls -A "$data")" ]]; then
        echo "install.sh: $data holds files but no volume: copy them onto one (docs/running-an-environment.md, \"Encryption\")" >&2
        exit 2
    fi
    if [[ ! -f "$passphrase" ]]; then
        (umask 077 && openssl rand -hex 32 > "$passphrase")
    fi
    "$gocryptfs" -init -q -passfile "$passphrase" "$cipher"
fi
unmount=""
if ! mountpoint -q "$data"; then  # mounted for this script's own steps, and unmounted after
    "$gocryptfs" -q "${mount_options[@]}" -passfile "$passphrase" "$cipher" "$data"
    unmount="$data"
fi
trap '[[ -z "$unmount" ]] || "$fusermount" -u "$unmount"' EXIT
chmod 0700 "$data"
install -d -m 0700 "$keys"

echo "== TLS certificate (self-signed unless $tls/server.crt is already there)"
if [[ ! -f "$tls/server.crt" ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
        -subj "/CN=$(hostname -f 2>/dev/null || hostname)" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$tls/server.key" -out "$tls/server.crt" 2>/dev/null
    chmod 0600 "$tls/server.key"
fi

# The cluster is the deployment's own, so its default database (postgres) holds the control plane.
echo "== PostgreSQL cluster on 127.0.0.1:$port, TLS required for every connection"
if [[ ! -f "$pg/PG_VERSION" ]]; then
    install -d -m 0700 "$pg"
    password="$(openssl rand -hex 24)"
    printf '%s\n' "$password" > "$etc/db-password"
    chmod 0600 "$etc/db-password"
    run_pg=()
    if [[ $EUID -eq 0 ]]; then
        chown "$db_user" "$pg"
        run_pg=(runuser -u "$db_user" --)
    fi
    # beside the cluster, which its account reaches, not in $TMPDIR, which may be root's alone
    pwfile="$(mktemp "$(dirname "$pg")/.initdb-password.XXXXXX")"
    printf '%s\n' "$password" > "$pwfile"
    if [[ $EUID -eq 0 ]]; then chown "$db_user" "$pwfile"; fi
    (cd / && "${run_pg[@]}" "$pg_bin/initdb" -D "$pg" -U fivesafes -A scram-sha-256 -E UTF8 \
        --pwfile "$pwfile" >/dev/null)
    rm -f "$pwfile"
    cp "$tls/server.crt" "$pg/server.crt"; cp "$tls/server.key" "$pg/server.key"
    chmod 0600 "$pg/server.key"
    if [[ $EUID -eq 0 ]]; then chown "$db_user" "$pg/server.crt" "$pg/server.key"; fi
    cat > "$pg/pg_hba.conf" <<HBA
# TLS only: a connection without it matches no line and is refused.
hostssl all all 127.0.0.1/32 scram-sha-256
hostssl all all ::1/128 scram-sha-256
HBA
    cat >> "$pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
CONF
fi
password="$(cat "$etc/db-password")"

echo "== configuration: $etc/fivesafes.toml"
{
    cat "$config"
    grep -q '^data_dir' "$config" || echo "data_dir = \"$data\""
    grep -q '^key_file' "$config" || echo "key_file = \"$keys/pseudonym.key\""
    grep -q '^tls_certificate' "$config" || echo "tls_certificate = \"$tls/server.crt\""
    grep -q '^tls_key' "$config" || echo "tls_key = \"$tls/server.key\""
    grep -q '^database_url' "$config" || echo "database_url = \"postgresql://fivesafes:$password@127.0.0.1:$port/postgres?sslmode=verify-full&sslrootcert=$tls/server.crt\""
} > "$etc/fivesafes.toml.new"
chmod 0600 "$etc/fivesafes.toml.new"
mv "$etc/fivesafes.toml.new" "$etc/fivesafes.toml"
# Every setting checked now (a bad one stops the install, named), and given to the services as
# variables too, for the parts of fivesafes that read them directly.
"$fivesafes" settings --config "$etc/fivesafes.toml" --format env > "$etc/fivesafes.env"
chmod 0600 "$etc/fivesafes.env"
api_host="$(sed -n 's/^FIVESAFES_API_HOST=//p' "$etc/fivesafes.env")"
api_port="$(sed -n 's/^FIVESAFES_API_PORT=//p' "$etc/fivesafes.env")"
cert="$(sed -n 's/^FIVESAFES_TLS_CERTIFICATE=//p' "$etc/fivesafes.env")"
key="$(sed -n 's/^FIVESAFES_TLS_KEY=//p' "$etc/fivesafes.env")"
if [[ $EUID -eq 0 ]]; then
    chown -R "$user" "$etc" "$data"
    chown -R "$db_user" "$pg"
fi

echo "== systemd units in $units"
common="Environment=FIVESAFES_CONFIG=$etc/fivesafes.toml
EnvironmentFile=$etc/fivesafes.env
User=$user
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths=$lib
UMask=0077"
cat > "$units/fivesafes-postgresql.service" <<UNIT
[Unit]
Description=fivesafes control plane (PostgreSQL, TLS only)
After=network.target

[Service]
Type=simple
User=$db_user
ExecStart=$pg_bin/postgres -D $pg
ExecReload=/bin/kill -HUP \$MAINPID
KillMode=mixed
KillSignal=SIGINT
TimeoutStopSec=60
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=$lib

[Install]
WantedBy=fivesafes.target
UNIT
cat > "$units/fivesafes-volume.service" <<UNIT
[Unit]
Description=fivesafes data directory, on its gocryptfs encrypted volume
After=local-fs.target

[Service]
Type=forking
ExecStart=$gocryptfs -q ${mount_options[*]} -passfile $passphrase $cipher $data
ExecStop=$fusermount -u $data

[Install]
WantedBy=fivesafes.target
UNIT
cat > "$units/fivesafes-api.service" <<UNIT
[Unit]
Description=fivesafes API (HTTPS only)
Requires=fivesafes-postgresql.service fivesafes-volume.service
After=fivesafes-postgresql.service fivesafes-volume.service

[Service]
Type=simple
$common
ExecStartPre=$fivesafes database upgrade
ExecStart=$fivesafes serve --host $api_host --port $api_port --cert $cert --key $key
Restart=on-failure

[Install]
WantedBy=fivesafes.target
UNIT
cat > "$units/fivesafes.target" <<UNIT
[Unit]
Description=fivesafes secure data environment
Wants=fivesafes-volume.service fivesafes-postgresql.service fivesafes-api.service

[Install]
WantedBy=multi-user.target
UNIT
echo "installed: start with systemctl enable --now fivesafes.target, then run fivesafes doctor"
