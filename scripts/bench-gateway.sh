#!/usr/bin/env bash
# The gateway's cost per call against what a platform team would pick instead, in one run on loopback:
#   upstream      nginx `return 200` of a 318-byte JSON photo: the API behind every gateway (ceiling)
#   nginx-proxy   nginx proxying to the upstream, no checks
#   nginx-gate    nginx as a gate: a `map` of the same children's keys, `limit_req` per key,
#                 `X-Ratelimit-Limit`, proxy with upstream keepalive (the anchor of every ratio)
#   kestrel       the broker's demo endpoint with no gate and no forward (Gateway:UngatedDemoPrefix)
#   yarp          YARP's forwarder alone on Kestrel, no gate, no middleware, no transforms of ours: the
#                 floor of any gateway built on ASP.NET Core and YARP (Broker.Benchmarks bare-proxy)
#   broker-memory the broker gating (in-memory quota) and forwarding to the upstream, 1,000 children
#   broker-redis  the same with the Redis quota store (a private redis-server)
#   broker-redis-lease  broker-redis with units reserved ahead (Gateway:QuotaLeaseMax=64; off by default)
#   broker-metrics broker-memory with the metrics on (Telemetry:Prometheus): what telemetry costs a call
#   broker-1m     the same as broker-memory over a database of 1,000,000 children
#   baseline      broker-memory from another build (BASELINE_DLL=path/to/Broker.dll, e.g. main's),
#                 added when set: a change's before and after in the same run
#   variant       broker-memory with VARIANT_ENV's settings added (e.g. VARIANT_ENV="DOTNET_gcServer=0"),
#                 added when set: a runtime or configuration setting's effect in the same run
# Each target is first warmed for WARMUP (tiered JIT settles after some 30 s of load), then measured.
# Every request carries one of 1,000 child keys, rotated per request (wrk Lua). The targets run in turn
# for ROUNDS rounds; each figure is the median over the rounds. The CPU of each gateway (nginx master
# and workers, or the broker process) is read from /proc around each run: CPU µs per request is that
# process's user+system time over the requests wrk counted, the upstream's excluded.
#
#   scripts/bench-gateway.sh            DURATION=10s CONNECTIONS=16 THREADS=2 ROUNDS=3 WARMUP=30s CHILDREN_1M=1000000
#                                       TARGETS="…" (a subset: only what it needs is seeded and started)
#                                       BASELINE_DLL=…  VARIANT_ENV="Name=Value …"
#
# Installs nothing: needs nginx, wrk and redis-server (Debian packages) and the .NET SDK.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-30s}
CHILDREN_1M=${CHILDREN_1M:-1000000}
TARGETS=${TARGETS:-"upstream nginx-proxy nginx-gate kestrel yarp broker-memory broker-redis broker-redis-lease broker-1m"}
BASELINE_DLL=${BASELINE_DLL:-}
VARIANT_ENV=${VARIANT_ENV:-}
if [ -n "$BASELINE_DLL" ] && [[ " $TARGETS " != *" baseline "* ]]; then TARGETS="$TARGETS baseline"; fi
if [ -n "$VARIANT_ENV" ] && [[ " $TARGETS " != *" variant "* ]]; then TARGETS="$TARGETS variant"; fi
wants() { [[ " $TARGETS " == *" $1 "* ]]; }
PATH_UNDER_TEST=/photos/demo0001photo
# What limit_req and the broker's children allow: far above what a run can spend, so every call is
# admitted and each gateway does the whole work of a counted call.
QUOTA=1000000000

for tool in nginx wrk redis-server curl python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (apt-get install nginx wrk redis-server curl python3)" >&2; exit 1; }
done

dotnet build -c Release -v quiet -nologo src/Broker/Broker.csproj >/dev/null
dotnet build -c Release -v quiet -nologo tests/Broker.Benchmarks/Broker.Benchmarks.csproj >/dev/null
BROKER_DLL=src/Broker/bin/Release/net10.0/Broker.dll
SEED_DLL=tests/Broker.Benchmarks/bin/Release/net10.0/Broker.Benchmarks.dll

WORK=$(mktemp -d /tmp/broker-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_for() {
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "error: no answer from $1" >&2; exit 1
}

# ---- Seeds: the same 1,000 child keys for every gateway (the broker's and nginx's map) ----
echo "seeding 1,000 and $CHILDREN_1M children ..." >&2
dotnet "$SEED_DLL" seed "$WORK/broker-1k.db" 1000 "$WORK/keys-1k.txt"
if wants broker-1m; then dotnet "$SEED_DLL" seed "$WORK/broker-1m.db" "$CHILDREN_1M" "$WORK/keys-1m.txt"; fi

cat >"$WORK/rotate.lua" <<'LUA'
-- One child key per request, rotated over the file's keys (each wrk thread has its own rotation).
local keys, next_key = {}, 0
init = function(args)
  for line in io.lines(args[1]) do keys[#keys + 1] = "Client-ID " .. line end
  next_key = math.random(#keys)
end
request = function()
  next_key = next_key % #keys + 1
  return wrk.format(nil, nil, { ["Authorization"] = keys[next_key] })
end
LUA

# ---- nginx: the upstream, a plain proxy and the gate, each its own instance so each has its own CPU ----
PHOTO='{"id":"demo0001photo","created_at":"2026-01-01T00:00:00Z","width":4000,"height":3000,"color":"#60544D","description":"Benchmark","urls":{"raw":"https://images.example/photo-1","full":"https://images.example/photo-1?q=85","small":"https://images.example/photo-1?w=400"},"likes":12,"user":{"id":"u1","username":"bench"}}'
UPSTREAM_PORT=$(free_port); PROXY_PORT=$(free_port); GATE_PORT=$(free_port)

# start_nginx NAME SERVER_BLOCK: an nginx with 2 workers (one per core) on loopback, in the foreground.
start_nginx() {
  local name=$1 server=$2 dir="$WORK/nginx-$1"
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir; uwsgi_temp_path $dir; scgi_temp_path $dir;
  upstream api { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
  $server
}
CONF
  nginx -c "$dir/nginx.conf" -e "$dir/error.log" &
  PIDS+=($!)
  NGINX_PID[$name]=$!
}
declare -A NGINX_PID

start_nginx upstream "server { listen 127.0.0.1:$UPSTREAM_PORT; location / { default_type application/json; return 200 '$PHOTO'; } }"
start_nginx proxy "server { listen 127.0.0.1:$PROXY_PORT; location / { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
{
  echo 'map $http_authorization $child_key {'
  echo '  default "";'
  sed 's/.*/  "Client-ID &" &;/' "$WORK/keys-1k.txt"
  echo '}'
} >"$WORK/nginx-keys.conf"
start_nginx gate "include $WORK/nginx-keys.conf;
  limit_req_zone \$child_key zone=per_child:16m rate=${QUOTA}r/s;
  server {
    listen 127.0.0.1:$GATE_PORT;
    location /photos/ {
      if (\$child_key = \"\") { return 401; }
      limit_req zone=per_child burst=1000 nodelay;
      add_header X-Ratelimit-Limit $QUOTA always;
      proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection \"\";
    }
  }"

# ---- Brokers: Release, Production, on loopback ----
# start_broker NAME DLL DB [Name=Value ...]
declare -A BROKER_PID BROKER_PORT
# Production refuses an unencrypted Data Protection key ring; a throwaway key for the run.
KEY_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64)
start_broker() {
  local name=$1 dll=$2 db=$3 port; shift 3
  port=$(free_port)
  env ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$port" \
    DataProtection__KeyEncryptionKey="$KEY_ENCRYPTION_KEY" \
    Logging__LogLevel__Default=Warning Storage__ConnectionString="Data Source=$db" "$@" \
    dotnet "$dll" >"$WORK/broker-$name.log" 2>&1 &
  PIDS+=($!)
  BROKER_PID[$name]=$!
  BROKER_PORT[$name]=$port
}
FORWARD=(Gateway__Upstream="http://127.0.0.1:$UPSTREAM_PORT" Gateway__Routes__0="GET /photos/*")
if wants kestrel; then start_broker kestrel "$BROKER_DLL" "$WORK/broker-1k.db" Gateway__UngatedDemoPrefix=/ungated; fi
if wants broker-memory; then start_broker broker-memory "$BROKER_DLL" "$WORK/broker-1k.db" "${FORWARD[@]}"; fi
if wants broker-redis || wants broker-redis-lease; then
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  REDIS_QUOTA=(Gateway__QuotaStore=Redis Redis__Configuration="127.0.0.1:$REDIS_PORT")
  if wants broker-redis; then start_broker broker-redis "$BROKER_DLL" "$WORK/broker-1k.db" "${FORWARD[@]}" "${REDIS_QUOTA[@]}"; fi
  # Its own key prefix: the two brokers' counts must not meet in the one Redis.
  if wants broker-redis-lease; then
    start_broker broker-redis-lease "$BROKER_DLL" "$WORK/broker-1k.db" "${FORWARD[@]}" "${REDIS_QUOTA[@]}" Gateway__QuotaLeaseMax=64 Redis__KeyPrefix=lease:
  fi
fi
if wants broker-metrics; then start_broker broker-metrics "$BROKER_DLL" "$WORK/broker-1k.db" "${FORWARD[@]}" Telemetry__Prometheus=true; fi
if wants broker-1m; then start_broker broker-1m "$BROKER_DLL" "$WORK/broker-1m.db" "${FORWARD[@]}"; fi
if wants yarp; then
  YARP_PORT=$(free_port)
  dotnet "$SEED_DLL" bare-proxy "http://127.0.0.1:$YARP_PORT" "http://127.0.0.1:$UPSTREAM_PORT" >"$WORK/yarp.log" 2>&1 &
  PIDS+=($!); YARP_PID=$!
fi
if wants baseline; then start_broker baseline "$BASELINE_DLL" "$WORK/broker-1k.db" "${FORWARD[@]}"; fi
# shellcheck disable=SC2086 # VARIANT_ENV is a list of Name=Value words
if wants variant; then start_broker variant "$BROKER_DLL" "$WORK/broker-1k.db" "${FORWARD[@]}" $VARIANT_ENV; fi

for port in "$UPSTREAM_PORT" "$PROXY_PORT" "$GATE_PORT" "${BROKER_PORT[@]}" ${YARP_PORT:-}; do wait_for "http://127.0.0.1:$port/healthz"; done

# Each target: the URL wrk calls and the process whose CPU is counted (nginx's master, with its workers).
declare -A TARGET_URL TARGET_PID
add_target() { TARGET_URL[$1]=$2; TARGET_PID[$1]=$3; }
add_target upstream "http://127.0.0.1:$UPSTREAM_PORT$PATH_UNDER_TEST" "${NGINX_PID[upstream]}"
add_target nginx-proxy "http://127.0.0.1:$PROXY_PORT$PATH_UNDER_TEST" "${NGINX_PID[proxy]}"
add_target nginx-gate "http://127.0.0.1:$GATE_PORT$PATH_UNDER_TEST" "${NGINX_PID[gate]}"
for name in "${!BROKER_PORT[@]}"; do
  prefix=""; [ "$name" = kestrel ] && prefix=/ungated
  add_target "$name" "http://127.0.0.1:${BROKER_PORT[$name]}$prefix$PATH_UNDER_TEST" "${BROKER_PID[$name]}"
done
if wants yarp; then add_target yarp "http://127.0.0.1:$YARP_PORT$PATH_UNDER_TEST" "$YARP_PID"; fi
target_keys() { if [ "$1" = broker-1m ]; then echo "$WORK/keys-1m.txt"; else echo "$WORK/keys-1k.txt"; fi; }

# cpu_ticks PID: user+system clock ticks of the process and its children still running (nginx workers).
cpu_ticks() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$total"
}
TICKS_PER_SECOND=$(getconf CLK_TCK)

# to_ms VALUE: wrk's 1.23ms / 456.78us / 1.02s as milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

declare -A RESULTS
# measure NAME ROUND: a 2 s warm-up, then the measured run; appends "rps p50 p99 cpu_us" to RESULTS.
measure() {
  local name=$1 url keys pid before after out requests
  url=${TARGET_URL[$name]}; keys=$(target_keys "$name"); pid=${TARGET_PID[$name]}
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$WORK/rotate.lua" "$url" -- "$keys" >/dev/null
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/rotate.lua" "$url" -- "$keys")
  after=$(cpu_ticks "$pid")
  if echo "$out" | grep -q "Non-2xx"; then
    echo "error: $name answered some requests with a status other than 2xx:" >&2; echo "$out" >&2; exit 1
  fi
  requests=$(echo "$out" | awk '/requests in/ { print $1 }')
  RESULTS[$name]+="$(echo "$out" | awk '/Requests\/sec:/ { print $2 }') \
$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')") \
$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')") \
$(awk -v t=$((after - before)) -v hz="$TICKS_PER_SECOND" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }');"
}

# Tiered JIT settles after some 30 s of load (seen in bench-flow.sh's profile): every target is warmed
# that long once, before the first round, so no round measures the JIT.
for name in $TARGETS; do
  echo "warm-up ($WARMUP): $name" >&2
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$WORK/rotate.lua" "${TARGET_URL[$name]}" -- "$(target_keys "$name")" >/dev/null
done
for round in $(seq 1 "$ROUNDS"); do
  for name in $TARGETS; do
    echo "round $round/$ROUNDS: $name" >&2
    measure "$name"
  done
done

# median COLUMN NAME: the median over the rounds of one figure.
median() {
  echo "${RESULTS[$2]}" | tr ';' '\n' | awk -v c="$1" 'NF { print $c }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds (medians), $(nproc) cores, GET $PATH_UNDER_TEST, 1,000 keys rotated"
# The anchor is the nginx gate; when TARGETS leaves it out, the first target.
anchor=nginx-gate; [ -n "${RESULTS[$anchor]:-}" ] || anchor=${TARGETS%% *}
anchor_rps=$(median 1 "$anchor"); anchor_cpu=$(median 4 "$anchor"); anchor_p99=$(median 3 "$anchor")
# spread COLUMN NAME: the lowest and highest figure over the rounds, to show how noisy the machine was.
spread() {
  echo "${RESULTS[$2]}" | tr ';' '\n' | awk -v c="$1" 'NF { print $c }' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f-%.0f", lo, hi }'
}
printf '%-14s %11s %8s %8s %12s %13s %9s %9s %9s\n' target "requests/s" "p50 ms" "p99 ms" "CPU µs/req" "CPU min-max" "× rps" "× CPU" "× p99"
for name in $TARGETS; do
  rps=$(median 1 "$name"); p50=$(median 2 "$name"); p99=$(median 3 "$name"); cpu=$(median 4 "$name")
  printf '%-14s %11s %8s %8s %12s %13s %9s %9s %9s\n' "$name" "$rps" "$p50" "$p99" "$cpu" "$(spread 4 "$name")" \
    "$(awk -v a="$rps" -v b="$anchor_rps" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$cpu" -v b="$anchor_cpu" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$p99" -v b="$anchor_p99" 'BEGIN { printf "%.2f", a / b }')"
done
echo "(× columns: ratio to $anchor; CPU is the gateway's own process, the upstream's excluded)"
for name in broker-memory broker-1m baseline variant; do
  [ -n "${BROKER_PID[$name]:-}" ] || continue
  echo "$name RSS: $(awk '/VmRSS/ { printf "%.0f MB", $2 / 1024 }' "/proc/${BROKER_PID[$name]}/status")"
done
