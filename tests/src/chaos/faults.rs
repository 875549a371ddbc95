//! Faults in the AWS SDK's HTTP path, the seam every AWS call goes through:
//! a chosen share of requests, drawn from a seed, fails the way AWS and
//! networks fail — 500 and 503 answers, throttling (each service's own
//! error code, so that the SDK classifies it as it would AWS's), connection
//! resets and timeouts, and the hard case: the request reaches the emulator
//! and is applied, and its answer is lost.
//!
//! The SDK retries what it judges transient (standard mode: three attempts,
//! under a retry quota), exactly as on AWS; what gets past its retries is
//! what the code under test must survive.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use crate::sdk_seam::Seam;

/// What one injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    InternalError,
    Unavailable,
    Throttled,
    ConnectionReset,
    TimedOut,
    /// Sent and applied; the answer never arrives.
    AppliedAnswerLost,
}

impl FaultKind {
    pub const ALL: [FaultKind; 6] = [
        FaultKind::InternalError,
        FaultKind::Unavailable,
        FaultKind::Throttled,
        FaultKind::ConnectionReset,
        FaultKind::TimedOut,
        FaultKind::AppliedAnswerLost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::InternalError => "500",
            FaultKind::Unavailable => "503",
            FaultKind::Throttled => "throttled",
            FaultKind::ConnectionReset => "connection reset",
            FaultKind::TimedOut => "timeout",
            FaultKind::AppliedAnswerLost => "applied, answer lost",
        }
    }
}

/// The faults of a run, shared by every process's SDK configuration.
#[derive(Debug, Clone)]
pub struct Faults(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    /// Faults per thousand requests while on.
    per_mille: u32,
    on: AtomicBool,
    rng: Mutex<u64>,
    calls: AtomicU64,
    injected: [AtomicU64; 6],
}

impl Faults {
    pub fn new(seed: u64, per_mille: u32) -> Self {
        Self(Arc::new(Shared {
            per_mille,
            on: AtomicBool::new(false),
            rng: Mutex::new(seed | 1),
            calls: AtomicU64::new(0),
            injected: Default::default(),
        }))
    }

    pub fn set_on(&self, on: bool) {
        self.0.on.store(on, Ordering::SeqCst);
    }

    /// `sdk`, with its requests going through these faults.
    pub fn wrap(&self, sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        crate::sdk_seam::through(sdk, self.clone())
    }

    /// AWS requests sent (including the SDK's retries).
    pub fn calls(&self) -> u64 {
        self.0.calls.load(Ordering::SeqCst)
    }

    pub fn injected(&self) -> u64 {
        self.0.injected.iter().map(|n| n.load(Ordering::SeqCst)).sum()
    }

    /// Faults injected, per kind.
    pub fn by_kind(&self) -> Vec<(FaultKind, u64)> {
        FaultKind::ALL.iter().zip(&self.0.injected).map(|(k, n)| (*k, n.load(Ordering::SeqCst))).collect()
    }

    /// The fault for the next request, if any (xorshift64*).
    fn draw(&self) -> Option<FaultKind> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        if !self.0.on.load(Ordering::SeqCst) {
            return None;
        }
        let roll = {
            let mut state = self.0.rng.lock().expect("fault rng lock");
            *state ^= *state >> 12;
            *state ^= *state << 25;
            *state ^= *state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        if (roll % 1000) as u32 >= self.0.per_mille {
            return None;
        }
        let kind = FaultKind::ALL[((roll / 1000) % FaultKind::ALL.len() as u64) as usize];
        self.0.injected[FaultKind::ALL.iter().position(|k| *k == kind).expect("a kind")]
            .fetch_add(1, Ordering::SeqCst);
        Some(kind)
    }
}

impl Seam for Faults {
    fn call(&self, request: HttpRequest, real: &SharedHttpConnector) -> HttpConnectorFuture {
        let Some(kind) = self.draw() else {
            return real.call(request);
        };
        let protocol = Protocol::of(&request);
        let answer = |status: u16, code: &str| {
            let mut response = HttpResponse::new(
                StatusCode::try_from(status).expect("a valid status"),
                SdkBody::from(protocol.error_body(code)),
            );
            response.headers_mut().insert("content-type", protocol.content_type());
            Ok(response)
        };
        match kind {
            FaultKind::InternalError => HttpConnectorFuture::ready(answer(500, protocol.internal_code())),
            FaultKind::Unavailable => HttpConnectorFuture::ready(answer(503, "ServiceUnavailable")),
            FaultKind::Throttled => HttpConnectorFuture::ready(answer(400, protocol.throttling_code())),
            FaultKind::ConnectionReset => HttpConnectorFuture::ready(Err(ConnectorError::io(
                "injected: connection reset by peer".into(),
            ))),
            FaultKind::TimedOut => {
                HttpConnectorFuture::ready(Err(ConnectorError::timeout("injected: read timed out".into())))
            }
            FaultKind::AppliedAnswerLost => answer_lost(request, real),
        }
    }
}

/// Sends `request` on, and loses its answer once it is back (applied or
/// refused): a connection reset after the request went out.
pub fn answer_lost(request: HttpRequest, real: &SharedHttpConnector) -> HttpConnectorFuture {
    let sent = real.call(request);
    HttpConnectorFuture::new(async move {
        let _applied = sent.await;
        Err(ConnectorError::io("injected: connection reset after the request was sent".into()))
    })
}

/// How a service spells its errors.
#[derive(Debug, Clone, Copy)]
enum Protocol {
    /// DynamoDB, Secrets Manager: `X-Amz-Target` and a JSON `__type`.
    Json,
    /// EC2's query protocol.
    Ec2,
    /// Auto Scaling's query protocol (and STS).
    Query,
}

impl Protocol {
    fn of(request: &HttpRequest) -> Self {
        if request.headers().get("x-amz-target").is_some() {
            return Protocol::Json;
        }
        let signed_for_ec2 =
            request.headers().get("authorization").is_some_and(|a| a.contains("/ec2/aws4_request"));
        if signed_for_ec2 {
            Protocol::Ec2
        } else {
            Protocol::Query
        }
    }

    fn throttling_code(self) -> &'static str {
        match self {
            Protocol::Json => "ThrottlingException",
            Protocol::Ec2 => "RequestLimitExceeded",
            Protocol::Query => "Throttling",
        }
    }

    fn internal_code(self) -> &'static str {
        match self {
            Protocol::Json => "InternalServerError",
            Protocol::Ec2 => "InternalError",
            Protocol::Query => "InternalFailure",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Protocol::Json => "application/x-amz-json-1.0",
            Protocol::Ec2 | Protocol::Query => "text/xml",
        }
    }

    fn error_body(self, code: &str) -> String {
        match self {
            Protocol::Json => {
                format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"injected"}}"#)
            }
            Protocol::Ec2 => format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>injected</Message></Error></Errors>\
                 <RequestID>chaos</RequestID></Response>"
            ),
            Protocol::Query => format!(
                "<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>injected</Message>\
                 </Error><RequestId>chaos</RequestId></ErrorResponse>"
            ),
        }
    }
}
