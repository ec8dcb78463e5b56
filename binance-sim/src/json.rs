//! Ordered JSON: responses keep Binance's documented field order.
//!
//! `serde_json::Value` sorts object keys (we must not turn on serde_json's
//! `preserve_order` feature: features unify across the workspace and would
//! change the main crate's behaviour). Parsers do not care about order, but
//! people reading a response next to the docs do, so rendering goes through
//! [`J`], which serializes object fields in the order they were written.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A JSON value whose objects keep their field order.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Obj(Vec<(&'static str, J)>),
    Arr(Vec<J>),
    Val(Value),
}

impl J {
    /// Removes a field of an object (e.g. `fills` for a RESULT response).
    pub fn without(self, key: &str) -> J {
        match self {
            J::Obj(fields) => J::Obj(fields.into_iter().filter(|(k, _)| *k != key).collect()),
            other => other,
        }
    }

    /// Appends a field to an object.
    pub fn with(self, key: &'static str, value: J) -> J {
        match self {
            J::Obj(mut fields) => {
                fields.push((key, value));
                J::Obj(fields)
            }
            other => other,
        }
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Obj(fields) => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            J::Arr(items) => {
                let mut q = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    q.serialize_element(i)?;
                }
                q.end()
            }
            J::Val(v) => v.serialize(s),
        }
    }
}

/// Conversion of field values into [`J`].
pub trait IntoJ {
    fn into_j(self) -> J;
}

impl IntoJ for J {
    fn into_j(self) -> J {
        self
    }
}
impl IntoJ for Vec<J> {
    fn into_j(self) -> J {
        J::Arr(self)
    }
}
macro_rules! via_value {
    ($($t:ty),*) => {$(
        impl IntoJ for $t {
            fn into_j(self) -> J {
                J::Val(Value::from(self))
            }
        }
    )*};
}
via_value!(Value, String, &str, i64, u64, u32, usize, bool);
impl IntoJ for &i64 {
    fn into_j(self) -> J {
        J::Val(Value::from(*self))
    }
}
impl IntoJ for i32 {
    fn into_j(self) -> J {
        J::Val(Value::from(self))
    }
}
impl IntoJ for &String {
    fn into_j(self) -> J {
        J::Val(Value::from(self.as_str()))
    }
}

/// `obj! { "symbol": x, "orderId": y }`: an ordered JSON object.
#[macro_export]
macro_rules! obj {
    ($($k:literal : $v:expr),* $(,)?) => {
        $crate::json::J::Obj(vec![$(($k, $crate::json::IntoJ::into_j($v))),*])
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_field_order() {
        let j =
            crate::obj! { "z": 1i64, "a": "x", "m": vec![crate::obj! { "b": true, "a": false }] };
        assert_eq!(
            serde_json::to_string(&j).unwrap(),
            r#"{"z":1,"a":"x","m":[{"b":true,"a":false}]}"#
        );
        assert_eq!(
            serde_json::to_string(&j.without("a")).unwrap(),
            r#"{"z":1,"m":[{"b":true,"a":false}]}"#
        );
    }
}
