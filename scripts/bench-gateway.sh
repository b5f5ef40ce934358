#!/usr/bin/env bash
# Gateway throughput on loopback with wrk, in one run, against a Release build:
#   ungated   the demo endpoint with no gate (Gateway:UngatedDemoPrefix, benchmark only)
#   memory    the same endpoint gated, in-memory quota (same process as ungated)
#   redis     gated, Redis quota (a private redis-server)
#   forwarded gated (in-memory quota) and forwarded through YARP to an upstream broker's ungated demo
# Prints requests/s, p50 and p99 latency, and each gated figure as a ratio of the ungated one.
# Needs wrk and redis-server. DURATION, CONNECTIONS and THREADS tune the runs.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PATH_UNDER_TEST=/photos/demo0001photo

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }

dotnet build -c Release -v quiet -nologo src/Broker/Broker.csproj >/dev/null
dotnet build -c Release -v quiet -nologo tests/Broker.Benchmarks/Broker.Benchmarks.csproj >/dev/null
BROKER_DLL=src/Broker/bin/Release/net10.0/Broker.dll
SEED_DLL=tests/Broker.Benchmarks/bin/Release/net10.0/Broker.Benchmarks.dll

WORK=$(mktemp -d /tmp/broker-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_for() {
  for _ in $(seq 1 100); do
    curl -fs "$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "no answer from $1" >&2; exit 1
}

# Production refuses an unencrypted Data Protection key ring; a throwaway key for the run.
KEY_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64)

# start_broker PORT DB [Name=Value ...]: a Release broker in Production on loopback.
start_broker() {
  local port=$1 db=$2; shift 2
  env ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$port" \
    DataProtection__KeyEncryptionKey="$KEY_ENCRYPTION_KEY" \
    Logging__LogLevel__Default=Warning Storage__ConnectionString="Data Source=$db" "$@" \
    dotnet "$BROKER_DLL" >"$WORK/broker-$port.log" 2>&1 &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$port"
}

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)

CHILD=$(dotnet "$SEED_DLL" seed "$WORK/broker.db")
MEMORY_PORT=$(free_port); start_broker "$MEMORY_PORT" "$WORK/broker.db" Gateway__UngatedDemoPrefix=/ungated
REDIS_BROKER_PORT=$(free_port); start_broker "$REDIS_BROKER_PORT" "$WORK/broker.db" Gateway__QuotaStore=Redis Redis__Configuration="127.0.0.1:$REDIS_PORT"
UPSTREAM_PORT=$(free_port); start_broker "$UPSTREAM_PORT" "$WORK/upstream.db" Gateway__UngatedDemoPrefix=/ungated
FORWARD_PORT=$(free_port); start_broker "$FORWARD_PORT" "$WORK/broker.db" Gateway__Upstream="http://127.0.0.1:$UPSTREAM_PORT/ungated" Gateway__Routes__0="GET /photos/*"

# to_ms VALUE: wrk's 1.23ms / 456.78us / 1.02s as milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

declare -A RPS P50 P99
# measure NAME URL [AUTH]: a short warm-up, then the measured run.
measure() {
  local name=$1 url=$2 auth=${3:-}
  local header=()
  [ -n "$auth" ] && header=(-H "Authorization: Client-ID $auth")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "${header[@]}" "$url" >/dev/null
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${header[@]}" "$url")
  if echo "$out" | grep -q "Non-2xx"; then
    echo "$name: some responses were not 2xx:" >&2; echo "$out" >&2; exit 1
  fi
  RPS[$name]=$(echo "$out" | awk '/Requests\/sec:/ { print $2 }')
  P50[$name]=$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
  P99[$name]=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
}

measure ungated "http://127.0.0.1:$MEMORY_PORT/ungated$PATH_UNDER_TEST"
measure memory "http://127.0.0.1:$MEMORY_PORT$PATH_UNDER_TEST" "$CHILD"
measure redis "http://127.0.0.1:$REDIS_BROKER_PORT$PATH_UNDER_TEST" "$CHILD"
measure forwarded "http://127.0.0.1:$FORWARD_PORT$PATH_UNDER_TEST" "$CHILD"

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION on loopback, $(nproc) cores, GET $PATH_UNDER_TEST"
printf '%-10s %12s %10s %10s %11s %11s %11s\n' run "requests/s" "p50 ms" "p99 ms" "rps ratio" "p50 ratio" "p99 ratio"
for name in ungated memory redis forwarded; do
  printf '%-10s %12s %10s %10s %11s %11s %11s\n' "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" \
    "$(awk -v a="${RPS[$name]}" -v b="${RPS[ungated]}" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="${P50[$name]}" -v b="${P50[ungated]}" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="${P99[$name]}" -v b="${P99[ungated]}" 'BEGIN { printf "%.2f", a / b }')"
done
