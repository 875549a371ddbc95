//! `infra/contract.json` says what the deployment templates must provide:
//! the table's keys, every function's routes and secrets, the names
//! streamfleet gives what it creates. It is generated from the code here, so
//! the infra checks (`scripts/check-infra.sh`: the CDK app reads it, the
//! parity check holds the SAM template to it) follow the code, and a change
//! of route or key cannot reach only one side.
//!
//! Each function's IAM actions are those its requests needed while it did
//! all its work on the emulator (`streamfleet_scenarios::workloads`): its
//! role must grant exactly those, no more (least privilege) and no fewer (a
//! deployment that fails on its first denied call).
//!
//! After changing a route, a key, a function's secrets or its AWS calls:
//! `UPDATE_INFRA_CONTRACT=1 cargo test -p streamfleet-scenarios --test infra_contract`.

use serde_json::{json, Map, Value};
use streamfleet_core::hooks::{GROUP_TAG, OWNED_PREFIX};
use streamfleet_dynamo::schema;
use streamfleet_runtime::{
    secrets, Function, EVENT_BUS_VAR, HEARTBEAT_INTERVAL_VAR, HOOK_TIMEOUT_VAR, SCHEDULE_VAR, TABLE_VAR,
    TICK_QUEUE_VAR, TICK_VAR,
};
use streamfleet_scenarios::repo_root;
use streamfleet_scenarios::workloads::audit;

async fn contract() -> Value {
    let http_routes = streamfleet_http::lambda_routes();
    let audits = futures::future::join_all(Function::ALL.map(audit)).await;
    let mut functions = Map::new();
    for (function, audit) in Function::ALL.into_iter().zip(audits) {
        let routes = http_routes
            .iter()
            .find(|(name, _)| *name == function.binary())
            .map(|(_, routes)| routes.clone())
            .unwrap_or_default();
        // Actions read off a workload that missed a route would miss that
        // route's actions.
        let mut served = routes.clone();
        served.sort();
        assert_eq!(audit.routes, served, "the {} workload answers every route it serves", function.binary());
        let secrets: Vec<&str> = function.secrets().iter().map(|s| s.id_var).collect();
        functions.insert(
            function.binary().to_owned(),
            json!({
                "routes": routes,
                "secrets": secrets,
                "drivesFleet": function.drives_fleet(),
                "publishesDecisions": function.logs_decisions(),
                "ordersTicks": function.orders_ticks(),
                "iamActions": audit.actions,
            }),
        );
    }
    json!({
        "note": "Generated from the code by tests/tests/infra_contract.rs (UPDATE_INFRA_CONTRACT=1 cargo test -p streamfleet-scenarios --test infra_contract). The CDK app reads it; the parity check holds the SAM template to it.",
        "metrics": {
            "namespace": streamfleet_runtime::metrics::NAMESPACE,
            "names": streamfleet_core::telemetry::ALL,
        },
        "table": {
            "partitionKey": schema::PK,
            "sortKey": schema::SK,
            "timeToLiveAttribute": schema::TTL,
            "globalSecondaryIndexes": [
                { "indexName": schema::GSI1, "partitionKey": schema::GSI1_PK, "sortKey": schema::GSI1_SK }
            ]
        },
        "functions": functions,
        "publicRoutes": streamfleet_http::public_routes(),
        "nodeRoutes": streamfleet_http::node_routes(),
        "environment": {
            "table": TABLE_VAR,
            "adminTokenSecretId": secrets::ADMIN_TOKEN.id_var,
            "nodeSecretId": secrets::NODE_SECRET.id_var,
            "heartbeatIntervalSecs": HEARTBEAT_INTERVAL_VAR,
            "hookHeartbeatTimeoutSecs": HOOK_TIMEOUT_VAR,
            "tickSecs": TICK_VAR,
            "scheduleSecs": SCHEDULE_VAR,
            "decisionEventBus": EVENT_BUS_VAR,
            "tickQueueUrl": TICK_QUEUE_VAR,
        },
        "ownedPrefix": OWNED_PREFIX,
        "groupTag": GROUP_TAG,
        "tickCallSortKey": streamfleet_dynamo::TICK_SK,
    })
}

#[tokio::test]
async fn the_contract_file_is_what_the_code_says() {
    let path = repo_root().join("infra/contract.json");
    let want = serde_json::to_string_pretty(&contract().await).expect("serializes") + "\n";
    if std::env::var_os("UPDATE_INFRA_CONTRACT").is_some() {
        std::fs::write(&path, &want).expect("contract written");
        return;
    }
    let have = std::fs::read_to_string(&path).expect("infra/contract.json exists");
    assert!(
        have == want,
        "infra/contract.json is stale: run UPDATE_INFRA_CONTRACT=1 cargo test -p streamfleet-scenarios \
         --test infra_contract, then make infra/sam/template.yaml match (scripts/check-infra.sh says where)\n\
         --- in the file\n{have}\n--- from the code\n{want}"
    );
}

#[test]
fn every_route_the_local_stack_serves_is_routed_on_aws_except_ticks() {
    let (_, doc) = streamfleet_http::all_routes().split_for_parts();
    let routed: Vec<String> = streamfleet_http::lambda_routes()
        .into_iter()
        .flat_map(|(_, keys)| keys)
        .filter_map(|key| key.split_once(' ').map(|(_, path)| path.to_owned()))
        .collect();
    let local_only: Vec<&str> =
        doc.paths.paths.keys().map(String::as_str).filter(|path| !routed.iter().any(|p| p == path)).collect();
    assert_eq!(local_only, ["/v1/nodegroups/{name}/tick", "/v1/scaler/tick"]);
}
