//! Names and identifiers, parsed at the edge: the rest of the code never sees
//! a raw string where one of these is meant.

use std::fmt;
use std::sync::LazyLock;

use regex_lite::Regex;

/// Declares a string newtype whose only constructor is `parse`, which checks
/// `$valid`. Serde goes through `parse` too, so a stored or sent value that
/// breaks the rule is reported with its field path.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, pattern = $pattern:literal, rule = $rule:literal, valid = $valid:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The rule, as a regular expression, for documentation.
            pub const PATTERN: &'static str = $pattern;

            pub fn parse(value: impl Into<String>) -> Result<Self, NameError> {
                let value = value.into();
                let valid: fn(&str) -> bool = $valid;
                if valid(&value) {
                    Ok(Self(value))
                } else {
                    Err(NameError { kind: stringify!($name), rule: $rule, pattern: $pattern, value })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(value: String) -> Result<Self, NameError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some($pattern))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// A value that breaks the rule of its kind of name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}: it must match {pattern}")]
pub struct NameError {
    pub kind: &'static str,
    pub rule: &'static str,
    pub pattern: &'static str,
    pub value: String,
}

fn is_lower_alnum_or_hyphen(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

static REGION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$").expect("static regex"));
/// A region followed by a zone suffix: one pattern, so that the OpenAPI
/// document states the very rule (and no slicing can split a character).
static ZONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}([a-z]|-[a-z]+-[0-9]+[a-z])$")
        .expect("static regex")
});
static ZONE_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([a-z]|-[a-z]+-[0-9]+[a-z])$").expect("static regex"));
static INSTANCE_TYPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$").expect("static regex"));

checked_string!(
    /// A node group's name: unique in the deployment, used in URLs and keys.
    GroupName,
    pattern = "^[a-z0-9-]{1,63}$",
    rule = "group_name",
    valid = |s| (1..=63).contains(&s.len()) && s.chars().all(is_lower_alnum_or_hyphen)
);

checked_string!(
    /// An AWS region code such as `eu-west-1` or `us-gov-west-1`.
    Region,
    pattern = "^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$",
    rule = "region_format",
    valid = |s| s.len() <= 32 && REGION.is_match(s)
);

checked_string!(
    /// An availability zone (or local zone) name such as `eu-west-1a`.
    Zone,
    pattern = "^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}([a-z]|-[a-z]+-[0-9]+[a-z])$",
    rule = "zone_format",
    valid = |s| s.len() <= 40 && ZONE.is_match(s)
);

checked_string!(
    /// An EC2 instance type such as `c6i.large`.
    InstanceType,
    pattern = r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$",
    rule = "instance_type_format",
    valid = |s| s.len() <= 64 && INSTANCE_TYPE.is_match(s)
);

checked_string!(
    /// An AMI id such as `ami-0123456789abcdef0`.
    ImageId,
    pattern = "^ami-[0-9a-f]{8,17}$",
    rule = "image_id_format",
    valid = |s| {
        s.strip_prefix("ami-").is_some_and(|hex| {
            (8..=17).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
    }
);

checked_string!(
    /// A node's id: the EC2 instance id for AWS nodes, the host id otherwise.
    NodeId,
    pattern = "^[A-Za-z0-9._-]{1,64}$",
    rule = "node_id_format",
    valid = |s| {
        (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    }
);

fn is_stream_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

checked_string!(
    /// An application (Red5 "scope", nginx-rtmp "application"): `live`.
    AppName,
    pattern = "^[A-Za-z0-9._-]{1,64}$",
    rule = "app_name_format",
    valid = |s| (1..=64).contains(&s.len()) && s.chars().all(is_stream_char) && s != "." && s != ".."
);

checked_string!(
    /// A stream's name within its application.
    StreamName,
    pattern = "^[A-Za-z0-9._-]{1,128}$",
    rule = "stream_name_format",
    valid = |s| (1..=128).contains(&s.len()) && s.chars().all(is_stream_char) && s != "." && s != ".."
);

/// A stream's full name: `<app>/<stream>`, as nodes report what they hold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamKey {
    pub app: AppName,
    pub stream: StreamName,
}

impl StreamKey {
    pub fn new(app: AppName, stream: StreamName) -> Self {
        Self { app, stream }
    }

    pub fn parse(text: &str) -> Result<Self, NameError> {
        let (app, stream) = text.split_once('/').ok_or_else(|| NameError {
            kind: "StreamKey",
            rule: "stream_key_format",
            pattern: "<app>/<stream>",
            value: text.to_owned(),
        })?;
        Ok(Self { app: AppName::parse(app)?, stream: StreamName::parse(stream)? })
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.app, self.stream)
    }
}

impl serde::Serialize for StreamKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for StreamKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for StreamKey {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[A-Za-z0-9._-]{1,64}/[A-Za-z0-9._-]{1,128}$"))
            .into()
    }
}

impl utoipa::ToSchema for StreamKey {}

impl Region {
    /// The region's area (`eu`, `us`, `ap`, …): regions of one area are
    /// "near" each other when the requested region has no room.
    pub fn area(&self) -> &str {
        self.0.split('-').next().unwrap_or_default()
    }
}

impl Zone {
    /// Whether this zone lies in `region` (`eu-west-1a` lies in `eu-west-1`).
    pub fn is_in(&self, region: &Region) -> bool {
        self.0.strip_prefix(region.as_str()).is_some_and(|suffix| ZONE_SUFFIX.is_match(suffix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_the_documented_charset_and_length() {
        assert!(GroupName::parse("live-eu-1").is_ok());
        assert!(GroupName::parse("a".repeat(63)).is_ok());
        for bad in ["", "Live", "live_eu", "live eu", "é", &"a".repeat(64)] {
            assert!(GroupName::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn regions_accept_aws_codes_only() {
        for good in ["eu-west-1", "us-east-2", "ap-southeast-1", "us-gov-west-1", "us-isob-east-1"] {
            assert!(Region::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "eu", "EU-WEST-1", "eu-west", "eu-west-1a", "eu west 1", "eu-west-123"] {
            assert!(Region::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn zones_know_their_region() {
        let zone = Zone::parse("eu-west-1b").unwrap();
        assert!(zone.is_in(&Region::parse("eu-west-1").unwrap()));
        assert!(!zone.is_in(&Region::parse("eu-west-2").unwrap()));
        let local = Zone::parse("us-east-1-bos-1a").unwrap();
        assert!(local.is_in(&Region::parse("us-east-1").unwrap()));
        assert!(Zone::parse("eu-west-1").is_err());
        assert!(Zone::parse("eu-west-1ab").is_err());
        // Not ASCII: refused, never a panic on a character boundary.
        for bad in ["eu-west-1é", "é", "eé-west-1a", "eu-west-1\u{1F600}a", "\u{0301}"] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
        assert!(Zone::parse("us-gov-west-1a").is_ok());
    }

    #[test]
    fn image_ids_and_instance_types_have_aws_shapes() {
        assert!(ImageId::parse("ami-0123456789abcdef0").is_ok());
        assert!(ImageId::parse("ami-XYZ").is_err());
        assert!(InstanceType::parse("c6i.large").is_ok());
        assert!(InstanceType::parse("u-6tb1.metal").is_ok());
        assert!(InstanceType::parse("large").is_err());
    }

    #[test]
    fn stream_keys_split_into_app_and_stream() {
        let key = StreamKey::parse("live/cam_01").unwrap();
        assert_eq!((key.app.as_str(), key.stream.as_str()), ("live", "cam_01"));
        assert_eq!(key.to_string(), "live/cam_01");
        for bad in ["live", "live/", "/cam", "live/cam/extra", "li ve/cam", "live/..", "live/a#b"] {
            assert!(StreamKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn regions_belong_to_areas() {
        assert_eq!(Region::parse("eu-west-1").unwrap().area(), "eu");
        assert_eq!(Region::parse("us-gov-west-1").unwrap().area(), "us");
    }

    #[test]
    fn names_deserialize_through_their_rule() {
        let err = serde_json::from_str::<GroupName>("\"Bad Name\"").unwrap_err();
        assert!(err.to_string().contains("^[a-z0-9-]{1,63}$"), "{err}");
    }

    proptest::proptest! {
        /// Any text, however hostile, is a name or a clear error: no parser
        /// panics (a panic aborts a Lambda process).
        #[test]
        fn no_text_makes_a_name_parser_panic(text in "\\PC{0,48}|[a-z0-9é/-]{0,48}") {
            let _ = GroupName::parse(text.as_str());
            let _ = Region::parse(text.as_str());
            let _ = Zone::parse(text.as_str());
            let _ = InstanceType::parse(text.as_str());
            let _ = ImageId::parse(text.as_str());
            let _ = NodeId::parse(text.as_str());
            let _ = AppName::parse(text.as_str());
            let _ = StreamName::parse(text.as_str());
            let _ = StreamKey::parse(&text);
        }
    }
}
