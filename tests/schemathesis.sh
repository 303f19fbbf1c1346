#!/usr/bin/env bash
# Runs Schemathesis (a schema-driven API tester, from PyPI) against the real server: it reads
# GET /api/v1/openapi.json and sends generated requests to every operation, failing on any 5xx,
# any answer off its declared schema, and any 400 to a request the document says is valid.
#
# Usage: tests/schemathesis.sh [path/to/rollbook]   (default: target/debug/rollbook)
# Needs `st` on PATH (pip install schemathesis) or ST=/path/to/st. Bounded: a few dozen examples
# per operation, well under two minutes here.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/debug/rollbook}
ST=${ST:-st}
EXAMPLES=${ST_MAX_EXAMPLES:-30}

work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

db="$work/rollbook.redb"
mkdir -m 700 "$work/backups"
printf 'a long enough password\n' | "$BIN" user add --db "$db" --role admin --password-stdin admin >/dev/null
token=$("$BIN" token create --db "$db" --label schemathesis admin | grep -Eo '[A-Za-z0-9_-]{32,}' | tail -n1)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" serve --db "$db" --listen "127.0.0.1:$port" --backup-dir "$work/backups" \
    >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.1
done

status=0
config="$(pwd)/tests/schemathesis.toml"
# Run from the temporary folder: Schemathesis keeps a replay cache in its working directory.
(cd "$work" && "$ST" --config-file "$config" run "http://127.0.0.1:$port/api/v1/openapi.json" \
    --url "http://127.0.0.1:$port" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance,positive_data_acceptance \
    --max-examples "$EXAMPLES" --seed 14 --workers 2 --no-color --generation-database none ${ST_ARGS:-} \
    --report junit --report-dir "$work/report") || status=$?
if [ "$status" -ne 0 ]; then
    echo "schemathesis failed; the server's log:" >&2
    tail -n 50 "$work/server.log" >&2
fi
exit "$status"
