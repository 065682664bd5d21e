//! The article's checklist as data: its sections and items, and how each
//! item gets its answer. Depends on nothing but the metrics it names, so the
//! ladder can validate the item ids it refers to.

use crate::metric::Metric;

/// How an item gets its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Derived from a metric through the ladder's rule on it.
    Measured(Metric),
    /// Answered in the report's `checklist:` map.
    Manual,
    /// Only measured straight from a source; never answered by hand.
    Collected,
}

/// One checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Stable id, used as the key in a report's `checklist:` map.
    pub id: &'static str,
    /// What the item asks, for manual items; measured items build theirs from the ladder.
    pub text: &'static str,
    /// Where the answer comes from.
    pub answer: Answer,
    /// A metric whose measurement answers this manual item: a measured cache
    /// hit rate means a cache exists, a measured replication lag means replicas do.
    pub implied_by: Option<Metric>,
}

/// One section of the checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    /// Stable id.
    pub id: &'static str,
    /// Heading.
    pub title: &'static str,
    /// The items, in order.
    pub items: &'static [Item],
}

const fn manual(id: &'static str, text: &'static str) -> Item {
    Item {
        id,
        text,
        answer: Answer::Manual,
        implied_by: None,
    }
}

const fn implied(id: &'static str, text: &'static str, metric: Metric) -> Item {
    Item {
        id,
        text,
        answer: Answer::Manual,
        implied_by: Some(metric),
    }
}

const fn measured(id: &'static str, metric: Metric, text: &'static str) -> Item {
    Item {
        id,
        text,
        answer: Answer::Measured(metric),
        implied_by: None,
    }
}

/// The id of the section that only applies once the ladder runs read replicas.
pub const READ_REPLICAS: &str = "read_replicas";

/// The article's checklist.
pub const SECTIONS: [Section; 5] = [
    Section {
        id: "measurement",
        title: "Measurement",
        items: &[
            measured("db_cpu_under_70", Metric::DbCpuPct, "Database CPU"),
            measured(
                "api_p95_under_200ms",
                Metric::ApiP95Ms,
                "API p95 response time",
            ),
            measured(
                "db_connections_under_max",
                Metric::DbConnectionsPct,
                "Database connections in use",
            ),
            manual(
                "bottleneck_identified",
                "Bottleneck identified (is it really the database?)",
            ),
        ],
    },
    Section {
        id: "before_optimization",
        title: "Before optimization",
        items: &[
            manual("indexes_optimized", "Database indexes optimized"),
            manual("slow_queries_fixed", "Slow queries identified and fixed"),
            manual("n_plus_one_eliminated", "N+1 queries eliminated"),
            manual("connection_pooling", "Connection pooling implemented"),
        ],
    },
    Section {
        id: "caching",
        title: "Caching",
        items: &[
            implied(
                "redis_cache",
                "Redis cache implemented",
                Metric::CacheHitRatePct,
            ),
            measured(
                "cache_hit_rate_over_80",
                Metric::CacheHitRatePct,
                "Cache hit rate",
            ),
            manual(
                "cache_invalidation_strategy",
                "Cache invalidation strategy clear",
            ),
            manual("cache_monitoring", "Monitoring on cache hits and misses"),
        ],
    },
    Section {
        id: READ_REPLICAS,
        title: "Read replicas",
        items: &[
            implied(
                "read_replicas_deployed",
                "Read replicas deployed",
                Metric::ReplicationLagMs,
            ),
            measured(
                "replication_lag_under_100ms",
                Metric::ReplicationLagMs,
                "Replication lag",
            ),
            manual(
                "read_traffic_distributed",
                "Read traffic distributed across replicas",
            ),
            manual("failover_tested", "Failover tested"),
        ],
    },
    Section {
        id: "monitoring",
        title: "Monitoring",
        items: &[
            manual(
                "db_metrics_monitored",
                "Database metrics monitored (CPU, memory, connections)",
            ),
            manual("alerts_set", "Alerts set (CPU, connections)"),
            manual("query_performance_monitored", "Query performance monitored"),
            manual("response_times_trending", "Response times trending"),
        ],
    },
];

/// Every item, in checklist order.
pub fn items() -> impl Iterator<Item = &'static Item> {
    SECTIONS.iter().flat_map(|section| section.items.iter())
}

/// The item with this id.
pub fn item(id: &str) -> Option<&'static Item> {
    items().find(|item| item.id == id)
}

/// The extra caching item measured from PostgreSQL only: its own buffer cache.
pub const DB_BUFFER_CACHE: Item = Item {
    id: "db_buffer_cache_hit",
    text: "PostgreSQL buffer cache hit ratio",
    answer: Answer::Collected,
    implied_by: None,
};
