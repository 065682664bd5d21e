#!/usr/bin/env bash
# Whole-process timings of scalectl on synthetic fleets.
#
#   scripts/bench.sh            # fleets of 1,000, 10,000 and 100,000 reports
#   scripts/bench.sh 10000      # one fleet size
#
# Needs hyperfine (Debian: apt-get install hyperfine) and GNU time
# (/usr/bin/time) for peak memory. Builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
bin=target/release/scalectl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== one report, whole process (vs. a process that does nothing)"
hyperfine --warmup 20 --runs 200 -N \
    "$bin assess --fail-on never examples/trigger-db-cpu.yaml" \
    "$bin --version" \
    "true"

sizes=("${@:-1000 10000 100000}")
for n in ${sizes[@]}; do
    python3 scripts/gen-fleet.py "$work/fleet-$n" "$n"
    for format in json jsonl table; do
        echo "== fleet of $n reports, --format $format to a file"
        # The previous output is removed before each run, untimed, so that no
        # run pays for deleting it: every run writes a fresh file.
        hyperfine --warmup 2 --runs 10 --prepare "rm -f $work/out.$format" \
            "$bin assess --format $format --fail-on never --output $work/out.$format $work/fleet-$n"
        /usr/bin/time -f "peak memory: %M KB" \
            "$bin" assess --format "$format" --fail-on never --output "$work/mem.$format" "$work/fleet-$n"
    done
    echo "== the floor: walking and reading the same files, nothing else"
    hyperfine --warmup 2 --runs 10 "find $work/fleet-$n -type f -exec cat {} + > /dev/null"
    if python3 -c 'import yaml' 2>/dev/null; then
        echo "== the same fleet with a straightforward Python script (PyYAML, C loader)"
        hyperfine --warmup 1 --runs 3 "python3 scripts/pyyaml-reference.py $work/fleet-$n $work/py.json"
    fi
done

echo "== forecast of a 1,000,000-row history CSV (streamed)"
python3 scripts/gen-history.py "$work/history.csv" 1000000
hyperfine --warmup 1 --runs 5 "$bin forecast $work/history.csv"
/usr/bin/time -f "peak memory: %M KB" "$bin" forecast "$work/history.csv" >/dev/null
/usr/bin/time -f "with --plot: %e s, peak memory: %M KB" "$bin" forecast "$work/history.csv" --plot "$work/plot.svg" >/dev/null
