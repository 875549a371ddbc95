//! A function's start-up configuration on AWS: its secrets read from Secrets
//! Manager (the emulator's), only those it uses required, and none of their
//! values in an error.

use secrecy::ExposeSecret;
use streamfleet_runtime::{sdk_config, Config, Function, SecretError, Vars};
use streamfleet_scenarios::{emulator_endpoint, stored_secret};

const ADMIN_ID_VAR: &str = "STREAMFLEET_ADMIN_TOKEN_SECRET_ID";
const NODE_ID_VAR: &str = "STREAMFLEET_NODE_SECRET_ID";

async fn sdk() -> aws_config::SdkConfig {
    sdk_config(Some(emulator_endpoint())).await
}

fn vars<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vars {
    let mut all = vec![("STREAMFLEET_TABLE", "t"), ("STREAMFLEET_AWS_ENDPOINT", emulator_endpoint())];
    all.extend(pairs);
    Vars::given(all)
}

/// The admin API's configuration, its two secrets stored with these values.
async fn admin_api_with_stored(admin_token: &str, node_secret: &str) -> Config {
    let admin_arn = stored_secret(admin_token).await;
    let node_arn = stored_secret(node_secret).await;
    let vars = vars([(ADMIN_ID_VAR, admin_arn.as_str()), (NODE_ID_VAR, node_arn.as_str())]);
    Config::load(Function::NodeGroups, &vars, &sdk().await).await.expect("loads")
}

#[tokio::test]
async fn the_admin_api_reads_both_secrets_from_secrets_manager() {
    let config = admin_api_with_stored(
        "admin-token-from-secrets-manager",
        "node-secret-from-secrets-manager-0123456789",
    )
    .await;

    assert_eq!(config.admin_token.expose_secret(), "admin-token-from-secrets-manager");
    assert_eq!(config.node_secret.expose_secret(), "node-secret-from-secrets-manager-0123456789");
}

#[tokio::test]
async fn a_value_in_the_environment_wins_over_a_secret_id() {
    let admin_arn = stored_secret("from-secrets-manager-xxxxxxxx").await;
    let vars = vars([
        ("STREAMFLEET_ADMIN_TOKEN", "from-the-environment-xxxxxxxx"),
        (ADMIN_ID_VAR, admin_arn.as_str()),
        ("STREAMFLEET_NODE_SECRET", "node-secret-from-the-environment-0123456789"),
    ]);

    let config = Config::load(Function::NodeGroups, &vars, &sdk().await).await.expect("loads");

    assert_eq!(config.admin_token.expose_secret(), "from-the-environment-xxxxxxxx");
}

#[tokio::test]
async fn a_function_without_a_secret_it_uses_does_not_start() {
    let node_arn = stored_secret("node-secret-from-secrets-manager-0123456789").await;
    let vars = vars([(NODE_ID_VAR, node_arn.as_str())]);

    let error = Config::load(Function::NodeGroups, &vars, &sdk().await).await.unwrap_err();

    assert!(matches!(error, SecretError::Missing { .. }), "{error:?}");
    assert_eq!(error.to_string(), "set STREAMFLEET_ADMIN_TOKEN or STREAMFLEET_ADMIN_TOKEN_SECRET_ID");
}

#[tokio::test]
async fn functions_that_use_no_secret_start_without_any_and_share_none() {
    for function in [Function::Lookup, Function::Scaler, Function::Lifecycle] {
        let first = Config::load(function, &vars([]), &sdk().await).await.expect("loads");
        let second = Config::load(function, &vars([]), &sdk().await).await.expect("loads");
        // Fresh random values: nothing one signs is accepted by another.
        assert_ne!(first.node_secret.expose_secret(), second.node_secret.expose_secret());
        assert_ne!(first.admin_token.expose_secret(), second.admin_token.expose_secret());
        assert!(first.node_secret.expose_secret().len() >= 32);
    }
}

#[tokio::test]
async fn an_unreadable_secret_is_named_with_the_reason() {
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nobody-made-this-AbCdEf";
    let stored_arn = stored_secret("admin-token-from-secrets-manager").await;
    let vars = vars([(ADMIN_ID_VAR, stored_arn.as_str()), (NODE_ID_VAR, missing)]);

    let error = Config::load(Function::NodeGroups, &vars, &sdk().await).await.unwrap_err();

    assert!(matches!(error, SecretError::Fetch { .. }), "{error:?}");
    let shown = error.to_string();
    assert!(shown.contains(missing) && shown.contains(NODE_ID_VAR), "{shown}");
    assert!(shown.contains("ResourceNotFoundException"), "the service's reason: {shown}");
}

#[tokio::test]
async fn a_stored_value_loses_the_line_break_it_was_saved_with() {
    let config =
        admin_api_with_stored("admin-token-saved-with-echo\n", "node-secret-from-secrets-manager-0123456789")
            .await;

    assert_eq!(config.admin_token.expose_secret(), "admin-token-saved-with-echo");
}

#[tokio::test]
async fn a_binary_secret_is_refused() {
    let client = aws_sdk_secretsmanager::Client::new(&sdk().await);
    let name = format!("streamfleet-test-{}", uuid::Uuid::new_v4().simple());
    let created = client
        .create_secret()
        .name(name)
        .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(vec![1, 2, 3]))
        .send()
        .await
        .expect("secret created");
    let vars = vars([(NODE_ID_VAR, created.arn().unwrap())]);

    let error = Config::load(Function::Heartbeat, &vars, &sdk().await).await.unwrap_err();

    assert!(matches!(error, SecretError::NotText { .. }), "{error:?}");
}

#[tokio::test]
async fn the_warm_up_call_reaches_the_table_and_a_failure_does_not_stop_the_start() {
    use streamfleet_runtime::{warm_up, WarmUp};
    let config = streamfleet_scenarios::fresh_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk().await);

    assert_eq!(warm_up(&dynamodb, &config.table).await, WarmUp::Warm);
    assert_eq!(warm_up(&dynamodb, "no-such-table").await, WarmUp::Failed);
}

#[test]
fn the_lambda_bootstraps_unwind_so_that_a_panic_is_answered_500() {
    // `panic = "abort"` would end the process on a panic: a 502 and a cold
    // start instead of the panic layer's 500 (`make test` holds the 8 MB bar).
    let manifest = std::fs::read_to_string(streamfleet_scenarios::repo_root().join("Cargo.toml")).unwrap();
    let release = manifest.split("[profile.release]\n").nth(1).expect("a release profile");
    let release = release.split("\n[").next().unwrap_or(release);
    assert!(release.lines().any(|line| line.trim() == r#"panic = "unwind""#), "{release}");
}
