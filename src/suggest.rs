//! "Did you mean ...?" for misspelled names.

/// The candidate closest to `input`, if any is close enough to be a likely typo.
pub fn nearest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Names are short; a long input is no typo of one (and comparing it would
    // cost time in proportion to its length times each candidate's).
    if input.len() > 128 {
        return None;
    }
    let input_lower = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let distance = levenshtein(&input_lower, &candidate.to_ascii_lowercase());
            let longest = input.chars().count().max(candidate.chars().count());
            let contains = input_lower.len() >= 3 && candidate.contains(input_lower.as_str());
            (distance <= (longest / 2).max(1) || contains).then_some((distance, candidate))
        })
        .min_by_key(|&(distance, candidate)| (distance, candidate))
        .map(|(_, candidate)| candidate)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: [&str; 4] = ["users", "db_cpu_pct", "api_p95_ms", "service"];

    #[test]
    fn suggests_the_field_a_typo_or_prefix_meant() {
        assert_eq!(nearest("db_cpu", FIELDS), Some("db_cpu_pct"));
        assert_eq!(nearest("usres", FIELDS), Some("users"));
        assert_eq!(nearest("api_p99_ms", FIELDS), Some("api_p95_ms"));
        assert_eq!(nearest("cpu", FIELDS), Some("db_cpu_pct"));
        assert_eq!(nearest("USERS", FIELDS), Some("users"));
    }

    #[test]
    fn suggests_nothing_for_unrelated_names() {
        assert_eq!(nearest("colour", FIELDS), None);
        assert_eq!(nearest("x", FIELDS), None);
        assert_eq!(nearest("anything", []), None);
    }

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }
}
