//! [`AwsSigV4`]: requests signed with AWS Signature Version 4, for S3 and S3-compatible stores
//! (MinIO, R2, moto) and any other AWS API read over HTTP. The signing is `object_store`'s.

use std::fmt;

use async_trait::async_trait;
use object_store::{
    aws::{AwsAuthorizer, AwsCredential},
    client::{HttpRequest, HttpRequestBody},
};
use reqwest::header::{AUTHORIZATION, HeaderName};

use crate::{
    auth::{AuthError, AuthHook, Request},
    secret::Secret,
};

/// The headers SigV4 adds to a request.
const SIGNED: [&str; 5] = [
    "authorization",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-security-token",
    "host",
];

/// AWS Signature Version 4 credentials for a service: each request is signed for `region` and
/// the AWS service name (`s3`). The secret key and the session token never leave the process
/// but as a signature, and never show in logs, errors or `Debug`.
///
/// ```
/// use hamstr::{Secret, Service, service::AwsSigV4};
///
/// let auth = AwsSigV4::new("AKIDEXAMPLE", Secret::new("wJalrXUtnFEMI"), "eu-west-1", "s3");
/// assert_eq!(format!("{auth:?}"), "AwsSigV4(AKIDEXAMPLE, eu-west-1, s3)");
/// let s3 = Service::new("https://s3.eu-west-1.amazonaws.com/")
///     .auth(auth.into())
///     .xml(["Bucket", "Contents"]);
/// # let _ = s3;
/// ```
#[derive(Clone)]
pub struct AwsSigV4 {
    access_key_id: String,
    secret_access_key: Secret,
    session_token: Option<Secret>,
    region: String,
    service: String,
}

impl AwsSigV4 {
    /// Credentials of an access key, for `region` and the AWS service `service` (`s3`).
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: Secret,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key,
            session_token: None,
            region: region.into(),
            service: service.into(),
        }
    }

    /// A session token of temporary credentials (`AWS_SESSION_TOKEN`).
    #[must_use]
    pub fn session_token(mut self, token: Secret) -> Self {
        self.session_token = Some(token);
        self
    }
}

#[async_trait]
impl AuthHook for AwsSigV4 {
    async fn authorize(&self, request: &mut Request) -> Result<(), AuthError> {
        let body = match request.body().and_then(reqwest::Body::as_bytes) {
            Some(bytes) => HttpRequestBody::from(bytes.to_vec()),
            None => HttpRequestBody::empty(),
        };
        let mut signed = HttpRequest::new(body);
        *signed.method_mut() = request.method().clone();
        *signed.uri_mut() = request.url().as_str().parse().map_err(AuthError::hook)?;
        for (name, value) in request.headers() {
            signed.headers_mut().insert(name.clone(), value.clone());
        }
        let credential = AwsCredential {
            key_id: self.access_key_id.clone(),
            secret_key: self.secret_access_key.expose().to_owned(),
            token: self
                .session_token
                .as_ref()
                .map(|token| token.expose().to_owned()),
        };
        AwsAuthorizer::new(&credential, &self.service, &self.region).authorize(&mut signed, None);
        for name in SIGNED {
            if let Some(value) = signed.headers().get(name) {
                let mut value = value.clone();
                let name = HeaderName::from_static(name);
                if name == AUTHORIZATION || name.as_str() == "x-amz-security-token" {
                    value.set_sensitive(true);
                }
                request.headers_mut().insert(name, value);
            }
        }
        Ok(())
    }

    fn mask(&self, text: &str) -> String {
        let mut masked = text.replace(self.secret_access_key.expose(), "***");
        if let Some(token) = &self.session_token {
            masked = masked.replace(token.expose(), "***");
        }
        masked
    }
}

impl From<AwsSigV4> for crate::auth::Auth {
    fn from(sigv4: AwsSigV4) -> Self {
        crate::auth::Auth::custom(sigv4)
    }
}

impl fmt::Debug for AwsSigV4 {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "AwsSigV4({}, {}, {})",
            self.access_key_id, self.region, self.service
        )
    }
}
