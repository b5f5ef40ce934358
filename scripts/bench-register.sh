#!/usr/bin/env bash
# Open registrations per second on SQLite: wrk (2 threads, 16 connections, 10 s, median of 3 runs)
# against POST /oidc/register on a Release broker with the tenant flag on. Every 201 is answered
# after its commit (SQLite WAL, synchronous=NORMAL: durable against a process crash).
#
#   scripts/bench-register.sh [RUNS=3] [SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}; SECONDS_TO_RUN=${2:-10}; PORT=${PORT:-5098}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
work=$(mktemp -d); broker_pid=""
trap 'if [ -n "$broker_pid" ]; then kill "$broker_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
export Storage__ConnectionString="Data Source=$work/bench.db"
export Broker__Issuer="http://127.0.0.1:$PORT"
export ASPNETCORE_ENVIRONMENT=Production
# Production refuses an unencrypted Data Protection key ring; a throwaway key for the run.
export DataProtection__KeyEncryptionKey=$(head -c 32 /dev/urandom | base64)
export Logging__LogLevel__Default=Warning
# The per-address limit and the tenant cap would stop a benchmark from one address at once.
export Registration__PermitsPerMinutePerAddress=1000000000
export Registration__MaxOpenClients=1000000000

dotnet build -c Release src/Broker -v q -nologo >/dev/null
dotnet src/Broker/bin/Release/net10.0/Broker.dll migrate >/dev/null
sqlite3 "$work/bench.db" "INSERT INTO tenant_settings (name, value) VALUES ('enable_dynamic_client_registration', 'true');" 2>/dev/null \
  || python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO tenant_settings (name, value) VALUES ('enable_dynamic_client_registration','true')\"); c.commit()" "$work/bench.db"
dotnet src/Broker/bin/Release/net10.0/Broker.dll --urls "http://127.0.0.1:$PORT" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
kill -0 "$broker_pid" || { cat "$work/broker.log"; exit 1; }

cat >"$work/register.lua" <<'LUA'
-- Every request registers a new client: client_name is unique, so it carries thread and counter.
local counter = 0
local thread_id = ""
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", tostring(threads)) end
function init(args) thread_id = (args[1] or "run") .. "-" .. id end
function request()
  counter = counter + 1
  local body = '{"client_name":"bench-' .. thread_id .. '-' .. counter ..
    '","redirect_uris":["https://app.example/callback"]}'
  return wrk.format("POST", "/oidc/register", { ["Content-Type"] = "application/json" }, body)
end
local created, other = 0, 0
function response(status) if status == 201 then created = created + 1 else other = other + 1 end end
function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50=%.2f p99=%.2f errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

if [ -n "${PROFILE:-}" ]; then (sleep 6; top -b -n 1 | head -15 > "$PROFILE") & fi
# Warm-up, then the measured runs. On two busy cores the JIT takes several seconds to recompile the
# hot path; a 3 s warm-up left the first measured run ~10% under the others.
wrk -t2 -c16 -d10s -s "$work/register.lua" "http://127.0.0.1:$PORT" -- warmup >/dev/null
results=()
for run in $(seq "$RUNS"); do
  line=$(wrk -t2 -c16 -d"${SECONDS_TO_RUN}s" -s "$work/register.lua" "http://127.0.0.1:$PORT" -- "run$run" | grep RESULT)
  echo "run $run: ${line#RESULT }"
  results+=("$line")
done
printf '%s\n' "${results[@]}" | sed 's/.*rps=\([0-9]*\).*p50=\([0-9.]*\).*p99=\([0-9.]*\).*/\1 \2 \3/' | sort -n | \
  awk '{ r[NR]=$0 } END { split(r[int((NR+1)/2)], m, " "); printf "median: %s registrations/s, p50 %s ms, p99 %s ms\n", m[1], m[2], m[3] }'
echo "clients stored: $(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM clients').fetchone()[0])" "$work/bench.db")"
