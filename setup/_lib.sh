# shellcheck shell=bash
# Shared helpers for the setup/ commands. Sourced, never run directly.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADDONS_DIR="$REPO_ROOT/addons"
MODULES="construction_connector_base,construction_change_order,construction_billing,construction_procurement_sync"
PYTHON="${PYTHON:-python3}"

die() { echo "error: $*" >&2; exit 1; }
say() { echo "==> $*"; }

# Odoo 18 must be importable by plain python3 and provide the `odoo` command.
require_odoo() {
    local version
    version=$(cd /tmp && "$PYTHON" -c 'import odoo.release as r; print(r.version)' 2>/dev/null) \
        || die "Odoo 18.0 is not importable by '$PYTHON' (python3 -c 'import odoo' fails). Install Odoo 18.0 into this interpreter first; see README.md, Prerequisites."
    case "$version" in
        18.0*) ;;
        *) die "python3 imports Odoo $version, but this suite needs the 18.0 series." ;;
    esac
    ODOO_ADDONS=$(cd /tmp && "$PYTHON" -c 'import os, odoo; root = os.path.dirname(os.path.dirname(odoo.__file__)); print(os.path.join(root, "addons") if os.path.isdir(os.path.join(root, "addons", "account")) else "")')
    ODOO_BIN=$(command -v odoo || true)
    [ -n "$ODOO_BIN" ] || die "the 'odoo' command is not on PATH; install Odoo 18.0 as a Python package (pip install -e <odoo checkout>)."
}

addons_path() {
    if [ -n "$ODOO_ADDONS" ]; then echo "$ODOO_ADDONS,$ADDONS_DIR"; else echo "$ADDONS_DIR"; fi
}

# PostgreSQL must answer for the current user; start a local cluster if one is installed but stopped.
require_postgres() {
    if ! pg_isready -q 2>/dev/null; then
        if command -v pg_lsclusters >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
            pg_lsclusters --no-header 2>/dev/null | while read -r ver name _; do
                pg_ctlcluster "$ver" "$name" start 2>/dev/null || true
            done
            for _ in $(seq 1 20); do pg_isready -q && break; sleep 0.5; done
        fi
    fi
    pg_isready -q 2>/dev/null || die "PostgreSQL is not reachable (pg_isready fails). Install PostgreSQL 13+ and start it."
    local me
    me=$(id -un)
    [ "$me" != postgres ] || die "Odoo refuses to run as the 'postgres' role; run this as another user."
    if ! psql -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            su postgres -c "psql -qc \"CREATE ROLE \\\"$me\\\" LOGIN CREATEDB SUPERUSER\"" >/dev/null \
                || die "could not create the PostgreSQL role '$me'."
        else
            die "PostgreSQL role '$me' does not exist; ask an administrator: CREATE ROLE \"$me\" LOGIN CREATEDB;"
        fi
    fi
}

# Our Python dependencies, and the newest queue_job 18.0 release that loads on this Odoo build.
install_python_deps() {
    "$PYTHON" -m pip install -q -r "$REPO_ROOT/requirements.txt"
    local spec
    if (cd /tmp && "$PYTHON" -c 'import odoo.api, sys; sys.exit(0 if hasattr(odoo.api, "private") else 1)'); then
        spec='odoo-addon-queue-job>=18.0,<18.1'
    else
        # Builds of Odoo 18 without odoo.api.private: 18.0.1.7.0 is the last queue_job that loads.
        spec='odoo-addon-queue-job==18.0.1.7.0'
    fi
    # --no-deps: Odoo itself is the dependency and is already installed.
    "$PYTHON" -m pip install -q --no-deps "$spec"
    (cd /tmp && "$PYTHON" -c 'import importlib.util as u, sys; sys.exit(0 if u.find_spec("odoo.addons.queue_job") else 1)') \
        || die "queue_job installed but not visible under odoo.addons (Odoo installed in editable strict mode?). Reinstall Odoo with 'pip install -e <odoo> --config-settings editable_mode=compat'."
}

odoo_cmd() {
    "$ODOO_BIN" --addons-path="$(addons_path)" "$@"
}

# "<addon> <its transitive non-construction dependencies, comma-separated>" per line.
external_dependencies() {
    "$PYTHON" - "$ADDONS_DIR" "$MODULES" <<'PY'
import ast, pathlib, sys
addons, modules = pathlib.Path(sys.argv[1]), sys.argv[2].split(",")
def deps(name):
    manifest = addons / name / "__manifest__.py"
    return ast.literal_eval(manifest.read_text()).get("depends", []) if manifest.exists() else []
for module in modules:
    seen, todo, external = set(), [module], set()
    while todo:
        name = todo.pop()
        for dep in set(deps(name)) - seen:
            seen.add(dep)
            if (addons / dep).is_dir():
                todo.append(dep)
            else:
                external.add(dep)
    print(module, ",".join(sorted(external)))
PY
}

db_exists() {
    psql -d postgres -Atc "select 1 from pg_database where datname = '$1'" | grep -q 1
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A config file for tools that read one (pytest-odoo, odoo shell).
write_odoo_conf() {
    local conf="$1" db="$2"
    cat > "$conf" <<CONF
[options]
addons_path = $(addons_path)
db_name = $db
server_wide_modules = base,web,queue_job
http_interface = 127.0.0.1
log_level = warn

[queue_job]
channels = root:2
CONF
}
