#!/usr/bin/env bash
# bench/rest_get.sh: REST GET of one resource vs a bare POCO HTTP server (TESTING.md "Measuring").
#
# Floors: gateway req/s >= 0.7x the baseline's, gateway p99 <= 2.0x the baseline's, both medians
# of alternated wrk runs in this same script (the machine is shared and noisy: only ratios count).
#
# Usage: bench/rest_get.sh [BUILD_DIR]          (default ./build)
#   BUILD_DIR/core/app/gatehouse and BUILD_DIR/bench/poco_fixed_server must exist.
# Environment:
#   ROUNDS=3 DURATION=5s CONNECTIONS=16 THREADS=2 WARMUP=2s    wrk settings
#   GATEHOUSE_BIN, POCO_BIN                                      override the binaries
#   HTTP_THREADS=4   the gateway's http.threads (default: the shipped default, 4)
#   SELF_TEST=1   measure a second POCO server in place of the gateway (checks this script while
#                 the gateway does not build; the ratios should then be close to 1)
# Exit: 0 floors met, 1 a floor missed, 2 setup error (missing binary, server not up, bad answers).
set -euo pipefail

BUILD_DIR=${1:-./build}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2s}
GATEHOUSE_BIN=${GATEHOUSE_BIN:-$BUILD_DIR/core/app/gatehouse}
POCO_BIN=${POCO_BIN:-$BUILD_DIR/bench/poco_fixed_server}
SELF_TEST=${SELF_TEST:-0}
HTTP_THREADS=${HTTP_THREADS:-4}
MIN_RATIO_RPS=0.7
MAX_RATIO_P99=2.0
RESOURCE_PATH=/sensinact/providers/sim-temperature-1/services/sensor/resources/temperature/GET

die() { echo "rest_get: $*" >&2; exit 2; }
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null || die "curl not found"
command -v python3 >/dev/null || die "python3 not found"
[[ -x $POCO_BIN ]] || die "baseline server not built: $POCO_BIN"
if [[ $SELF_TEST != 1 ]]; then
  [[ -x $GATEHOUSE_BIN ]] || die "gateway not built: $GATEHOUSE_BIN (SELF_TEST=1 checks the script against POCO only)"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits up to 10 s for URL to answer 200.
wait_ok() {
  local url=$1 pid=$2 i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

# --- start the servers ------------------------------------------------------------------------
BASE_PORT=$(free_port)
"$POCO_BIN" "$BASE_PORT" >"$WORK/poco.log" 2>&1 &
PIDS+=($!)
BASE_PID=$!
BASE_URL="http://127.0.0.1:$BASE_PORT/"
wait_ok "$BASE_URL" "$BASE_PID" || { cat "$WORK/poco.log" >&2; die "baseline server did not come up"; }

GW_PORT=$(free_port)
if [[ $SELF_TEST == 1 ]]; then
  echo "SELF_TEST=1: the 'gateway' column is a second POCO baseline server"
  "$POCO_BIN" "$GW_PORT" >"$WORK/gateway.log" 2>&1 &
  PIDS+=($!)
  GW_PID=$!
  GW_URL="http://127.0.0.1:$GW_PORT$RESOURCE_PATH"
  wait_ok "$GW_URL" "$GW_PID" || { cat "$WORK/gateway.log" >&2; die "second baseline server did not come up"; }
else
  cat >"$WORK/bench.yaml" <<EOF
gateway:
  id: bench
  log_level: warn
http:
  listen: 127.0.0.1
  port: $GW_PORT
  threads: $HTTP_THREADS
plugin_host:
  state_dir: $WORK/state
plugins:
  sim:
    temperature_sensors: 1
EOF
  "$GATEHOUSE_BIN" run --config "$WORK/bench.yaml" >"$WORK/gateway.log" 2>&1 &
  PIDS+=($!)
  GW_PID=$!
  wait_ok "http://127.0.0.1:$GW_PORT/health" "$GW_PID" || { cat "$WORK/gateway.log" >&2; die "gateway did not become healthy"; }
  GW_URL="http://127.0.0.1:$GW_PORT$RESOURCE_PATH"
  # The sim plugin declares its devices at start; wait until the resource answers too.
  wait_ok "$GW_URL" "$GW_PID" || { curl -s "$GW_URL" >&2 || true; die "gateway does not serve $RESOURCE_PATH"; }
fi

# Sanity: both answer 200 with a JSON body of the expected size, so we compare like with like.
BASE_BODY=$(curl -sf "$BASE_URL") || die "baseline GET failed"
GW_BODY=$(curl -sf "$GW_URL") || die "gateway GET failed"
echo "baseline: $BASE_URL -> ${#BASE_BODY} B"
echo "gateway:  $GW_URL -> ${#GW_BODY} B: $GW_BODY"
if [[ $SELF_TEST != 1 && $GW_BODY != *temperature* ]]; then die "gateway answer does not look like the resource"; fi

# --- measure ----------------------------------------------------------------------------------
# Prints "<req/s> <p99 in microseconds> <non-2xx count> <socket errors>" for one wrk run.
run_wrk() {
  local url=$1 d=$2 out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$d" --latency "$url")
  echo "$out" >>"$WORK/wrk.log"
  awk '
    function us(v,   n, u) {
      n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
      if (u == "us") return n; if (u == "ms") return n * 1000; if (u == "s") return n * 1000000
      if (u == "m") return n * 60000000; return -1
    }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "99%" { p99 = us($2) }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { errs = $0; sub(/.*Socket errors: */, "", errs); gsub(/ /, "", errs) }
    END { if (rps == "" || p99 == "") exit 1; printf "%s %s %d %s\n", rps, p99, bad + 0, (errs == "" ? "none" : errs) }
  ' <<<"$out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Other work on the box shows up in p99 first; say how busy it was so a reader can judge a FAIL.
load_note() {
  local load
  read -r load _ </proc/loadavg
  echo "load average $1: $load (nproc $(nproc))"
  if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
    echo "WARNING: the machine is busy (load > nproc); p99 ratios are unreliable, rerun when it is quiet"
  fi
}
load_note before   # (only before: once wrk runs, our own 4+ busy threads are the load)

echo "warm-up $WARMUP each"
run_wrk "$BASE_URL" "$WARMUP" >/dev/null || die "wrk failed against the baseline"
run_wrk "$GW_URL" "$WARMUP" >/dev/null || die "wrk failed against the gateway"

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $ROUNDS alternated rounds"
printf '%-6s %-9s %12s %12s %8s %s\n' round side req/s p99_us non2xx socket_errors
: >"$WORK/base.rps"; : >"$WORK/base.p99"; : >"$WORK/gw.rps"; : >"$WORK/gw.p99"
for ((r = 1; r <= ROUNDS; r++)); do
  for side in base gw; do
    if [[ $side == base ]]; then url=$BASE_URL; label=poco; else url=$GW_URL; label=gateway; fi
    read -r rps p99 bad errs < <(run_wrk "$url" "$DURATION") || die "could not parse wrk output (see above)"
    printf '%-6s %-9s %12.0f %12.0f %8d %s\n' "$r" "$label" "$rps" "$p99" "$bad" "$errs"
    [[ $bad -eq 0 ]] || die "$label answered $bad non-2xx responses; refusing to compare"
    echo "$rps" >>"$WORK/$side.rps"
    echo "$p99" >>"$WORK/$side.p99"
  done
done

BASE_RPS=$(median <"$WORK/base.rps"); BASE_P99=$(median <"$WORK/base.p99")
GW_RPS=$(median <"$WORK/gw.rps"); GW_P99=$(median <"$WORK/gw.p99")
read -r RATIO_RPS RATIO_P99 VERDICT < <(awk -v br="$BASE_RPS" -v bp="$BASE_P99" -v gr="$GW_RPS" -v gp="$GW_P99" \
  -v minr="$MIN_RATIO_RPS" -v maxp="$MAX_RATIO_P99" 'BEGIN {
    rr = gr / br; rp = gp / bp
    printf "%.3f %.3f %s\n", rr, rp, (rr >= minr && rp <= maxp) ? "PASS" : "FAIL" }')

echo
echo "medians:"
printf '  %-9s %12s %12s\n' side req/s p99_us
printf '  %-9s %12.0f %12.0f\n' poco "$BASE_RPS" "$BASE_P99"
printf '  %-9s %12.0f %12.0f\n' gateway "$GW_RPS" "$GW_P99"
echo "  ratio req/s gateway/poco: $RATIO_RPS (floor >= $MIN_RATIO_RPS)"
echo "  ratio p99   gateway/poco: $RATIO_P99 (floor <= $MAX_RATIO_P99)"
echo "$VERDICT: rest_get"
[[ $VERDICT == PASS ]] || exit 1
