//! Value types of the metrics report that validate themselves while they are
//! deserialized, so that errors carry the parser's line and column.

use std::collections::BTreeMap;
use std::fmt;

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::checklist::{self, Answer};

/// A count of active users. Accepts a non-negative integer, or a string such
/// as `"42K"`, `"1.2M"` or `"42_000"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Users(pub u64);

impl Users {
    /// Parses `"42000"`, `"42_000"`, `"42,000"`, `"42K"`, `"1.2M"`, `"3B"`
    /// (suffixes in either case). The result must be a whole number.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "invalid user count \"{}\"; expected a whole number such as 42000, \"42_000\", \"42K\" or \"1.2M\"",
                text.escape_debug()
            )
        };
        let trimmed = text.trim();
        if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return trimmed
                .parse()
                .map(Self)
                .map_err(|_| format!("user count \"{text}\" is too large"));
        }
        let (number, multiplier) = match trimmed.char_indices().last() {
            Some((at, 'k' | 'K')) => (&trimmed[..at], 1_000u64),
            Some((at, 'm' | 'M')) => (&trimmed[..at], 1_000_000),
            Some((at, 'b' | 'B')) => (&trimmed[..at], 1_000_000_000),
            _ => (trimmed, 1),
        };
        // Commas group thousands, and nothing else: "25,000", not "1,5M".
        if number.contains(',') {
            let whole = number.trim_end().split('.').next().unwrap_or_default();
            let mut groups = whole.split(',');
            let first = groups.next().unwrap_or_default();
            let grouped = (1..=3).contains(&first.len())
                && groups.all(|group| group.len() == 3)
                && !number
                    .trim_end()
                    .split('.')
                    .nth(1)
                    .is_some_and(|f| f.contains(','));
            if !grouped {
                return Err(format!(
                    "users: \"{}\" is not a user count: a comma only groups thousands (\"25,000\"); write a decimal point as \".\" (\"1.5M\")",
                    text.escape_debug()
                ));
            }
        }
        let number: String = number
            .trim_end()
            .chars()
            .filter(|c| !matches!(c, '_' | ','))
            .collect();
        let (whole, fraction) = number.split_once('.').unwrap_or((&number, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let fraction = fraction.trim_end_matches('0');
        let scale = u32::try_from(fraction.len())
            .ok()
            .and_then(|len| 10u64.checked_pow(len))
            .ok_or_else(invalid)?;
        let too_large = || format!("user count \"{text}\" is too large");
        let mantissa: u64 = format!("{whole}{fraction}")
            .parse()
            .map_err(|_| too_large())?;
        let product = mantissa.checked_mul(multiplier).ok_or_else(too_large)?;
        if !product.is_multiple_of(scale) {
            return Err(format!(
                "user count \"{text}\" is not a whole number of users"
            ));
        }
        Ok(Self(product / scale))
    }
}

impl<'de> Deserialize<'de> for Users {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(WholeVisitor {
                what: "users",
                text: true,
            })
            .map(Users)
    }
}

/// Deserializes a whole number >= 0 from an integer or an integral float; from
/// a string only when `text` is set (user counts such as "42K").
struct WholeVisitor {
    what: &'static str,
    text: bool,
}

impl Visitor<'_> for WholeVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.text {
            f.write_str("a whole number of users, such as 42000 or \"42K\"")
        } else {
            f.write_str("a whole number >= 0")
        }
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        u64::try_from(value)
            .map_err(|_| E::custom(format!("{} must not be negative, found {value}", self.what)))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<u64, E> {
        u64::try_from(value).map_err(|_| E::custom(format!("{} {value} is too large", self.what)))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<u64, E> {
        if value < 0 {
            return Err(E::custom(format!(
                "{} must not be negative, found {value}",
                self.what
            )));
        }
        self.visit_u128(value.unsigned_abs())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<u64, E> {
        const LARGEST_EXACT: f64 = 9_007_199_254_740_992.0;
        let what = self.what;
        if !value.is_finite() {
            Err(E::custom(format!(
                "{what} must be a finite number, found {value}"
            )))
        } else if value < 0.0 {
            Err(E::custom(format!(
                "{what} must not be negative, found {value}"
            )))
        } else if value.fract() != 0.0 {
            Err(E::custom(format!(
                "{what} must be a whole number, found {value}"
            )))
        } else if value > LARGEST_EXACT {
            Err(E::custom(format!("{what} {value} is too large")))
        } else {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(value as u64)
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
        Err(E::custom(if self.text {
            "users: missing value; give the number of active users (0 only if there really are none)"
        } else {
            "missing value"
        }))
    }

    fn visit_none<E: de::Error>(self) -> Result<u64, E> {
        self.visit_unit()
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<u64, E> {
        if self.text {
            Users::parse(value).map(|users| users.0).map_err(E::custom)
        } else {
            Err(E::custom(format!(
                "{} must be a number, found the string \"{value}\"",
                self.what
            )))
        }
    }
}

/// Deserializes any finite or non-finite number, but not a string.
struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<f64, E> {
        Ok(value as f64)
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<f64, E> {
        Ok(value as f64)
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_u128<E: de::Error>(self, value: u128) -> Result<f64, E> {
        Ok(value as f64)
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_i128<E: de::Error>(self, value: i128) -> Result<f64, E> {
        Ok(value as f64)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<f64, E> {
        Ok(value)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<f64, E> {
        Err(E::custom(format!(
            "expected a number, found the string \"{value}\""
        )))
    }
}

/// Checks a finite number against a range while it is deserialized.
fn bounded<'de, D: Deserializer<'de>>(deserializer: D, max: Option<f64>) -> Result<f64, D::Error> {
    let value = deserializer.deserialize_any(NumberVisitor)?;
    if value.is_infinite() {
        return Err(de::Error::custom(
            "the number is too large (or infinite); expected a finite number",
        ));
    }
    if value.is_nan() {
        return Err(de::Error::custom(
            "NaN is not a number; leave the field out when it is not measured",
        ));
    }
    if value < 0.0 {
        return Err(de::Error::custom(format!(
            "{value} is negative; expected a number >= 0"
        )));
    }
    if let Some(max) = max
        && value > max
    {
        return Err(de::Error::custom(format!(
            "{value} is over {max}; expected a percentage from 0 to {max}"
        )));
    }
    // Normalise -0 to 0 so that it never prints as "-0".
    Ok(value + 0.0)
}

/// A date or date-time, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct ObservedAt(pub f64);

impl<'de> Deserialize<'de> for ObservedAt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        crate::date::parse(&text)
            .map(Self)
            .map_err(de::Error::custom)
    }
}

/// A whole number >= 0, such as an open connection count or a stage id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Whole(pub u64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(WholeVisitor {
                what: "the value",
                text: false,
            })
            .map(Self)
    }
}

/// A finite number >= 0.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct NonNegative(pub f64);

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        bounded(deserializer, None).map(Self)
    }
}

/// A percentage from 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Percent(pub f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        bounded(deserializer, Some(100.0)).map(Self)
    }
}

/// A connection limit: a whole number greater than 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Limit(pub u64);

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Whole::deserialize(deserializer)?.0 {
            0 => Err(de::Error::custom(
                "the connection limit must be greater than 0",
            )),
            value => Ok(Self(value)),
        }
    }
}

/// Manual answers to checklist items: item id -> done. Duplicate keys are an
/// error in every format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Answers(pub BTreeMap<String, bool>);

impl<'de> Deserialize<'de> for Answers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnswersVisitor;

        impl<'de> Visitor<'de> for AnswersVisitor {
            type Value = Answers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of checklist item ids to true or false")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Answers, A::Error> {
                let mut answers = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, bool>()? {
                    if answers.insert(key.clone(), value).is_some() {
                        return Err(de::Error::custom(format!(
                            "duplicate checklist item `{key}`"
                        )));
                    }
                }
                Ok(Answers(answers))
            }
        }

        deserializer.deserialize_map(AnswersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_only_group_thousands() {
        for (text, users) in [
            ("25,000", 25_000),
            ("1,234,567", 1_234_567),
            ("1,200K", 1_200_000),
            ("1,234.5K", 1_234_500),
        ] {
            assert_eq!(Users::parse(text), Ok(Users(users)), "{text}");
        }
        for text in ["1,5M", "1,2,3", "25,0000", ",000", "1000,000", "1.2,5K"] {
            let error = Users::parse(text).unwrap_err();
            assert!(
                error.starts_with(&format!(
                    "users: \"{text}\" is not a user count: a comma only groups thousands"
                )),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn parses_user_counts_with_suffixes_and_separators() {
        for (text, users) in [
            ("0", 0),
            ("42000", 42_000),
            ("42_000", 42_000),
            ("42,000", 42_000),
            ("42K", 42_000),
            ("42k", 42_000),
            ("1.2M", 1_200_000),
            ("1.25k", 1_250),
            ("2.50K", 2_500),
            (" 3 M ", 3_000_000),
            ("1B", 1_000_000_000),
            ("18446744073709551615", u64::MAX),
        ] {
            assert_eq!(Users::parse(text), Ok(Users(users)), "{text}");
        }
    }

    #[test]
    fn rejects_bad_user_counts() {
        for text in ["", "K", "-5", "1.2.3", "12Q", "abc", "1e3", ".5K", "0x10"] {
            assert!(
                Users::parse(text)
                    .unwrap_err()
                    .starts_with("invalid user count"),
                "{text}"
            );
        }
        assert_eq!(
            Users::parse("1.2345K").unwrap_err(),
            "user count \"1.2345K\" is not a whole number of users"
        );
        assert_eq!(
            Users::parse("18446744073709551616").unwrap_err(),
            "user count \"18446744073709551616\" is too large"
        );
        assert_eq!(
            Users::parse("99999999999999B").unwrap_err(),
            "user count \"99999999999999B\" is too large"
        );
    }
}

/// JSON Schemas of the value types, matching what their deserializers accept.
mod schemas {
    use super::*;

    macro_rules! schema {
        ($type:ty, $name:literal, $schema:tt) => {
            impl JsonSchema for $type {
                fn schema_name() -> Cow<'static, str> {
                    $name.into()
                }

                fn inline_schema() -> bool {
                    true
                }

                fn json_schema(_: &mut SchemaGenerator) -> Schema {
                    json_schema!($schema)
                }
            }
        };
    }

    schema!(Users, "Users", {
        "anyOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "string", "pattern": "^\\s*[0-9][0-9_,]*(\\.[0-9]+)?\\s*[kKmMbB]?\\s*$" }
        ]
    });
    schema!(NonNegative, "NonNegative", { "type": "number", "minimum": 0 });
    schema!(Percent, "Percent", { "type": "number", "minimum": 0, "maximum": 100 });
    schema!(Whole, "Whole", { "type": "integer", "minimum": 0 });
    schema!(Limit, "Limit", { "type": "integer", "minimum": 1 });
    schema!(ObservedAt, "ObservedAt", {
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$"
    });

    impl JsonSchema for Answers {
        fn schema_name() -> Cow<'static, str> {
            "Answers".into()
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            let properties: serde_json::Map<String, serde_json::Value> = checklist::items()
                .filter(|item| item.answer == Answer::Manual)
                .map(|item| {
                    (
                        item.id.to_owned(),
                        serde_json::json!({ "type": "boolean", "description": item.text }),
                    )
                })
                .collect();
            json_schema!({
                "type": "object",
                "properties": properties,
                "additionalProperties": false
            })
        }
    }
}
