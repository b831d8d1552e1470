#!/usr/bin/env bash
# bench/run-all.sh: builds (when needed) and runs every benchmark, prints a summary, and exits
# non-zero when any of them missed its floor or could not run. See bench/README.md.
#
# Usage: bench/run-all.sh [BUILD_DIR]      (default ./build; configured as Release if it does not exist)
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-./build}

if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DGATEHOUSE_BUILD_BENCH=ON || exit 2
fi
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
# scripts/test configures build/ without the benchmarks; switch them back on.
if [[ $(sed -n "s/^GATEHOUSE_BUILD_BENCH:[A-Z]*=//p" "$BUILD_DIR/CMakeCache.txt") != ON ]]; then
  cmake -S "$SRC" -B "$BUILD_DIR" -DGATEHOUSE_BUILD_BENCH=ON >/dev/null || exit 2
fi

cache() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD_DIR/CMakeCache.txt"; }
BUILD_TYPE=$(cache CMAKE_BUILD_TYPE)
if [[ $(cache GATEHOUSE_SANITIZE) == ON ]]; then
  echo "WARNING: $BUILD_DIR is a sanitizer build; the numbers will not be representative"
fi
case $BUILD_TYPE in
  Release | RelWithDebInfo) ;;
  *) echo "WARNING: $BUILD_DIR is a '$BUILD_TYPE' build; use Release for numbers worth recording" ;;
esac

# One target at a time, so a part that does not build yet only fails the benchmark that needs it.
# gatehouse before bench_plugins: plugin_startup needs both (the plugins are built unsigned; it signs copies).
# mqtt_ingest and mqtt_latency need gatehouse and the signed mqtt plugin; mqtt_latency also the probe
# and the ideal forwarder (its reference); mqtt_cost also its peer, the bare programs and Node-RED
# (npm ci into bench/nodered on first use).
# rest_get and rest_auth need gatehouse and the signed sim plugin; e2e_pipeline gatehouse, the signed
# mqtt plugin and the sealer; nbiot_ingest gatehouse, the signed nbiot plugin, the bare UDP loop and
# the UDP sender; coap_observe gatehouse, the signed coap plugin, the demo device and the bare observer.
for target in bench_model_memory bench_push_throughput bench_poco_fixed_server gatehouse gatehouse_bridge_sim \
  bench_plugins gatehouse_bridge_mqtt bench_mqtt_latency_probe bench_mqtt_ideal_forwarder bench_mqtt_cost_peer \
  bench_mqtt_bare bench_e2e_crypto bench_e2e_sealer gatehouse_bridge_nbiot bench_nbiot_udp_bare \
  bench_nbiot_udp_sender gatehouse_bridge_coap gatehouse-coap-demo-device bench_coap_observe_bare; do
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target "$target" >"$BUILD_DIR/bench-build-$target.log" 2>&1 \
    || echo "WARNING: target $target did not build (see $BUILD_DIR/bench-build-$target.log)"
done

echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine: nproc=$(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -r)"
echo "source:  $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$SRC" diff --quiet HEAD 2>/dev/null || echo ' (uncommitted changes)')"
echo "build:   $BUILD_DIR ($BUILD_TYPE)"

declare -A RC
run() {
  local name=$1
  shift
  echo
  echo "=== $name: $*"
  "$@"
  RC[$name]=$?
}

run model_memory "$BUILD_DIR/bench/model_memory"
run push_throughput "$BUILD_DIR/bench/push_throughput"
run rest_get "$SRC/bench/rest_get.sh" "$BUILD_DIR"
run plugin_startup "$SRC/bench/plugin_startup.py" "$BUILD_DIR"
run mqtt_ingest "$SRC/bench/mqtt_ingest.py" "$BUILD_DIR"
run mqtt_latency "$SRC/bench/mqtt_latency.py" "$BUILD_DIR"
run mqtt_cost "$SRC/bench/mqtt_cost.py" "$BUILD_DIR"
run rest_auth "$SRC/bench/rest_auth.py" "$BUILD_DIR"
run e2e_crypto "$BUILD_DIR/bench/e2e_crypto"
run e2e_pipeline "$SRC/bench/e2e_pipeline.py" "$BUILD_DIR"
run nbiot_ingest "$SRC/bench/nbiot_ingest.py" "$BUILD_DIR"
run coap_observe "$SRC/bench/coap_observe.py" "$BUILD_DIR"

echo
echo "=== summary (exit codes: 0 pass, 1 floor missed, other = could not run)"
status=0
for name in model_memory push_throughput rest_get plugin_startup mqtt_ingest mqtt_latency mqtt_cost rest_auth e2e_crypto e2e_pipeline nbiot_ingest coap_observe; do
  rc=${RC[$name]}
  if [[ $rc -eq 0 ]]; then verdict=PASS; elif [[ $rc -eq 1 ]]; then verdict=FAIL; else verdict="ERROR ($rc)"; fi
  printf '  %-16s %s\n' "$name" "$verdict"
  [[ $rc -eq 0 ]] || status=1
done
exit $status
