//! A `postgres://` storage URL read into what the driver needs, the schema hamstr writes to, and
//! a form of it that is safe to print.

use std::{str::FromStr, time::Duration};

use tokio_postgres::config::{Host, SslMode};

use crate::{backend::StorageError, secret::Secret};

/// How long connecting may take when the URL does not say (`connect_timeout=`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the database is and how to reach it.
#[derive(Clone)]
pub(super) struct Target {
    /// The driver's settings; its `Debug` hides the password.
    pub(super) config: tokio_postgres::Config,
    /// The schema the model tables and hamstr's own tables are in (`?schema=`, else `public`).
    pub(super) schema: String,
    /// A file of PEM certificates to trust instead of the usual roots (`?sslrootcert=`).
    pub(super) root_certificates: Option<String>,
    /// `host:port/database`, for messages.
    pub(super) shown: String,
    /// The password, kept only to mask it in messages a server or driver writes.
    password: Option<Secret>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} (schema {})", self.shown, self.schema)
    }
}

impl Target {
    /// Reads `postgres://LOCATION`, LOCATION as `Storage::location` holds it.
    pub(super) fn parse(location: &str) -> Result<Self, StorageError> {
        let (address, query) = location.split_once('?').unwrap_or((location, ""));
        let mut schema = "public".to_owned();
        let mut root_certificates = None;
        let mut passed = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "schema" | "currentSchema" => schema = value.to_owned(),
                "sslrootcert" => root_certificates = Some(value.to_owned()),
                // hamstr always checks the server's certificate: these are `require` here.
                "sslmode" if matches!(value, "verify-ca" | "verify-full") => {
                    passed.push("sslmode=require".to_owned());
                }
                _ => passed.push(pair.to_owned()),
            }
        }
        if schema.is_empty() || schema.len() > 63 {
            return Err(StorageError::new(format!(
                "postgres://{}: `schema=` must be 1 to 63 bytes",
                shown_location(location)
            )));
        }
        let url = match passed.as_slice() {
            [] => format!("postgres://{address}"),
            passed => format!("postgres://{address}?{}", passed.join("&")),
        };
        let mut config = tokio_postgres::Config::from_str(&url).map_err(|error| {
            StorageError::new(format!(
                "postgres://{} is not a PostgreSQL URL: {}",
                shown_location(location),
                crate::text::chain(&error)
            ))
        })?;
        if config.get_hosts().is_empty() {
            return Err(StorageError::new(format!(
                "postgres://{} names no host; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                shown_location(location)
            )));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("hamstr");
        let password = config
            .get_password()
            .map(|password| Secret::new(String::from_utf8_lossy(password)));
        let host = match &config.get_hosts()[0] {
            Host::Tcp(host) => host.clone(),
            Host::Unix(path) => path.display().to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let database = config
            .get_dbname()
            .or(config.get_user())
            .unwrap_or("postgres")
            .to_owned();
        Ok(Self {
            shown: format!("{host}:{port}/{database}"),
            config,
            schema,
            root_certificates,
            password,
        })
    }

    /// Whether the URL asks for TLS (`sslmode=prefer` or `require`).
    pub(super) fn wants_tls(&self) -> bool {
        self.config.get_ssl_mode() != SslMode::Disable
    }

    /// `text` with the password replaced by `***`, for messages whose words came from the
    /// server or the driver.
    pub(super) fn mask(&self, text: &str) -> String {
        match &self.password {
            Some(password) if !password.expose().is_empty() => {
                text.replace(password.expose(), "***")
            }
            _ => text.to_owned(),
        }
    }
}

/// `location` with its password replaced by `***`.
fn shown_location(location: &str) -> String {
    let authority_end = location.find(['/', '?']).unwrap_or(location.len());
    match location[..authority_end].rfind('@') {
        Some(at) => match location[..at].split_once(':') {
            Some((user, _)) => format!("{user}:***{}", &location[at..]),
            None => location.to_owned(),
        },
        None => location.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_database_schema_and_never_the_password() {
        let target =
            Target::parse("app:s3cret@db.local:6543/shop?sslmode=disable&schema=raw").unwrap();
        assert_eq!(target.shown, "db.local:6543/shop");
        assert_eq!(target.schema, "raw");
        assert!(!target.wants_tls());
        assert_eq!(target.config.get_user(), Some("app"));
        assert!(!format!("{target:?} {:?}", target.config).contains("s3cret"));
        assert_eq!(target.mask("FATAL: s3cret rejected"), "FATAL: *** rejected");

        let target = Target::parse("app@db.local/shop").unwrap();
        assert_eq!(
            (target.schema.as_str(), target.wants_tls()),
            ("public", true)
        );
        let target = Target::parse("app@db.local/shop?sslmode=verify-full").unwrap();
        assert!(target.wants_tls());

        for (bad, expected) in [
            ("app:s3cret@db.local:port/shop", "not a PostgreSQL URL"),
            (
                "app:s3cret@db.local/shop?sslmode=always",
                "not a PostgreSQL URL",
            ),
            ("app:s3cret@db.local/shop?schema=", "`schema=` must be"),
            ("app:s3cret@db.local/shop?bogus=1", "not a PostgreSQL URL"),
        ] {
            let error = Target::parse(bad).unwrap_err().to_string();
            assert!(error.contains(expected), "{bad}: {error}");
            assert!(!error.contains("s3cret"), "{error}");
            assert!(error.contains("app:***@db.local"), "{error}");
        }
    }
}
