//! Which IAM actions a process's AWS requests need. An SDK configuration
//! whose HTTP client writes down, for every request it sends, the actions
//! IAM authorizes it with: a function's role must grant exactly those
//! (`infra/contract.json` lists them; the infra parity check holds both
//! templates to the list).
//!
//! Read off the signed request, as IAM sees it: the service is the SigV4
//! signing name, the operation the `X-Amz-Target` header (JSON protocols)
//! or the `Action` parameter (query protocols).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

use crate::sdk_seam::Seam;

/// The actions a set of clients needed, in order.
#[derive(Clone, Debug, Default)]
pub struct ActionLog(Arc<Mutex<BTreeSet<String>>>);

impl ActionLog {
    /// `sdk`, with every request its clients send written down here.
    pub fn recording(&self, sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        crate::sdk_seam::through(sdk, self.clone())
    }

    pub fn actions(&self) -> Vec<String> {
        self.0.lock().expect("action log lock").iter().cloned().collect()
    }

    fn add(&self, actions: Vec<String>) {
        self.0.lock().expect("action log lock").extend(actions);
    }
}

impl Seam for ActionLog {
    fn call(&self, request: HttpRequest, real: &SharedHttpConnector) -> HttpConnectorFuture {
        let body = request.body().bytes().unwrap_or_default();
        let request_actions = match signing_service(request.headers().get("authorization")) {
            Some(service) => actions_of(service, request.headers().get("x-amz-target"), body),
            None => vec!["unsigned request".to_owned()],
        };
        self.add(request_actions);
        real.call(request)
    }
}

/// The service a SigV4 `Authorization` header was signed for: the fourth
/// part of its credential scope (`key/date/region/service/aws4_request`).
fn signing_service(authorization: Option<&str>) -> Option<&str> {
    let scope = authorization?.split("Credential=").nth(1)?;
    scope.split('/').nth(3)
}

/// The IAM actions of one request to `service` (its signing name, which is
/// also its IAM prefix for every service streamfleet calls).
pub fn actions_of(service: &str, target: Option<&str>, body: &[u8]) -> Vec<String> {
    let form = form_params(body);
    let operation = match target {
        Some(target) => target.rsplit('.').next().unwrap_or(target).to_owned(),
        None => form.iter().find_map(|(k, v)| (k == "Action").then(|| v.clone())).unwrap_or_default(),
    };
    let action = format!("{service}:{operation}");
    let mut actions = match action.as_str() {
        // No action of their own: IAM checks each item's (UpdateItem for an
        // Update, ConditionCheckItem for a ConditionCheck…).
        "dynamodb:TransactWriteItems" | "dynamodb:TransactGetItems" => transaction_item_actions(body),
        // Batch calls of SQS are authorized as their single forms.
        "sqs:SendMessageBatch" => vec!["sqs:SendMessage".to_owned()],
        _ => vec![action.clone()],
    };
    let has = |prefix: &str| form.iter().any(|(k, _)| k.starts_with(prefix));
    for rule in IMPLIED {
        if rule.action == action && rule.when.is_none_or(has) {
            actions.extend(rule.needs.iter().map(|a| a.to_string()));
        }
    }
    actions
}

/// An authorization IAM makes on behalf of a call, beyond the call's own
/// action (AWS's service authorization references say which).
struct Implied {
    action: &'static str,
    /// Only when the request has a parameter starting so.
    when: Option<&'static str>,
    needs: &'static [&'static str],
}

const IMPLIED: &[Implied] = &[
    // Tags given at creation are written with the tagging action.
    Implied {
        action: "autoscaling:CreateAutoScalingGroup",
        when: Some("Tags."),
        needs: &["autoscaling:CreateOrUpdateTags"],
    },
    Implied {
        action: "ec2:CreateLaunchTemplate",
        when: Some("TagSpecification."),
        needs: &["ec2:CreateTags"],
    },
    // A group given a launch template: the caller must be able to launch
    // from it, and to pass its instance profile's role (a template the user
    // names may have one).
    Implied {
        action: "autoscaling:CreateAutoScalingGroup",
        when: Some("LaunchTemplate."),
        needs: &["ec2:RunInstances", "iam:PassRole"],
    },
    Implied {
        action: "autoscaling:UpdateAutoScalingGroup",
        when: Some("LaunchTemplate."),
        needs: &["ec2:RunInstances", "iam:PassRole"],
    },
    // The account's first group creates Auto Scaling's service-linked role.
    Implied {
        action: "autoscaling:CreateAutoScalingGroup",
        when: None,
        needs: &["iam:CreateServiceLinkedRole"],
    },
];

/// The parameters (name, value) of a form-encoded (query protocol) body.
pub(crate) fn form_params(body: &[u8]) -> Vec<(String, String)> {
    let Ok(text) = std::str::from_utf8(body) else { return Vec::new() };
    if text.starts_with('{') {
        return Vec::new();
    }
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn transaction_item_actions(body: &[u8]) -> Vec<String> {
    let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let items = request["TransactItems"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter_map(|item| item.as_object()?.keys().next().cloned())
        .map(|kind| match kind.as_str() {
            "Get" => "dynamodb:GetItem".to_owned(),
            "ConditionCheck" => "dynamodb:ConditionCheckItem".to_owned(),
            other => format!("dynamodb:{other}Item"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{actions_of, signing_service};

    #[test]
    fn the_service_is_the_signing_name_of_the_credential_scope() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/eu-west-1/autoscaling/aws4_request, \
                      SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(signing_service(Some(header)), Some("autoscaling"));
        assert_eq!(signing_service(Some("Bearer x")), None);
        assert_eq!(signing_service(None), None);
    }

    #[test]
    fn json_protocols_name_the_operation_in_the_target_header() {
        let actions = actions_of("dynamodb", Some("DynamoDB_20120810.GetItem"), b"{\"TableName\":\"t\"}");
        assert_eq!(actions, ["dynamodb:GetItem"]);
        let actions = actions_of("secretsmanager", Some("secretsmanager.GetSecretValue"), b"{}");
        assert_eq!(actions, ["secretsmanager:GetSecretValue"]);
        let actions = actions_of("sqs", Some("AmazonSQS.SendMessageBatch"), b"{}");
        assert_eq!(actions, ["sqs:SendMessage"], "a batch is authorized as its single form");
    }

    #[test]
    fn transactions_need_each_item_action_and_none_of_their_own() {
        let body = br#"{"TransactItems":[{"Put":{}},{"Update":{}},{"ConditionCheck":{}},{"Delete":{}}]}"#;
        let actions = actions_of("dynamodb", Some("DynamoDB_20120810.TransactWriteItems"), body);
        assert_eq!(
            actions,
            ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem"]
        );
    }

    #[test]
    fn query_protocols_name_it_in_the_action_parameter_and_imply_the_checks_aws_adds() {
        let plain = actions_of(
            "autoscaling",
            None,
            b"Action=SetDesiredCapacity&Version=2011-01-01&DesiredCapacity=2",
        );
        assert_eq!(plain, ["autoscaling:SetDesiredCapacity"]);
        let create = actions_of(
            "autoscaling",
            None,
            b"Action=CreateAutoScalingGroup&Version=2011-01-01&LaunchTemplate.LaunchTemplateName=x&Tags.member.1.Key=k",
        );
        assert_eq!(
            create,
            [
                "autoscaling:CreateAutoScalingGroup",
                "autoscaling:CreateOrUpdateTags",
                "ec2:RunInstances",
                "iam:PassRole",
                "iam:CreateServiceLinkedRole"
            ]
        );
        let untagged = actions_of("ec2", None, b"Action=CreateLaunchTemplate&Version=2016-11-15");
        assert_eq!(untagged, ["ec2:CreateLaunchTemplate"]);
        let tagged =
            actions_of("ec2", None, b"Action=CreateLaunchTemplate&TagSpecification.1.ResourceType=x");
        assert_eq!(tagged, ["ec2:CreateLaunchTemplate", "ec2:CreateTags"]);
    }
}
