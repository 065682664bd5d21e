#!/usr/bin/env bash
# Whole-process timings of scalectl on synthetic fleets, each beside its
# floor and the Python reference, with ratios and peak memory.
#
#   scripts/bench.sh                 # fleets of 1,000, 10,000 and 100,000 reports
#   scripts/bench.sh 10000           # one fleet size
#
# The floor is `walk-read` (scripts/walk_read.rs): the same directory walk and
# the same threads as `scalectl assess DIR`, reading every file and nothing
# else; `floor+w` is the same program also writing as many bytes as the JSON
# output holds (`walk-read --write BYTES OUT`). Needs hyperfine (Debian:
# apt-get install hyperfine), GNU time (/usr/bin/time) for peak memory, and
# PyYAML for the Python reference (skipped without it). Builds the release binary and the floor first.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
cargo build --release --quiet --example walk-read
bin=target/release/scalectl
floor=target/release/examples/walk-read
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# min and median of a hyperfine JSON export, in milliseconds: "MIN MEDIAN".
stats() {
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f %.1f" % (r["min"]*1e3, r["median"]*1e3))' "$1"
}
# peak resident memory of a command, in MB.
peak() {
    /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'
}

echo "== one report, whole process (vs. --version and a process that does nothing)"
hyperfine --warmup 20 --runs 200 -N \
    "$bin assess --fail-on never examples/trigger-db-cpu.yaml" \
    "$bin --version" \
    "true"

sizes=("${@:-1000 10000 100000}")
printf '\n%-8s %-8s %20s %12s %10s %10s\n' fleet what "min/median ms" "x floor" "x python" "peak MB"
for n in ${sizes[@]}; do
    python3 scripts/gen-fleet.py "$work/fleet-$n" "$n" >/dev/null
    runs=20
    [ "$n" -ge 100000 ] && runs=5
    hyperfine --warmup 2 --runs "$runs" -N --export-json "$work/floor.json" \
        "$floor $work/fleet-$n" >/dev/null
    read -r floor_min floor_median < <(stats "$work/floor.json")
    python_median=""
    if python3 -c 'import yaml' 2>/dev/null; then
        hyperfine --warmup 1 --runs 3 --export-json "$work/python.json" \
            "python3 scripts/pyyaml-reference.py $work/fleet-$n $work/py.json" >/dev/null
        read -r python_min python_median < <(stats "$work/python.json")
    fi
    for format in json jsonl table; do
        # Every run writes a fresh file: deleting the previous output is
        # not timed (--prepare).
        hyperfine --warmup 2 --runs "$runs" -N --export-json "$work/run.json" \
            --prepare "rm -f $work/out.$format" \
            "$bin assess --format $format --fail-on never --output $work/out.$format $work/fleet-$n" >/dev/null
        read -r run_min run_median < <(stats "$work/run.json")
        rm -f "$work/mem.$format"
        memory=$(peak "$bin" assess --format "$format" --fail-on never --output "$work/mem.$format" "$work/fleet-$n")
        x_floor=$(python3 -c "print('%.2f' % ($run_median / $floor_median))")
        x_python=$([ -n "$python_median" ] && python3 -c "print('%.1f' % ($python_median / $run_median))" || echo -)
        printf '%-8s %-8s %20s %12s %10s %10s\n' "$n" "$format" "$run_min / $run_median" "$x_floor" "$x_python" "$memory"
    done
    printf '%-8s %-8s %20s %12s %10s %10s\n' "$n" floor "$floor_min / $floor_median" 1.00 - "$(peak "$floor" "$work/fleet-$n")"
    # The floor that also writes as many bytes as the JSON output holds.
    json_bytes=$(stat -c %s "$work/mem.json")
    hyperfine --warmup 2 --runs "$runs" -N --export-json "$work/floor-write.json" \
        --prepare "rm -f $work/out.bin" \
        "$floor --write $json_bytes $work/out.bin $work/fleet-$n" >/dev/null
    read -r write_min write_median < <(stats "$work/floor-write.json")
    printf '%-8s %-8s %20s %12s %10s %10s\n' "$n" "floor+w" "$write_min / $write_median" \
        "$(python3 -c "print('%.2f' % ($write_median / $floor_median))")" - \
        "$(rm -f "$work/out.bin"; peak "$floor" --write "$json_bytes" "$work/out.bin" "$work/fleet-$n")"
    if [ -n "$python_median" ]; then
        printf '%-8s %-8s %20s %12s %10s %10s\n' "$n" python "$python_min / $python_median" \
            "$(python3 -c "print('%.2f' % ($python_median / $floor_median))")" 1.0 \
            "$(peak python3 scripts/pyyaml-reference.py "$work/fleet-$n" "$work/py.json")"
    fi
    rm -rf "$work/fleet-$n" "$work"/out.* "$work"/mem.*
done

echo
echo "== forecast of a 1,000,000-row history CSV (streamed)"
python3 scripts/gen-history.py "$work/history.csv" 1000000
hyperfine --warmup 1 --runs 5 "$bin forecast $work/history.csv"
/usr/bin/time -f "peak memory: %M KB" "$bin" forecast "$work/history.csv" >/dev/null
/usr/bin/time -f "with --plot: %e s, peak memory: %M KB" "$bin" forecast "$work/history.csv" --plot "$work/plot.svg" >/dev/null
