//! The seam in the AWS SDK's HTTP path that the tests stand in: an SDK
//! configuration whose every request goes through a `Seam` before (or
//! instead of) the real HTTP client. The IAM audit writes requests down
//! there; the chaos harness fails some.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// What stands in the seam: given each request and the real connector.
pub trait Seam: std::fmt::Debug + Clone + Send + Sync + 'static {
    fn call(&self, request: HttpRequest, real: &SharedHttpConnector) -> HttpConnectorFuture;
}

/// `sdk`, with every request of its clients through `seam`.
pub fn through<S: Seam>(sdk: &aws_config::SdkConfig, seam: S) -> aws_config::SdkConfig {
    let inner = sdk.http_client().expect("the SDK configuration has an HTTP client");
    sdk.to_builder().http_client(Client { inner, seam }).build()
}

#[derive(Debug)]
struct Client<S> {
    inner: SharedHttpClient,
    seam: S,
}

impl<S: Seam> HttpClient for Client<S> {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let real = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(Connector { real, seam: self.seam.clone() })
    }
}

#[derive(Debug)]
struct Connector<S> {
    real: SharedHttpConnector,
    seam: S,
}

impl<S: Seam> HttpConnector for Connector<S> {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.seam.call(request, &self.real)
    }
}

/// Counts every request through the seam by operation (`GetItem`,
/// `SendMessageBatch`…: the JSON protocols' `X-Amz-Target`), retries
/// included, whichever client of the configuration sends it; a request
/// `tag` names is counted as `Operation (tag)`.
#[derive(Debug, Clone, Default)]
pub struct CallsByOperation {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    tag: Option<Tag>,
}

/// Names a kind of request, given its operation and body.
pub type Tag = fn(&str, &[u8]) -> Option<&'static str>;

/// Tags the simulated cloud's reads of its instances (a Query of a group's
/// `HOSTUSE#` pool-host markers): they stand for the cloud's API calls
/// (Auto Scaling's on AWS), not the store's.
pub fn simulated_cloud_reads(operation: &str, body: &[u8]) -> Option<&'static str> {
    let pool = body.windows(b"HOSTUSE#".len()).any(|w| w == b"HOSTUSE#");
    (operation == "Query" && pool).then_some(SIMULATED_CLOUD)
}

/// The tag of [`simulated_cloud_reads`].
pub const SIMULATED_CLOUD: &str = "simulated cloud";

impl CallsByOperation {
    /// Counts requests by operation, telling apart those `tag` names (given
    /// the operation and the request's body).
    pub fn tagging(tag: Tag) -> Self {
        Self { tag: Some(tag), ..Self::default() }
    }

    /// The requests so far, by operation.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().expect("no panic while counting").clone()
    }
}

impl Seam for CallsByOperation {
    fn call(&self, request: HttpRequest, real: &SharedHttpConnector) -> HttpConnectorFuture {
        let target = request.headers().get("x-amz-target").unwrap_or("unknown");
        let mut operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        let body = request.body().bytes().unwrap_or_default();
        if let Some(tag) = self.tag.and_then(|tag| tag(&operation, body)) {
            operation = format!("{operation} ({tag})");
        }
        *self.counts.lock().expect("no panic while counting").entry(operation).or_default() += 1;
        real.call(request)
    }
}
