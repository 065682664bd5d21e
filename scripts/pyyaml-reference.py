#!/usr/bin/env python3
"""A straightforward Python equivalent of the fleet job, for comparison:
load every report under DIR with PyYAML's C loader, place it on the default
ladder, check the rules, and write a JSON report.

Usage: scripts/pyyaml-reference.py DIR OUTPUT.json
"""
import json
import os
import sys

import yaml

STAGES = [(0, 10_000), (10_000, 100_000), (100_000, 1_000_000), (1_000_000, None)]
RULES = [
    ("api-p95", "api_p95_ms", "above", 160, 200),
    ("db-cpu", "db_cpu_pct", "above", 60, 70),
    ("cache-hit-rate", "cache_hit_rate_pct", "below", 85, 80),
    ("replication-lag", "replication_lag_ms", "above", 80, 100),
]


def assess(path):
    with open(path) as f:
        report = yaml.load(f, Loader=yaml.CSafeLoader)
    users = report["users"]
    stage = next(i + 1 for i, (lo, hi) in enumerate(STAGES) if users >= lo and (hi is None or users < hi))
    alarms = []
    for rule, metric, direction, warning, critical in RULES:
        value = report.get(metric)
        if value is None:
            continue
        worse = (lambda a, b: a > b) if direction == "above" else (lambda a, b: a < b)
        if worse(value, critical):
            alarms.append({"rule": rule, "severity": "critical", "observed": value, "threshold": critical})
        elif value == warning or worse(value, warning):
            alarms.append({"rule": rule, "severity": "warning", "observed": value, "threshold": warning})
    return {"file": path, "service": report.get("service"), "users": users, "stage": stage, "alarms": alarms}


def main():
    root, output = sys.argv[1], sys.argv[2]
    paths = sorted(
        os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.endswith((".yaml", ".yml"))
    )
    with open(output, "w") as f:
        json.dump({"schema_version": 1, "reports": [assess(p) for p in paths]}, f, indent=2)


if __name__ == "__main__":
    main()
