//! Every service of the project, each in a folder of its own.

pub(crate) mod mollie;
pub(crate) mod shop;

use hamstr::Hamstr;

use crate::settings::Settings;

/// Registers every service and its collectors with `app`.
pub(crate) fn register(app: Hamstr, settings: &Settings) -> Hamstr {
    app.register_service(mollie::conf::service(settings))
        .add_collector(mollie::collectors::PaymentsCollector::default())
        .add_collector(mollie::collectors::OpenPaymentsCollector)
        .register_service(shop::conf::service(settings))
        .add_collector(shop::collectors::OrdersCollector)
}
