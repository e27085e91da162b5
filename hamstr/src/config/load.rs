//! Parses the text into a marked-yaml node tree (every node knows its line and column) and walks
//! it into a [`Project`], reporting every problem on the way.

use marked_yaml::{
    Node,
    types::{MarkedMappingNode, MarkedScalarNode},
};

use super::{
    AdminConfig, ClusterConfig, PaginatorConfig, Problem, Project, ServiceConfig, Storage, auth,
    collectors::Names,
    files::{self, FILE_ONLY_KEYS},
    limits, paginator,
    resilience::{self, LIMITS_KEYS, RETRY_KEYS},
    syntax,
    value::{Checker, Place, get, is_null, quote},
};
use crate::service::ServiceSettings;

pub(super) const PROJECT_KEYS: [&str; 8] = [
    "name",
    "storage",
    "cluster",
    "admin",
    "spread_schedules",
    "parameters",
    "services",
    "files",
];
/// The keys of `admin:`.
pub(super) const ADMIN_KEYS: [&str; 2] = ["listen", "token"];
/// The keys of `cluster:`.
pub(super) const CLUSTER_KEYS: [&str; 2] = ["worker", "lease"];
pub(super) const SERVICE_KEYS: [&str; 19] = [
    "base_url",
    "auth",
    "api_key",
    "headers",
    "params",
    "paginator",
    "records",
    "timeout",
    "connect_timeout",
    "user_agent",
    "max_body_bytes",
    "allow_insecure_http",
    "retry",
    "limits",
    "conditional_requests",
    "pages_in_flight",
    "empty_pages",
    "xml",
    "collectors",
];
pub(super) const COLLECTOR_KEYS: [&str; 12] = [
    "name",
    "args",
    "search",
    "get",
    "keys",
    "record",
    "interval",
    "records",
    "params",
    "model",
    "primary_key",
    "incremental",
];
/// Where a key of a file goes when written in a service or a collector.
pub(super) const IN_A_FILE: &str = "in a file, under `files:` at the top of the file";

/// The project in `source`, or every problem in it.
pub(super) fn project(
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Project, Vec<Problem>> {
    let problems = limits::check(source);
    if !problems.is_empty() {
        return Err(problems);
    }
    let root = syntax::parse(source)?;
    let mut checker = Checker::new(source, env);
    let project = match &root {
        Node::Mapping(mapping) => read_project(&mut checker, mapping),
        // marked-yaml only answers with a mapping at the top; say so if that ever changes.
        other => {
            checker.expected(
                other,
                "the file",
                "a mapping of `name`, `storage`, `services` and `files`",
            );
            None
        }
    };
    checker.finish(project)
}

fn read_project(checker: &mut Checker<'_>, root: &MarkedMappingNode) -> Option<Project> {
    checker.check_keys(
        root,
        "the project",
        &PROJECT_KEYS,
        &[
            (&SERVICE_KEYS, "in a service, under `services: {NAME: ...}`"),
            (
                &COLLECTOR_KEYS,
                "in a collector, under `collectors:` of a service",
            ),
            (&FILE_ONLY_KEYS, "in a file, under `files: {NAME: ...}`"),
        ],
    );
    let name = get(root, "name").and_then(|node| checker.name(node, "`name`"));
    let storage = match get(root, "storage") {
        Some(node) => storage(checker, node),
        None => Some(Storage::default()),
    };
    let cluster = match get(root, "cluster") {
        Some(node) if !is_null(node) => cluster(checker, node),
        _ => Some(ClusterConfig::default()),
    };
    let admin = match get(root, "admin") {
        Some(node) if !is_null(node) => admin(checker, node).map(Some),
        _ => Some(None),
    };
    let spread_schedules = match get(root, "spread_schedules") {
        Some(node) if !is_null(node) => checker.duration(node, "`spread_schedules`").map(Some),
        _ => Some(None),
    };
    // Before the services: an endpoint's `{name}` is a parameter's when one is declared so.
    let parameters = match get(root, "parameters") {
        Some(node) => super::parameters::parameters(checker, node),
        None => Some(Vec::new()),
    };
    // Every name written counts, even of a parameter with a mistake reported.
    if let Some(Node::Mapping(declared)) = get(root, "parameters") {
        checker.declare_parameters(declared.keys().map(|key| key.as_str().to_owned()));
    }
    let section = |name: &str| root.iter().find(|(key, _)| key.as_str() == name);
    let (services_entry, files_entry) = (section("services"), section("files"));
    let mut names = Names::new();
    let services = match services_entry {
        Some((_, node)) => services(checker, node, &mut names),
        None => Some(Vec::new()),
    };
    let service_names: Vec<String> = match (services_entry, &services) {
        (_, Some(services)) => services
            .iter()
            .map(|service| service.name.clone())
            .collect(),
        // Services that could not all be read: the names written still count.
        (Some((_, Node::Mapping(mapping))), None) => {
            mapping.keys().map(|key| key.as_str().to_owned()).collect()
        }
        _ => Vec::new(),
    };
    let files = match files_entry {
        Some((_, node)) => files::files(checker, node, &mut names, &service_names),
        None => Some(Vec::new()),
    };
    if let (Some(services), Some(files)) = (&services, &files) {
        super::keys::check_sources(checker, root, services, files);
    }
    // A section that could not be read was reported; only absent or empty ones are left here.
    if services.as_ref().is_some_and(Vec::is_empty) && files.as_ref().is_some_and(Vec::is_empty) {
        report_nothing_to_collect(checker, services_entry, files_entry);
        return None;
    }
    Some(Project {
        name,
        storage: storage?,
        cluster: cluster?,
        admin: admin?,
        spread_schedules: spread_schedules?,
        parameters: parameters?,
        services: services?,
        files: files?,
    })
}

/// Reports a project with neither a service nor a file: at the start of the file when it has
/// neither section, else at each section, empty.
fn report_nothing_to_collect(
    checker: &mut Checker<'_>,
    services: Option<(&MarkedScalarNode, &Node)>,
    files: Option<(&MarkedScalarNode, &Node)>,
) {
    if services.is_none() && files.is_none() {
        checker.report(
            Place::START,
            "the file has no `services` or `files`",
            "add `services:` with at least one service, or `files:` with at least one file"
                .to_owned(),
        );
        return;
    }
    let sections = [
        (
            services,
            "`services`",
            "add at least one service: `services: {name: {base_url: ..., collectors: ...}}`, or a file under `files:`",
        ),
        (
            files,
            "`files`",
            "add at least one file: `files: {name: {path: data/name.csv, model: ...}}`, or a service under `services:`",
        ),
    ];
    for (entry, what, help) in sections {
        let Some((key, node)) = entry else {
            continue;
        };
        // A null has no text of its own to point at; its key has.
        let place = if is_null(node) {
            checker.place_of_scalar(key)
        } else {
            checker.place_of(node)
        };
        checker.report(place, format!("{what} is empty"), help.to_owned());
    }
}

/// `cluster: {worker: NAME, lease: 30s}`: this process among workers sharing a store.
fn cluster(checker: &mut Checker<'_>, node: &Node) -> Option<ClusterConfig> {
    let mapping = checker.mapping(node, "`cluster`")?;
    checker.check_keys(mapping, "`cluster`", &CLUSTER_KEYS, &[]);
    let worker = match get(mapping, "worker") {
        Some(node) if !is_null(node) => Some(checker.name(node, "`cluster.worker`")?),
        _ => None,
    };
    let lease = match get(mapping, "lease") {
        Some(node) if !is_null(node) => {
            let lease = checker.duration(node, "`cluster.lease`")?;
            if lease < std::time::Duration::from_secs(1) {
                let place = checker.place_of(node);
                checker.report(
                    place,
                    "`cluster.lease` must be at least 1s".to_owned(),
                    "a lease shorter than a run's commits would be lost while the worker lives; 30s is the default".to_owned(),
                );
                return None;
            }
            Some(lease)
        }
        _ => None,
    };
    Some(ClusterConfig { worker, lease })
}

/// `admin: {listen: 127.0.0.1:9650, token: ${HAMSTR_ADMIN_TOKEN}}`: the admin server of
/// `hamstr run`.
fn admin(checker: &mut Checker<'_>, node: &Node) -> Option<AdminConfig> {
    let mapping = checker.mapping(node, "`admin`")?;
    checker.check_keys(mapping, "`admin`", &ADMIN_KEYS, &[]);
    let listen = match get(mapping, "listen") {
        Some(node) if !is_null(node) => {
            let text = checker.text(node, "`admin.listen`")?;
            match text.value.trim().parse::<std::net::SocketAddr>() {
                Ok(addr) => addr,
                Err(_) => {
                    let place = checker.place_of(node);
                    let shown = text.shown();
                    checker.report(
                        place,
                        format!("`admin.listen` must be IP:PORT, found {shown}"),
                        "e.g. 127.0.0.1:9650 (loopback), or 0.0.0.0:9650 with a token".to_owned(),
                    );
                    return None;
                }
            }
        }
        _ => AdminConfig::DEFAULT_LISTEN,
    };
    let token = match get(mapping, "token") {
        Some(node) if !is_null(node) => Some(checker.secret(node, "`admin.token`")?),
        _ => None,
    };
    Some(AdminConfig { listen, token })
}

fn storage(checker: &mut Checker<'_>, node: &Node) -> Option<Storage> {
    let text = checker.text(node, "`storage`")?;
    match Storage::parse(&text.value) {
        Ok(storage) => Some(storage),
        Err(error) => {
            let place = checker.place_of(node);
            // The message quotes the value; a value from the environment is shown as written.
            let message = if text.is_expanded {
                format!(
                    "{} is not a storage; {}",
                    text.shown(),
                    crate::backend::expected_forms()
                )
            } else {
                error.to_string()
            };
            checker.report(
                place,
                message,
                format!("the default is `{}`", Storage::DEFAULT),
            );
            None
        }
    }
}

/// The services; an empty or null `services:` gives none.
fn services(
    checker: &mut Checker<'_>,
    node: &Node,
    names: &mut Names,
) -> Option<Vec<ServiceConfig>> {
    if is_null(node) {
        return Some(Vec::new());
    }
    let mapping = checker.mapping(node, "`services`")?;
    let mut services = Vec::with_capacity(mapping.len());
    let mut is_complete = true;
    for (name, value) in mapping.iter() {
        match service(checker, name, value, names) {
            Some(service) => services.push(service),
            None => is_complete = false,
        }
    }
    is_complete.then_some(services)
}

fn service(
    checker: &mut Checker<'_>,
    name_key: &MarkedScalarNode,
    node: &Node,
    names: &mut Names,
) -> Option<ServiceConfig> {
    let name = name_key.as_str();
    let owner = checker.place_of_scalar(name_key);
    if name.trim().is_empty() {
        checker.report(owner, "a service needs a name", None);
    }
    let section = format!("service {}", quote(name));
    if is_null(node) {
        checker.report(
            owner,
            format!("{section} has no `base_url`"),
            "add `base_url: https://api.example.com/v1/`".to_owned(),
        );
        return None;
    }
    let mapping = checker.mapping(node, &section)?;
    checker.check_keys(
        mapping,
        &section,
        &SERVICE_KEYS,
        &[
            (&PROJECT_KEYS, "at the top of the file"),
            (&COLLECTOR_KEYS, "in a collector, under `collectors:`"),
            (&FILE_ONLY_KEYS, IN_A_FILE),
            (&RETRY_KEYS, "under `retry:`"),
            (&LIMITS_KEYS, "under `limits:`"),
        ],
    );
    let base_url = match get(mapping, "base_url") {
        Some(node) => base_url(checker, node),
        None => {
            checker.report(
                owner,
                format!("{section} has no `base_url`"),
                "add `base_url: https://api.example.com/v1/`".to_owned(),
            );
            None
        }
    };
    let auth = auth::of_service(checker, mapping);
    let paginator = match get(mapping, "paginator") {
        Some(node) => paginator::paginator(checker, node),
        None => Some(PaginatorConfig::None),
    };
    let records = get(mapping, "records").and_then(|node| checker.name(node, "`records`"));
    let settings = settings(checker, mapping, name);
    let collectors = match get(mapping, "collectors") {
        Some(node) => super::collectors::collectors(checker, node, names),
        None => Some(Vec::new()),
    };
    Some(ServiceConfig {
        name: name.to_owned(),
        base_url: base_url?,
        auth: auth?,
        paginator: paginator?,
        records,
        settings: settings?,
        collectors: collectors?,
    })
}

/// A service's keys for how it sends its requests, into the builder's [`ServiceSettings`]: a
/// key left out keeps the builder's default. Every key is read, so each bad value is reported.
fn settings(
    checker: &mut Checker<'_>,
    mapping: &MarkedMappingNode,
    name: &str,
) -> Option<ServiceSettings> {
    let mut settings = ServiceSettings {
        name: Some(name.to_owned()),
        ..ServiceSettings::default()
    };
    let mut is_usable = true;
    if let Some(node) = get(mapping, "headers") {
        settings.headers = headers(checker, node);
    }
    if let Some(node) = get(mapping, "params") {
        settings.params = checker.pairs(node, "`params`");
    }
    if let Some(timeout) =
        get(mapping, "timeout").and_then(|node| checker.duration(node, "`timeout`"))
    {
        settings.timeout = timeout;
    }
    if let Some(timeout) =
        get(mapping, "connect_timeout").and_then(|node| checker.duration(node, "`connect_timeout`"))
    {
        settings.connect_timeout = timeout;
    }
    if let Some(user_agent) =
        get(mapping, "user_agent").and_then(|node| checker.name(node, "`user_agent`"))
    {
        settings.user_agent = user_agent;
    }
    if let Some(limit) =
        get(mapping, "max_body_bytes").and_then(|node| checker.unsigned(node, "`max_body_bytes`"))
    {
        settings.max_body_bytes = usize::try_from(limit).unwrap_or(usize::MAX);
    }
    if let Some(is_allowed) = get(mapping, "allow_insecure_http")
        .and_then(|node| checker.boolean(node, "`allow_insecure_http`"))
    {
        settings.allows_insecure_http = is_allowed;
    }
    if let Some(node) = get(mapping, "retry") {
        match resilience::retry(checker, node) {
            Some(retry) => settings.retry = retry,
            None => is_usable = false,
        }
    }
    if let Some(node) = get(mapping, "limits") {
        match resilience::limits(checker, node) {
            Some(limits) => settings.limits = limits,
            None => is_usable = false,
        }
    }
    if let Some(is_on) = get(mapping, "conditional_requests")
        .and_then(|node| checker.boolean(node, "`conditional_requests`"))
    {
        settings.conditional_requests = is_on;
    }
    if let Some(node) = get(mapping, "pages_in_flight") {
        let count = checker.whole_number_in(
            node,
            "`pages_in_flight`",
            1..=64,
            Some("pages of one walk requested at the same time; 1 walks one page at a time"),
        );
        match count {
            Some(count) => settings.pages_in_flight = count as usize,
            None => is_usable = false,
        }
    }
    if let Some(node) = get(mapping, "xml") {
        match xml(checker, node) {
            Some(lists) => settings.xml_lists = lists,
            None => is_usable = false,
        }
    }
    if let Some(node) = get(mapping, "empty_pages") {
        let count = checker.whole_number_in(
            node,
            "`empty_pages`",
            0..=1_000,
            Some("pages without records in a row a walk follows before it ends; 0 ends it at the first"),
        );
        match count {
            Some(count) => settings.empty_pages = count as usize,
            None => is_usable = false,
        }
    }
    is_usable.then_some(settings)
}

/// `xml: true` (answers are XML, read as JSON), `xml: false`, or `xml: {lists: [NAME, ...]}`
/// (and these elements are always lists). `Some(None)`: JSON.
fn xml(checker: &mut Checker<'_>, node: &Node) -> Option<Option<Vec<String>>> {
    if let Node::Scalar(_) = node {
        return checker
            .boolean(node, "`xml`")
            .map(|is_xml| is_xml.then(Vec::new));
    }
    let mapping = checker.mapping(node, "`xml`")?;
    checker.check_keys(mapping, "`xml`", &["lists"], &[]);
    let mut lists = Vec::new();
    if let Some(node) = get(mapping, "lists") {
        let items: Vec<&Node> = match node {
            Node::Sequence(items) => items.iter().collect(),
            node => vec![node],
        };
        for item in items {
            lists.push(checker.name(item, "an element name")?);
        }
    }
    Some(Some(lists))
}

fn base_url(checker: &mut Checker<'_>, node: &Node) -> Option<String> {
    const HELP: &str = "write an absolute http or https URL such as `https://api.example.com/v1/`";
    let text = checker.text(node, "`base_url`")?;
    let problem = match reqwest::Url::parse(text.value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => return Some(text.value),
        Ok(url) => format!("its scheme is `{}`", url.scheme()),
        // The parser's reason never quotes the text.
        Err(error) => error.to_string(),
    };
    let place = checker.place_of(node);
    checker.report(
        place,
        format!("{} is not an http or https URL: {problem}", text.shown()),
        HELP.to_owned(),
    );
    None
}

fn headers(checker: &mut Checker<'_>, node: &Node) -> Vec<(String, String)> {
    let headers = checker.pairs(node, "`headers`");
    let Some(mapping) = node.as_mapping() else {
        return headers;
    };
    for (key, value) in mapping.iter() {
        let place = checker.place_of_scalar(key);
        if reqwest::header::HeaderName::from_bytes(key.as_str().as_bytes()).is_err() {
            checker.report(
                place,
                format!("{} is not a header name", quote(key.as_str())),
                "a header name is letters, digits and `-`".to_owned(),
            );
        }
        let Some((_, text)) = headers.iter().find(|(name, _)| name == key.as_str()) else {
            continue;
        };
        if reqwest::header::HeaderValue::from_str(text).is_err() {
            // Never quote the value: it may be a credential from the environment.
            let place = checker.place_of(value);
            checker.report(
                place,
                format!(
                    "the value of header {} is not a valid header value",
                    quote(key.as_str())
                ),
                "a header value is one line of visible ASCII text".to_owned(),
            );
        }
    }
    headers
}
