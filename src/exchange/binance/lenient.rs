//! Lenient-but-exact field parsers for Binance JSON.
//!
//! Live Binance sends ids and times as JSON numbers and money as decimal strings, but
//! recorded fixtures (ccxt) store ids/times as strings and some endpoints send numbers for
//! money. Every parser here accepts both forms and never goes through `f64` for strings.

use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::str::FromStr;

fn parse_decimal_str<E: de::Error>(s: &str) -> Result<Decimal, E> {
    let t = s.trim();
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .map_err(|_| E::custom("expected a decimal number"))
}

struct DecimalVisitor;
impl Visitor<'_> for DecimalVisitor {
    type Value = Decimal;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal as a string or a number")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse_decimal_str(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        // A JSON number with a fraction: serde_json already made it an f64. Go through its
        // shortest round-trip text so 0.1 stays 0.1 (not 0.1000000000000000055...).
        parse_decimal_str(&v.to_string())
    }
}

/// A decimal from `"0.1"` or `0.1` or `1`.
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    d.deserialize_any(DecimalVisitor)
}

/// An optional decimal (absent or null → None).
pub fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Decimal>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an optional decimal")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            decimal(d).map(Some)
        }
    }
    d.deserialize_option(V)
}

struct I64Visitor;
impl Visitor<'_> for I64Visitor {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer as a number or a string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom("integer out of range"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        v.trim()
            .parse::<i64>()
            .map_err(|_| E::custom("expected an integer string"))
    }
}

/// An `i64` (times, order list ids) from a number or a string.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(I64Visitor)
}

/// An optional `i64` (absent or null: None).
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v: Option<serde_json::Value> = serde::Deserialize::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => int(v).map(Some).map_err(de::Error::custom),
    }
}

/// A non-negative id from a number or a string.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a non-negative id as a number or a string")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom("negative id"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            v.trim()
                .parse::<u64>()
                .map_err(|_| E::custom("expected an id string"))
        }
    }
    d.deserialize_any(V)
}

/// An opaque id kept as text, from a string or a number.
pub fn text_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an id as a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V)
}

/// A time in epoch ms from a number, a numeric string, or a UTC `"YYYY-MM-DD HH:MM:SS"`
/// string (withdraw history's `applyTime`/`completeTime`).
pub fn time<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a time as epoch ms or \"YYYY-MM-DD HH:MM:SS\"")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("time out of range"))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            let t = v.trim();
            if let Ok(ms) = t.parse::<i64>() {
                return Ok(ms);
            }
            utc_datetime_ms(t).ok_or_else(|| E::custom("expected epoch ms or YYYY-MM-DD HH:MM:SS"))
        }
    }
    d.deserialize_any(V)
}

/// An optional time (see [`time`]); absent, null, 0 or an empty string is None (a pending
/// deposit's `completeTime`).
pub fn opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v: Option<serde_json::Value> = serde::Deserialize::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => time(v)
            .map(|t| Some(t).filter(|t| *t > 0))
            .map_err(de::Error::custom),
    }
}

/// `"2019-10-12 11:12:02"` (UTC) → epoch ms. No chrono dependency for one format.
pub fn utc_datetime_ms(s: &str) -> Option<i64> {
    let (date, clock) = s.split_once([' ', 'T'])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let clock = clock.trim_end_matches('Z');
    let mut c = clock.splitn(3, ':');
    let h = c.next()?.parse::<i64>().ok()?;
    let min = c.next()?.parse::<i64>().ok()?;
    let sec_text = c.next().unwrap_or("0");
    let (sec, frac_ms) = match sec_text.split_once('.') {
        Some((s, f)) => {
            let digits: String = f.chars().chain("000".chars()).take(3).collect();
            (s.parse::<i64>().ok()?, digits.parse::<i64>().ok()?)
        }
        None => (sec_text.parse::<i64>().ok()?, 0),
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    // Years far outside any exchange record would overflow the millisecond count.
    if !(0..=9999).contains(&y) || !(0..=59).contains(&min) || h < 0 || sec < 0 || frac_ms < 0 {
        return None;
    }
    Some((days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60 + sec) * 1000 + frac_ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_datetime_parses_known_instants() {
        assert_eq!(utc_datetime_ms("1970-01-01 00:00:00"), Some(0));
        // 2019-10-12 11:12:02 UTC = 1570878722 s.
        assert_eq!(
            utc_datetime_ms("2019-10-12 11:12:02"),
            Some(1_570_878_722_000)
        );
        assert_eq!(
            utc_datetime_ms("2024-02-29 00:00:00.5"),
            Some(1_709_164_800_500)
        );
        assert_eq!(utc_datetime_ms("not a date"), None);
        assert_eq!(
            utc_datetime_ms("53578674294967296-12-31 23:59:59"),
            None,
            "a year that would overflow is refused, not a panic"
        );
    }
}
