//! The web console in a real browser: Debian's Chromium, headless, driven
//! over WebDriver (chromedriver) against the local stack on the emulator.
//! Signing in, a group with its health and nodes, a cordon clicked in the
//! page and seen in the API.
//!
//! Needs `chromium` and `chromedriver`: `make test` installs them
//! (scripts/ensure-browser.sh). Screenshots go to `target/console/`;
//! `UPDATE_CONSOLE_SCREENSHOTS=1` writes them to `docs/console/` too.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use streamfleet_core::group::Role;
use streamfleet_core::names::{GroupName, Region};
use streamfleet_core::ports::ScalerStore;
use streamfleet_core::scaling::SeriesPoint;
use streamfleet_dynamo::DynamoStore;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::scaling::{host_report, simulated_group};
use streamfleet_scenarios::{body, repo_root, spawn_app, TestApp, ADMIN_TOKEN};
use time::OffsetDateTime;

const GROUP: &str = "console-demo";
const WAIT: Duration = Duration::from_secs(20);

/// chromedriver on a free port, stopped when dropped.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (scripts/ensure-browser.sh installs Debian's chromium-driver)");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url }
    }

    async fn browser(&self) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1280,1200"]}),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a headless Chromium session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A simulated group with an origin and two edges in service, some load,
/// and a capacity series of the last minutes.
async fn group_with_nodes(app: &TestApp) -> Vec<String> {
    app.add_pool_hosts(6, "eu-west-1").await;
    let mut spec = simulated_group(GROUP, 4);
    spec["roles"]["edge"]["scale"]["min"] = json!(2);
    assert_eq!(app.create_group(&spec).await.status(), StatusCode::CREATED);
    app.tick(GROUP).await;
    let mut edges = Vec::new();
    for node in app.nodes(GROUP).await {
        let (id, role) = (node["nodeId"].as_str().unwrap().to_owned(), node["role"].as_str().unwrap());
        let report = if role == "origin" {
            Report { publishers: 1, streams: vec!["live/cam1".into()], ..host_report("origin", &id) }
        } else {
            edges.push(id.clone());
            Report { subscribers: 3 + edges.len() as u32, ..host_report("edge", &id) }
        };
        app.enroll(GROUP, &id, &report).await;
    }
    app.tick(GROUP).await;
    seed_series(app).await;
    edges
}

/// What the scaler's ticks would have written over the last 20 minutes: a
/// crowd that came and the capacity that followed it.
async fn seed_series(app: &TestApp) {
    let store = DynamoStore::new(app.dynamodb().await, app.config.table.clone());
    let group = GroupName::parse(GROUP).unwrap();
    let now = OffsetDateTime::now_utc();
    for i in 0..40u64 {
        let at = now - Duration::from_secs(30 * (40 - i));
        let demand = if i < 10 {
            6
        } else if i < 25 {
            6 + (i - 10) * 2
        } else {
            36 - (i - 25)
        };
        let serving = demand.div_ceil(8).max(2) as u32;
        let point = SeriesPoint {
            at,
            role: Role::Edge,
            region: Region::parse("eu-west-1").unwrap(),
            serving,
            capacity: u64::from(serving) * 10,
            sessions: demand.min(u64::from(serving) * 10),
            demand,
        };
        store.record_series(&group, &[point]).await.unwrap();
    }
}

async fn wait_for(browser: &Client, css: &str) -> fantoccini::elements::Element {
    browser.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    let dir = repo_root().join("target/console");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), &png).unwrap();
    if std::env::var_os("UPDATE_CONSOLE_SCREENSHOTS").is_some() {
        std::fs::write(repo_root().join("docs/console").join(name), &png).unwrap();
    }
}

async fn node(app: &TestApp, id: &str) -> Value {
    body(app.admin(Method::GET, &format!("/v1/nodegroups/{GROUP}/nodes/{id}")).send().await.unwrap()).await
}

#[tokio::test]
async fn an_operator_signs_in_sees_the_group_s_nodes_and_cordons_one_from_the_console() {
    let app = spawn_app().await;
    let edges = group_with_nodes(&app).await;
    let driver = ChromeDriver::start().await;
    let browser = driver.browser().await;
    browser.goto(&format!("{}/console", app.url)).await.unwrap();

    // A wrong token is refused, and says so.
    wait_for(&browser, "#token").await.send_keys("not-the-token").await.unwrap();
    browser.find(Locator::Id("signin-button")).await.unwrap().click().await.unwrap();
    let refused = wait_for(&browser, "#signin-error:not([hidden])").await;
    assert!(refused.text().await.unwrap().contains("refused"));

    wait_for(&browser, "#token").await.send_keys(ADMIN_TOKEN).await.unwrap();
    browser.find(Locator::Id("signin-button")).await.unwrap().click().await.unwrap();
    let row = wait_for(&browser, &format!("tr[data-group='{GROUP}']")).await;
    assert!(row.text().await.unwrap().contains("ok"), "the group's health shows");
    screenshot(&browser, "groups.png").await;
    // The token stays in the tab: not in the address, not in a cookie.
    let url = browser.current_url().await.unwrap();
    assert!(!url.as_str().contains(ADMIN_TOKEN), "{url}");
    let kept =
        browser.execute("return sessionStorage.getItem('streamfleet.adminToken')", vec![]).await.unwrap();
    assert_eq!(kept, json!(ADMIN_TOKEN));
    assert_eq!(browser.execute("return document.cookie", vec![]).await.unwrap(), json!(""));

    row.find(Locator::Css("a.group-link")).await.unwrap().click().await.unwrap();
    for edge in &edges {
        wait_for(&browser, &format!("tr[data-node='{edge}']")).await;
    }
    wait_for(&browser, "#chart svg").await;
    wait_for(&browser, "li.decision").await;
    screenshot(&browser, "group.png").await;

    // Cordon the first edge from its row: the API sees it.
    let target = &edges[0];
    let button = wait_for(&browser, &format!("tr[data-node='{target}'] button.cordon")).await;
    button.click().await.unwrap();
    wait_for(&browser, &format!("tr[data-node='{target}'] button.uncordon")).await;
    assert_eq!(node(&app, target).await["cordoned"], true);
    let said = wait_for(&browser, "li.decision[data-type='setCordon']").await;
    assert!(said.text().await.unwrap().contains("operator"));
    screenshot(&browser, "cordoned.png").await;

    browser.close().await.unwrap();
}

#[tokio::test]
async fn a_console_asset_that_does_not_exist_or_is_not_utf8_is_a_json_404() {
    let app = spawn_app().await;
    for path in ["/console/conso%EC", "/console/secrets.txt"] {
        let response = app.anonymous(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body(response).await["code"], "not_found", "{path}");
    }
}
