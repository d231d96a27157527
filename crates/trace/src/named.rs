//! Deserializing user configuration so that an error names the field it is about.
//!
//! serde's derived deserializers name a key only when it is unknown or missing; a value of
//! the wrong type or an unknown enum name reports a column instead (`unknown variant
//! `fp4x`, expected one of …`). Every configuration parser of servesim goes through
//! [`deserialize_named`], which tracks the path and puts it in front.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// Deserializes a `T` from `de`; an error about a value reads ``field `a.b`: <serde's
/// message>``.
///
/// ```
/// use servesim_trace::deserialize_named;
/// #[derive(serde::Deserialize)]
/// struct Args { block_size: u32 }
/// let mut de = serde_json::Deserializer::from_str(r#"{"block_size": "big"}"#);
/// let err = deserialize_named::<_, Args>(&mut de).err().unwrap();
/// assert!(err.starts_with("field `block_size`: invalid type: string \"big\""));
/// ```
pub fn deserialize_named<'de, D, T>(de: D) -> Result<T, String>
where
    D: Deserializer<'de>,
    D::Error: std::fmt::Display,
    T: Deserialize<'de>,
{
    serde_path_to_error::deserialize(de).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        // Unknown and missing keys already name themselves (and YAML errors start with the
        // path); the root has no name, and a syntax error (`?`: no key read yet) has only
        // its line and column.
        let named =
            message.contains(&format!("`{path}`")) || message.starts_with(&format!("{path}: "));
        if path == "." || path.contains('?') || named {
            message
        } else {
            format!("field `{path}`: {message}")
        }
    })
}

/// Parses one JSON document with [`deserialize_named`], refusing trailing characters as
/// `serde_json::from_str` does.
///
/// ```
/// use servesim_trace::json_named;
/// assert_eq!(json_named::<Vec<u32>>("[1, 2]"), Ok(vec![1, 2]));
/// assert!(json_named::<Vec<u32>>("[1] x").unwrap_err().contains("trailing characters"));
/// ```
pub fn json_named<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = deserialize_named(&mut de)?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}
