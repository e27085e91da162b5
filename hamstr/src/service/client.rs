//! Building a service's HTTP client from its configuration: every check of the base URL,
//! headers, credentials and limits happens here, once, before the first request.

use std::{num::NonZeroU32, sync::Arc};

use reqwest::{
    Url,
    header::{HeaderMap, HeaderName, HeaderValue},
};

use super::{Service, ServiceError};
use crate::{
    auth::Auth,
    http::{ClientSettings, HttpClient, Limits as HttpLimits},
};

/// The most bytes of answers a service keeps for conditional requests.
const DEFAULT_CACHE_BYTES: usize = 16 * 1024 * 1024;

impl Service {
    /// The HTTP client, built on first use from the configuration.
    pub(crate) fn client(&self) -> Result<HttpClient, ServiceError> {
        self.client.get_or_init(|| self.build_client()).clone()
    }

    fn build_client(&self) -> Result<HttpClient, ServiceError> {
        let config = &self.config;
        let settings = &config.settings;
        let service = self.service_name();
        let invalid_base = |reason: &str| ServiceError::InvalidBaseUrl {
            service: service.clone(),
            base: config.base.clone(),
            reason: reason.to_owned(),
        };
        if !config.base.contains("://") {
            // Url::parse would say "relative URL without a base", which is not what to fix.
            return Err(invalid_base(&format!(
                "it has no scheme (write `https://{}`)",
                config.base.trim_start_matches('/')
            )));
        }
        let base = Url::parse(&config.base).map_err(|error| invalid_base(&error.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid_base("only http and https are supported"));
        }
        if base.host_str().is_none() {
            return Err(invalid_base("it has no host"));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &settings.headers {
            let invalid = || ServiceError::InvalidHeader {
                service: service.clone(),
                name: name.clone(),
            };
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let header_value = HeaderValue::from_str(value).map_err(|_| invalid())?;
            headers.append(header_name, header_value);
        }
        if let Some(auth) = &config.auth {
            auth.validate().map_err(|source| ServiceError::Auth {
                service: service.clone(),
                cause: Arc::new(source),
            })?;
            if base.scheme() == "http"
                && !crate::url::is_loopback(&base)
                && !settings.allows_insecure_http
            {
                return Err(ServiceError::InsecureCredentials {
                    service,
                    base: config.base.clone(),
                });
            }
        }
        let fraction = settings.limits.max_quota_fraction;
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(ServiceError::InvalidSetting {
                service,
                setting: "max_quota_fraction",
                reason: format!(
                    "{fraction} is not a share: give a number above 0 and at most 1, such as 0.5"
                ),
            });
        }
        if settings.limits.max_concurrent == Some(0) {
            return Err(ServiceError::InvalidSetting {
                service,
                setting: "max_concurrent_requests",
                reason: "0 would send nothing: give 1 or more".to_owned(),
            });
        }
        let sensitive_params: Vec<String> = config
            .auth
            .as_ref()
            .and_then(Auth::query_param)
            .map(str::to_owned)
            .into_iter()
            .collect();
        #[cfg(feature = "testing")]
        let recorder = config
            .record_dir
            .as_ref()
            .map(|dir| crate::http::record::Recorder::new(dir, &service, &base, &sensitive_params));
        HttpClient::new(ClientSettings {
            service: service.clone(),
            base,
            auth: config.auth.clone(),
            headers,
            user_agent: settings.user_agent.clone(),
            connect_timeout: settings.connect_timeout,
            timeout: settings.timeout,
            max_body_bytes: settings.max_body_bytes,
            xml_lists: settings.xml_lists.clone(),
            sensitive_params,
            retry: settings.retry.clone(),
            limits: HttpLimits {
                per_second: settings
                    .limits
                    .requests_per_second
                    .and_then(NonZeroU32::new),
                per_minute: settings
                    .limits
                    .requests_per_minute
                    .and_then(NonZeroU32::new),
                max_concurrent: settings.limits.max_concurrent,
            },
            max_quota_fraction: fraction,
            cache_bytes: if settings.conditional_requests {
                DEFAULT_CACHE_BYTES
            } else {
                0
            },
            #[cfg(feature = "testing")]
            recorder,
        })
        .map_err(|error| {
            let cause = std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_default();
            ServiceError::Client {
                service,
                reason: cause,
            }
        })
    }
}
