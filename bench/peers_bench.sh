#!/usr/bin/env bash
# The interleaved side-by-side run of issue 14: this repository beside the two peer servers of
# ../shared/peers (oai_repo, pyoai), all three serving the same 100,000 records, from kept corpora.
#
#   bench/peers_bench.sh prepare sqlite|postgresql   # after a code change: seconds, or minutes if stale
#   bench/peers_bench.sh sqlite|postgresql           # the run: about 4-5 min on a quiet 2-core machine
#
# prepare: (PostgreSQL: start the kept cluster) migrate, `repo oai render --all` (what the current
# code made stale: every format, up to ~15 min of CPU after a crosswalk change), and the peers'
# table of the same records, harvested from this repository once (`corpus.py --from-oai`, kept).
# The run: (the same prepare, which should find nothing to do) -> PostgreSQL
# restarted and every server's files evicted from the page cache, so run 1 is each server's first
# harvest -> ../shared/peers/run.sh: 3 full ListRecords oai_dc harvests per server interleaved
# (A B C A B C ...), first and ~90 % page latency, GetRecord, Identify, peak RSS; every saved
# response validated against the official schemas.
#
# Read: the table at the end (also in $BENCH/out-<kind>/table.md): records/s of run 1 (cold) and
# runs 2-3 (warm) for repo against the faster peer; GetRecord and Identify ms.
#
# Env: BENCH (default /work/bench-oai3) holds sqlite/works-100000 (a data directory made by
# `repo demo --synthetic 100000 --seed 1`), pg/ (a PostgreSQL cluster with database
# oai_bench_100000, the same corpus) and pg-data/, peers-venv/ (../shared/peers/requirements.txt;
# made when missing) and the peers' tables peers-<kind>.sqlite (made when missing).
# PORT (8601), PGPORT (55433), PGBIN (the newest /usr/lib/postgresql/*/bin). Arguments after the
# kind go to bench.py (a smoke test: `--runs 1 --max-pages 20 --samples 3`).
set -euo pipefail
PREPARE_ONLY=0
if [ "${1:-}" = prepare ]; then PREPARE_ONLY=1; shift; fi
KIND="${1:?usage: bench/peers_bench.sh [prepare] sqlite|postgresql [more bench.py arguments]}"
shift
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPO="${REPO_BIN:-$ROOT/.venv/bin/repo}"
PY="$ROOT/.venv/bin/python"
BENCH="${BENCH:-/work/bench-oai3}"
PEERS="${PEERS:-$ROOT/../shared/peers}"
PORT="${PORT:-8601}"
PGPORT="${PGPORT:-55433}"
PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}"
OUT="$BENCH/out-$KIND"
PEERDB="$BENCH/peers-$KIND.sqlite"
export REPO_SECRET_KEY=bench-secret REPO_BASE_URL=https://repo.bench.example REPO_LOG_LEVEL=warning
unset REPO_DATABASE_URL REPO_SEARCH_URL

pg() {  # pg_ctl as the cluster's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$PGBIN/pg_ctl" "$@"; else "$PGBIN/pg_ctl" "$@"; fi
}
pg_start() {
  pg -D "$BENCH/pg/data" -l "$BENCH/pg/log" -w start -o "-p $PGPORT -k $BENCH/pg -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
}
pg_stop() { pg -D "$BENCH/pg/data" -m fast -w stop >/dev/null 2>&1 || true; }
evict() {  # drop these files from the page cache: the first harvest reads from disk, as after a boot
  "$PY" - "$@" <<'EOF'
import os, sys
for top in sys.argv[1:]:
    for path in ([top] if os.path.isfile(top) else [os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs]):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
EOF
}
serve_until_up() {  # repo serve in the background, waited for
  "$REPO" serve --port "$PORT" >"$OUT/serve-setup.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$PORT/oai?verb=Identify" >/dev/null && return 0
    sleep 0.2
  done
  echo "repo serve did not answer" >&2; return 1
}

mkdir -p "$OUT"
case "$KIND" in
  sqlite)
    export REPO_DATA_DIR="$BENCH/sqlite/works-100000"
    FILES=("$REPO_DATA_DIR/repo.sqlite3")
    ;;
  postgresql)
    export REPO_DATA_DIR="$BENCH/pg-data"
    export REPO_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/oai_bench_100000"
    mkdir -p "$REPO_DATA_DIR"
    pg_stop; pg_start
    trap pg_stop EXIT
    FILES=("$BENCH/pg/data")
    ;;
  *) echo "usage: bench/peers_bench.sh sqlite|postgresql" >&2; exit 2 ;;
esac

echo "== $(date -u +%T) $KIND: migrate and render what the current code made stale ($(cut -d' ' -f1-3 /proc/loadavg))"
"$REPO" db upgrade >/dev/null
start=$(date +%s); "$REPO" oai render --all 2>&1 | tail -1; echo "   render: $(( $(date +%s) - start )) s"

if [ ! -x "$BENCH/peers-venv/bin/python" ]; then
  python3 -m venv "$BENCH/peers-venv" && "$BENCH/peers-venv/bin/pip" install -q -r "$PEERS/requirements.txt"
fi
if [ ! -f "$PEERDB" ]; then
  echo "== $(date -u +%T) the peers' table of the same records (once): corpus.py --from-oai"
  serve_until_up
  "$BENCH/peers-venv/bin/python" "$PEERS/corpus.py" --from-oai "http://127.0.0.1:$PORT/oai" "$PEERDB.part"
  kill "$SERVER"; wait "$SERVER" || true
  mv "$PEERDB.part" "$PEERDB"
fi
[ "$PREPARE_ONLY" = 1 ] && { echo "== $(date -u +%T) prepared"; exit 0; }

echo "== $(date -u +%T) cold start: caches dropped"
if [ "$KIND" = postgresql ]; then pg_stop; evict "${FILES[@]}" "$PEERDB"; pg_start; else evict "${FILES[@]}" "$PEERDB"; fi
(while true; do echo "$(date -u +%T) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 10; done) >"$OUT/load.txt" &
LOADS=$!
trap 'kill $LOADS 2>/dev/null; [ "$KIND" = postgresql ] && pg_stop' EXIT
echo "== $(date -u +%T) bench ($(cut -d' ' -f1-3 /proc/loadavg))"
VENV="$BENCH/peers-venv" DB="$PEERDB" OUT="$OUT" "$PEERS/run.sh" 100000 "repo=http://127.0.0.1:$PORT/oai" \
  --cmd "repo=exec $REPO serve --port $PORT" --samples 15 "$@"
echo "== $(date -u +%T) done; load during the run: $(awk '{print $2}' "$OUT/load.txt" | sort -n | awk '{a[NR]=$1} END {print "min " a[1] ", median " a[int((NR+1)/2)] ", max " a[NR]}')"
