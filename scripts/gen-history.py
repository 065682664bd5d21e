#!/usr/bin/env python3
"""Writes a synthetic history CSV of N rows (one observation a minute, users
growing 10% every 30 days, load metrics linear in users), in shuffled order.

Usage: scripts/gen-history.py OUTPUT.csv N
"""
import datetime
import random
import sys


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(1)
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    order = list(range(count))
    rng.shuffle(order)
    span_days = max(count / 1440, 30)
    with open(path, "w") as f:
        f.write("date,users,api_p95_ms,db_cpu_pct,cache_hit_rate_pct,replication_lag_ms\n")
        for i in order:
            days = span_days * i / count
            moment = start + datetime.timedelta(days=days)
            users = 20000 * 1.1 ** (days / 30)
            f.write(
                f"{moment.strftime('%Y-%m-%dT%H:%M:%SZ')},{int(users)},"
                f"{90 + 0.0003 * users + rng.uniform(-5, 5):.1f},"
                f"{10 + 0.00025 * users + rng.uniform(-2, 2):.1f},"
                f"{97 - 0.01 * days + rng.uniform(-1, 1):.1f},"
                f"{15 + 0.0002 * users + rng.uniform(-3, 3):.1f}\n"
            )


if __name__ == "__main__":
    main()
