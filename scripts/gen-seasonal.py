#!/usr/bin/env python3
"""Writes examples/history-seasonal.csv: 120 days of hourly samples of a
service whose users grow 8% a month, busiest at 15:00 UTC on weekdays, with
database CPU and API p95 following load (p95 like a queue), noise, and one
incident day.

Usage: scripts/gen-seasonal.py OUTPUT.csv
"""
import datetime
import math
import random
import sys


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rng = random.Random(42)
    start = datetime.datetime(2026, 8, 1, tzinfo=datetime.timezone.utc)
    with open(sys.argv[1], "w") as f:
        f.write("date,users,api_p95_ms,db_cpu_pct\n")
        for hour in range(0, 120 * 24, 2):
            moment = start + datetime.timedelta(hours=hour)
            days = hour / 24
            weekend = moment.weekday() >= 5
            daily = 0.25 + 0.75 * (0.5 + 0.5 * math.cos((moment.hour - 15) / 24 * 2 * math.pi))
            users = 30000 * 1.08 ** (days / 30) * daily * (0.6 if weekend else 1.0)
            cpu = 6 + 0.0009 * users + rng.gauss(0, 1.5)
            if 60 <= days < 61:
                cpu = 97
            p95 = 70 / (1 - users / 110000) * (1 + rng.gauss(0, 0.03))
            f.write(f"{moment.strftime('%Y-%m-%dT%H:%M:%SZ')},{int(users)},{p95:.1f},{min(cpu, 100):.1f}\n")


if __name__ == "__main__":
    main()
