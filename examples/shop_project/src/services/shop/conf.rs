//! How to reach the shop's till.

use hamstr::{Service, paginate::PageNumber};

use crate::settings::Settings;

pub(crate) fn service(settings: &Settings) -> Service {
    Service::new(&settings.shop.base_url)
        .name("shop")
        .paginator(PageNumber::new().size("per_page", 25))
        .records("data")
}
