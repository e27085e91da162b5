//! How to reach the payment provider.

use hamstr::{Service, paginate::NextLink};

use crate::settings::Settings;

/// The name collectors use to find this service.
pub(crate) const NAME: &str = "mollie";

pub(crate) fn service(settings: &Settings) -> Service {
    let service = Service::new(&settings.mollie.base_url)
        .name(NAME)
        .header("Accept", "application/json")
        .paginator(NextLink::at("_links.next.href"))
        .records("_embedded.payments");
    match &settings.mollie.api_key {
        Some(key) => service.bearer_auth(key.clone()),
        None => service,
    }
}
