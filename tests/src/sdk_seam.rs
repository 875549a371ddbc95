//! The seam in the AWS SDK's HTTP path that the tests stand in: an SDK
//! configuration whose every request goes through a `Seam` before (or
//! instead of) the real HTTP client. The IAM audit writes requests down
//! there; the chaos harness fails some.

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
