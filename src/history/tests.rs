use super::*;

fn ladder() -> Ladder {
    Ladder::embedded().unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn csv_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "h.csv", text);
    load(&path, &ladder(), false)
        .unwrap_err()
        .to_string()
        .replace(&path.display().to_string(), "h.csv")
}

#[test]
fn reads_a_csv_with_empty_cells_and_derived_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "h.csv",
        "\u{feff}date,users,db_cpu_pct,db_connections,db_max_connections,service\n\
         2026-11-03,12K,40,,,api\n\
         2026-11-01,10000,,50,200,api\n\
         2026-11-02T12:00:00Z,\"11,000\",45.5,60,200,\n",
    );
    let history = load(&path, &ladder(), true).unwrap();
    assert_eq!(history.acc.observations(), 3);
    let days: Vec<f64> = history.points.iter().map(|p| p.day).collect();
    let first = date::parse("2026-11-03").unwrap();
    assert_eq!(days, [first, first - 2.0, first - 0.5]);
    assert_eq!(history.points[0].value(0), Some(12_000.0));
    assert_eq!(history.points[0].value(3), None);
    assert_eq!(history.points[1].value(3), Some(25.0));
    assert_eq!(history.points[2].value(2), Some(45.5));
    assert_eq!(history.points[2].value(0), Some(11_000.0));
}

#[test]
fn bad_rows_name_the_line_and_column() {
    assert_eq!(
        csv_error("date,users,db_cpu_pct\n2026-11-01,10,5\n2026-11-02,11,101\n"),
        "h.csv:3:15: db_cpu_pct: 101 is over 100; expected a percentage from 0 to 100"
    );
    assert_eq!(
        csv_error("date,users\n2026-11-01,10\n2026-13-02,11\n"),
        "h.csv:3:1: date: invalid date \"2026-13-02\": no such day"
    );
    assert_eq!(
        csv_error("date,users\n2026-11-01,ten\n"),
        "h.csv:2:12: users: invalid user count \"ten\"; expected a whole number such as 42000, \"42_000\", \"42K\" or \"1.2M\""
    );
    assert_eq!(
        csv_error("date,users\n,10\n"),
        "h.csv:2:1: the date is empty"
    );
    assert_eq!(
        csv_error("date,users\n2026-11-01,10,3\n"),
        "h.csv:2:1: this row has 3 fields but the header has 2"
    );
    assert_eq!(
        csv_error("date,users,api_p95,db_cpu_pct\n"),
        "h.csv:1:12: unknown column `api_p95`; did you mean `api_p95_ms`?"
    );
    assert_eq!(
        csv_error("day,users\n"),
        "h.csv:1:1: unknown column `day`; did you mean `date`?"
    );
    assert_eq!(
        csv_error("users\n5\n"),
        "h.csv:1:1: the header has no `date` column"
    );
    assert_eq!(
        csv_error("date,users,users\n"),
        "h.csv:1:12: column `users` appears twice"
    );
    assert_eq!(
        csv_error("date,db_connections,db_max_connections\n2026-11-01,5,0\n"),
        "h.csv:2:14: db_max_connections: the connection limit must be greater than 0"
    );
    assert_eq!(
        csv_error("date,api_p95_ms\n2026-11-01,NaN\n"),
        "h.csv:2:12: api_p95_ms: NaN is not a finite number"
    );
}

#[test]
fn reads_a_yaml_list_of_reports_and_a_directory_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let list = write(
        &dir,
        "history.yaml",
        "- {users: 10K, observed_at: \"2026-11-01\", db_cpu_pct: 30}\n\
         - {users: 11K, observed_at: \"2026-11-02\"}\n",
    );
    let history = load(&list, &ladder(), true).unwrap();
    assert_eq!(history.points.len(), 2);
    assert_eq!(history.points[0].value(2), Some(30.0));

    let missing = write(&dir, "missing.yaml", "- {users: 10K}\n");
    assert!(
        load(&missing, &ladder(), false)
            .unwrap_err()
            .to_string()
            .ends_with("report #1 has no observed_at")
    );
    let typo = write(
        &dir,
        "typo.json",
        "[{\"users\": 1, \"observed\": \"2026-11-01\"}]",
    );
    assert!(
        load(&typo, &ladder(), false)
            .unwrap_err()
            .to_string()
            .contains("did you mean `observed_at`?")
    );

    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    for (i, users) in [10_000, 11_000, 12_100].iter().enumerate() {
        std::fs::write(
            reports.join(format!("{i}.yaml")),
            format!("users: {users}\nobserved_at: \"2026-11-0{}\"\n", i + 1),
        )
        .unwrap();
    }
    assert_eq!(
        load(&reports, &ladder(), false).unwrap().acc.observations(),
        3
    );
    std::fs::write(reports.join("3.yaml"), "users: 1\n").unwrap();
    assert!(
        load(&reports, &ladder(), false)
            .unwrap_err()
            .to_string()
            .ends_with("has no observed_at; every report of a history needs its date")
    );
}

#[test]
fn other_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let toml = write(&dir, "h.toml", "users = 1\n");
    assert!(
        load(&toml, &ladder(), false)
            .unwrap_err()
            .to_string()
            .contains("a history is a .csv file")
    );
}
