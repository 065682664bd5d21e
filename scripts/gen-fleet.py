#!/usr/bin/env python3
"""Writes N synthetic metrics reports (YAML) under DIR, spread over team folders.

Usage: scripts/gen-fleet.py DIR N
"""
import os
import random
import sys


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(42)
    for i in range(count):
        team = os.path.join(root, f"team-{i % 50:02d}")
        os.makedirs(team, exist_ok=True)
        users = int(10 ** rng.uniform(2.5, 6.5))
        stage = 1 if users < 10_000 else 2 if users < 100_000 else 3 if users < 1_000_000 else 4
        with open(os.path.join(team, f"service-{i:06d}.yaml"), "w") as f:
            f.write(
                f"service: service-{i}\n"
                f"users: {users}\n"
                f"api_p95_ms: {rng.uniform(40, 260):.1f}\n"
                f"db_cpu_pct: {rng.uniform(5, 95):.1f}\n"
                f"db_connections: {rng.randint(5, 190)}\n"
                f"db_max_connections: 200\n"
                f"cache_hit_rate_pct: {rng.uniform(60, 99):.1f}\n"
                f"replication_lag_ms: {rng.uniform(1, 150):.1f}\n"
                f"current_stage: {max(1, stage - rng.randint(0, 1))}\n"
                f"monthly_cost_usd: {rng.randint(50, 30000)}\n"
                "checklist:\n"
                f"  indexes_optimized: {str(rng.random() < 0.5).lower()}\n"
                f"  connection_pooling: {str(rng.random() < 0.5).lower()}\n"
            )


if __name__ == "__main__":
    main()
