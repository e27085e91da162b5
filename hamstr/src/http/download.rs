//! Downloading an answer into a file, chunk by chunk, with everything a service's requests go
//! through (origin, credentials, budget, quota, retries): a file read by URL is never held in
//! memory whole.

use std::path::Path;

use reqwest::Url;
use tokio::io::AsyncWriteExt;

use super::{Failed, FetchError, HttpClient, HttpError, Sent};
use crate::url::RedactedUrl;

/// The most of an error answer's body read for its message.
const ERROR_BODY_BYTES: usize = 64 * 1024;

impl HttpClient {
    /// GETs `url` into the file `destination` (created or replaced); returns the bytes written.
    /// A failed attempt is retried as any request is, the file started over.
    pub(crate) async fn download(&self, url: &Url, destination: &Path) -> Result<u64, HttpError> {
        let shown = self.redact(url);
        let downloaded = self
            .with_retries(&shown, |attempt| {
                self.download_attempt(url, &shown, destination, attempt)
            })
            .await;
        downloaded.map_err(|error| match error {
            FetchError::Http(error) => error,
            FetchError::Records(_) => unreachable!("a download reads no records"),
        })
    }

    async fn download_attempt(
        &self,
        url: &Url,
        shown: &RedactedUrl,
        destination: &Path,
        attempt: u32,
    ) -> Result<u64, Failed> {
        let Sent {
            mut response,
            status,
            headers,
            slot,
        } = self.send(url, shown, attempt, false).await?;
        if !status.is_success() {
            // The message of an error answer is short; the judge says whether to retry.
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|source| self.transport(shown, source, attempt))?
            {
                body.extend_from_slice(&chunk);
                if body.len() >= ERROR_BODY_BYTES {
                    break;
                }
            }
            return match self.judge(url, shown, status, headers, body.into(), attempt) {
                Err(failed) => Err(failed),
                // A 304 for a kept answer: a download asks for none, so it is no answer here.
                Ok(_) => Err(Failed::stop(HttpError::Status {
                    service: self.service().to_owned(),
                    url: shown.clone(),
                    status,
                    message: "not modified, though the download asked for the whole file"
                        .to_owned(),
                    attempts: attempt,
                })),
            };
        }
        let limit = self.inner.settings.max_body_bytes as u64;
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(Failed::stop(self.too_large(shown)));
        }
        let io = |source: std::io::Error| {
            Failed::stop(HttpError::Download {
                service: self.service().to_owned(),
                url: shown.clone(),
                destination: destination.display().to_string(),
                cause: source,
            })
        };
        let mut file = tokio::fs::File::create(destination).await.map_err(io)?;
        let mut written = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|source| self.transport(shown, source, attempt))?
        {
            written += chunk.len() as u64;
            if written > limit {
                return Err(Failed::stop(self.too_large(shown)));
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        drop(slot);
        tracing::debug!(
            service = %self.service(),
            url = %shown,
            bytes = written,
            attempt,
            "downloaded"
        );
        Ok(written)
    }
}
