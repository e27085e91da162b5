//! [`ServiceWithCollectors`]: a service and the collectors added to it, as
//! [`Hamstr::register_service`](super::Hamstr::register_service) takes them. The collectors
//! belong to the app: the [`Service`] itself only talks HTTP.

use std::{fmt, ops::Deref, sync::Arc};

use crate::{
    collector::{Collector, CollectorSettings, DynamicCollector, ErasedCollector, erase},
    model::DynamicModel,
    service::Service,
};

impl Service {
    /// Adds a collector of this service's records, run by the [`Hamstr`](crate::Hamstr) app the
    /// service is registered with.
    #[must_use = "the service with the collector is returned; register that one"]
    pub fn add_collector(self, collector: impl Collector) -> ServiceWithCollectors {
        ServiceWithCollectors::from(self).add_collector(collector)
    }

    /// Adds a collector of records described at run time: `settings` (its endpoint, interval,
    /// parameters; the name defaults to the model's) and a [`DynamicModel`] that reads each
    /// record's fields by path. This is what a YAML project's collectors become.
    #[must_use = "the service with the collector is returned; register that one"]
    pub fn add_dynamic_collector(
        self,
        settings: CollectorSettings,
        model: DynamicModel,
    ) -> ServiceWithCollectors {
        ServiceWithCollectors::from(self).add_dynamic_collector(settings, model)
    }
}

/// A [`Service`] with the collectors added to it by [`Service::add_collector`], ready for
/// [`Hamstr::register_service`](crate::Hamstr::register_service). It derefs to the service, so
/// `list`, `get`, `rate_limit` and the rest work on it as on the service; clones share the
/// service's connection pool and state.
#[derive(Clone)]
pub struct ServiceWithCollectors {
    pub(super) service: Service,
    pub(super) collectors: Vec<Arc<dyn ErasedCollector>>,
}

impl ServiceWithCollectors {
    /// Adds another collector of this service's records.
    #[must_use = "the service with the collector is returned; register that one"]
    pub fn add_collector(mut self, collector: impl Collector) -> Self {
        self.collectors.push(erase(collector));
        self
    }

    /// Adds another collector of records described at run time; see
    /// [`Service::add_dynamic_collector`].
    #[must_use = "the service with the collector is returned; register that one"]
    pub fn add_dynamic_collector(
        mut self,
        settings: CollectorSettings,
        model: DynamicModel,
    ) -> Self {
        self.collectors
            .push(Arc::new(DynamicCollector { settings, model }));
        self
    }

    /// The service.
    pub fn service(&self) -> &Service {
        &self.service
    }
}

impl From<Service> for ServiceWithCollectors {
    fn from(service: Service) -> Self {
        Self {
            service,
            collectors: Vec::new(),
        }
    }
}

impl Deref for ServiceWithCollectors {
    type Target = Service;

    fn deref(&self) -> &Service {
        &self.service
    }
}

impl fmt::Debug for ServiceWithCollectors {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ServiceWithCollectors")
            .field("service", &self.service)
            .field("collectors", &self.collectors.len())
            .finish()
    }
}
