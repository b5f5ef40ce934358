#!/usr/bin/env bash
# Complete installations per second on SQLite: builds Release, starts a broker on a fresh SQLite
# file (Production settings, no demo seed), creates a parent and a user, drives the flow with
# tests/Broker.FlowBench and prints installations/s, the broker's CPU time per installation and
# p50/p99 per step.
#
#   scripts/bench-flow.sh [CONCURRENCY=32] [SECONDS=15] [WARMUP_SECONDS=30]
#
# The unmeasured warm-up is long: tiered compilation keeps the JIT busy for half a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
CONCURRENCY=${1:-32}; SECONDS_TO_RUN=${2:-15}; WARMUP_SECONDS=${3:-30}; PORT=${PORT:-5099}
work=$(mktemp -d); broker_pid=""; trap 'if [ -n "$broker_pid" ]; then kill "$broker_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
export Storage__ConnectionString="Data Source=$work/bench.db"
export Broker__Issuer="http://127.0.0.1:$PORT"
export ASPNETCORE_ENVIRONMENT=Production
# Production refuses an unencrypted Data Protection key ring; a throwaway key for the run.
export DataProtection__KeyEncryptionKey=$(head -c 32 /dev/urandom | base64)
export Logging__LogLevel__Default=Warning

dotnet build -c Release src/Broker -v q -nologo >/dev/null
dotnet build -c Release tests/Broker.FlowBench -v q -nologo >/dev/null
broker() { dotnet src/Broker/bin/Release/net10.0/Broker.dll "$@"; }
app=$(broker apps create --name "Bench Plugin" --redirect-uri https://vendor.example/broker/callback --json)
client_id=$(echo "$app" | sed -n 's/.*"client_id": *"\([^"]*\)".*/\1/p')
client_secret=$(echo "$app" | sed -n 's/.*"client_secret": *"\([^"]*\)".*/\1/p')
broker parents enable "$client_id" --redirect-policy installation --callback-path /broker/callback >/dev/null
broker users create --email bench@blog.example --password bench-password-123 >/dev/null

dotnet src/Broker/bin/Release/net10.0/Broker.dll --urls "http://127.0.0.1:$PORT" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
kill -0 "$broker_pid" || { cat "$work/broker.log"; exit 1; }

dotnet tests/Broker.FlowBench/bin/Release/net10.0/Broker.FlowBench.dll "http://127.0.0.1:$PORT" \
  "$client_id" "$client_secret" bench@blog.example bench-password-123 "$CONCURRENCY" "$SECONDS_TO_RUN" "$broker_pid" "$WARMUP_SECONDS"
