//! Request parameters: parsed from the query string and the form body, with
//! Binance's precedence (the query string wins) and typed getters that fail
//! with the documented error codes.

use crate::errors::ApiError;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

#[derive(Debug, Clone, Default)]
pub struct Params {
    map: HashMap<String, String>,
}

impl Params {
    /// Parses both sources. A name repeated within the query string (or
    /// within the body) is `-1101`; the same name in both takes the query's.
    pub fn parse(raw_query: &str, raw_body: &str) -> Result<Params, ApiError> {
        let mut map = HashMap::new();
        for raw in [raw_query, raw_body] {
            let mut seen = HashMap::new();
            for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
                if seen.insert(k.to_string(), ()).is_some() {
                    return Err(ApiError::duplicate_param());
                }
                map.entry(k.to_string()).or_insert_with(|| v.to_string());
            }
        }
        Ok(Params { map })
    }

    /// Every parameter name sent (query and body, each name once).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_empty())
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.map
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.str(name).ok_or_else(|| ApiError::mandatory(name))
    }

    pub fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::illegal_chars(name, "^[0-9]{1,20}$")),
        }
    }

    pub fn u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<u64>()
                .map(Some)
                .map_err(|_| ApiError::illegal_chars(name, "^[0-9]{1,20}$")),
        }
    }

    /// A time parameter (`startTime`, `endTime`) in ms; microsecond values
    /// (16 digits) are accepted, as Binance documents.
    pub fn time_ms(&self, name: &str) -> Result<Option<i64>, ApiError> {
        Ok(self.i64(name)?.map(to_ms))
    }

    pub fn decimal(&self, name: &str) -> Result<Option<Decimal>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) => Decimal::from_str(v)
                .map(Some)
                .map_err(|_| ApiError::illegal_chars(name, "^([0-9]{1,20})(\\.[0-9]{1,20})?$")),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.str(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid_param(name)),
        }
    }

    /// `limit` with a default and a maximum. Values above the maximum are
    /// capped to it, as the exchange does for these history endpoints.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.i64("limit")? {
            None => Ok(default),
            Some(n) if n <= 0 => Err(ApiError::invalid_param("limit")),
            Some(n) => Ok((n as usize).min(max)),
        }
    }
}

/// Epoch values with 16+ digits are microseconds.
pub fn to_ms(t: i64) -> i64 {
    if t >= 100_000_000_000_000 {
        t / 1000
    } else {
        t
    }
}
