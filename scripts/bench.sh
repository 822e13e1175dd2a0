#!/usr/bin/env bash
# Benchmarks the whole pipeline on loopback against the emulator, and states
# every figure as a ratio to a baseline measured in the same run (these
# machines are shared and noisy; absolute seconds mean little).
#
#   1. download + decompress to a file: blocking client, async client and CLI
#      vs `curl URL | gzip -dc > file` (median of RUNS runs each);
#   2. peak resident memory of each client for a ROWS and a 5 x ROWS export;
#   3. `didww-exports cdr summarize --by did FILE.csv.gz` vs `gzip -dc FILE | wc -l`.
#
# Usage: scripts/bench.sh            (ROWS=2000000 RUNS=3 by default)
#        ROWS=500000 RUNS=5 scripts/bench.sh
# Needs curl, gzip and GNU time (/usr/bin/time); Debian: apt-get install curl gzip time.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-2000000}
RUNS=${RUNS:-3}
KEY=bench-key
for tool in curl gzip /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "bench.sh needs $tool" >&2; exit 2; }
done

echo "building release binaries..." >&2
cargo build --release -q -p didww-exports-mock -p didww-exports-cli

BIN=target/release
# Both crates name their example bench_download: build them one at a time, keeping a copy each.
WORK=$(mktemp -d)
cleanup() {
    [ -n "${MOCK_PID:-}" ] && kill "$MOCK_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
cargo build --release -q -p didww-exports-transport-blocking --example bench_download
cp "$BIN/examples/bench_download" "$WORK/blocking"
cargo build --release -q -p didww-exports-transport-async --example bench_download
cp "$BIN/examples/bench_download" "$WORK/async"

"$BIN/didww-exports-mock" --bind 127.0.0.1:0 --api-key "$KEY" --processing-delay-ms 0 --rate-limit 0 \
    --rows "$ROWS" > "$WORK/mock.out" 2> "$WORK/mock.err" &
MOCK_PID=$!
for _ in $(seq 100); do
    BASE=$(sed -n 's/^listening on //p' "$WORK/mock.out")
    [ -n "$BASE" ] && break
    sleep 0.05
done
[ -n "$BASE" ] || { echo "the emulator did not start" >&2; exit 1; }
ADMIN=${BASE%/v3}/__admin

create() {
    curl -sf -X POST "$BASE/exports" -H "Api-Key: $KEY" -H 'Content-Type: application/vnd.api+json' \
        -d '{"data":{"type":"exports","attributes":{"export_type":"cdr_in","filters":{"from":"'"$(date -u +%Y-%m)"'-01T00:00:00Z","to":"'"$(date -u +%Y-%m-%d)"'T23:59:59Z"}}}}' \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])'
}

# Seconds (wall clock) of one run of "$@".
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.3f}')"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

export DIDWW_API_KEY=$KEY
ID=$(create)
URL="$BASE/exports/$ID.csv.gz"
curl -sf -H "Api-Key: $KEY" "$URL" -o "$WORK/export.csv.gz"   # warm-up; also the file for step 3
SIZE=$(stat -c %s "$WORK/export.csv.gz")

run_curl()     { curl -sf -H "Api-Key: $KEY" "$URL" | gzip -dc > "$WORK/out.csv"; }
run_blocking() { "$WORK/blocking" "$BASE" "$ID" "$WORK/out.csv"; }
run_async()    { "$WORK/async" "$BASE" "$ID" "$WORK/out.csv"; }
run_cli()      { "$BIN/didww-exports" -q --base-url "$BASE" download "$ID" --decompress --force -O "$WORK/out.csv"; }

declare -A T
for name in curl blocking async cli; do
    samples=()
    for _ in $(seq "$RUNS"); do
        samples+=("$(seconds "run_$name")")
        rm -f "$WORK/out.csv"
    done
    T[$name]=$(median "${samples[@]}")
done

echo
echo "== 1. download ${ROWS} rows ($SIZE bytes gzip) and decompress to a file; median of $RUNS runs"
printf '%-28s %9s %8s\n' "client" "seconds" "ratio"
printf '%-28s %9s %8s\n' "curl | gzip -dc (baseline)" "${T[curl]}" "1.00"
for name in blocking async cli; do
    printf '%-28s %9s %8s\n' "$name" "${T[$name]}" "$(ratio "${T[$name]}" "${T[curl]}")"
done

echo
echo "== 2. peak resident memory (KiB, GNU time %M) for ${ROWS} and $((ROWS * 5)) rows"
# GNU time runs programs, not shell functions: spell each client out.
peak() {
    local cmd
    case $1 in
        blocking) cmd=("$WORK/blocking" "$BASE" "$ID" "$WORK/out.csv") ;;
        async) cmd=("$WORK/async" "$BASE" "$ID" "$WORK/out.csv") ;;
        cli) cmd=("$BIN/didww-exports" -q --base-url "$BASE" download "$ID" --decompress --force -O "$WORK/out.csv") ;;
    esac
    /usr/bin/time -f %M -o "$WORK/mem" "${cmd[@]}" > /dev/null 2>&1
    tail -n 1 "$WORK/mem"
    rm -f "$WORK/out.csv"
}
declare -A M1 M5
for name in blocking async cli; do M1[$name]=$(peak "$name"); done
curl -sf -X PUT "$ADMIN/settings" -d "{\"rows\": $((ROWS * 5))}" > /dev/null
ID=$(create)
for name in blocking async cli; do M5[$name]=$(peak "$name"); done
printf '%-10s %12s %12s %8s\n' "client" "1x (KiB)" "5x (KiB)" "5x/1x"
for name in blocking async cli; do
    printf '%-10s %12s %12s %8s\n' "$name" "${M1[$name]}" "${M5[$name]}" "$(ratio "${M5[$name]}" "${M1[$name]}")"
done

echo
echo "== 3. summarize the ${ROWS}-row .csv.gz; median of $RUNS runs"
count_lines() { gzip -dc "$WORK/export.csv.gz" | wc -l; }
summarize() { "$BIN/didww-exports" cdr summarize --by did "$WORK/export.csv.gz"; }
S1=(); S2=()
for _ in $(seq "$RUNS"); do
    S1+=("$(seconds count_lines)")
    S2+=("$(seconds summarize)")
done
B=$(median "${S1[@]}"); S=$(median "${S2[@]}")
printf '%-34s %9s %8s\n' "command" "seconds" "ratio"
printf '%-34s %9s %8s\n' "gzip -dc FILE | wc -l (baseline)" "$B" "1.00"
printf '%-34s %9s %8s\n' "didww-exports cdr summarize --by did" "$S" "$(ratio "$S" "$B")"
