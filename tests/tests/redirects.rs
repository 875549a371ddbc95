//! Lookups by redirect, as clients with no streamfleet code use them: a
//! WHIP or WHEP client POSTs its offer and follows the 307, an HLS player
//! GETs the playlist and follows the 302. Seats are taken as for lookups.

use std::time::Duration;

use futures::future::join_all;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, CACHE_CONTROL, LOCATION, ORIGIN, RETRY_AFTER,
};
use reqwest::{Method, StatusCode};
use serde_json::json;
use streamfleet_scenarios::nodes::Report;
use streamfleet_scenarios::{another_process, body, spawn_app_serving_live, TestApp};

const GROUP: &str = "live-eu";
const WHIP: &str = "http://{host}:8889/{app}/{stream}/whip";
const WHEP: &str = "http://{host}:8889/{app}/{stream}/whep";
const OFFER: &str = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

async fn app() -> TestApp {
    spawn_app_serving_live(GROUP).await
}

/// Redirects are what is tested: not followed.
fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn origin(host: &str) -> Report {
    Report::new("origin", "eu-west-1", host)
}

fn live_origin(host: &str) -> Report {
    Report { publishers: 1, streams: vec!["live/cam1".into()], ..origin(host) }
}

fn edge(host: &str, subscribers: u32) -> Report {
    Report { subscribers, capacity: Some(100), ..Report::new("edge", "eu-west-1", host) }
}

async fn post_offer(app: &TestApp, path: &str) -> reqwest::Response {
    client()
        .post(format!("{}{path}", app.url))
        .header("content-type", "application/sdp")
        .body(OFFER)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    client().get(format!("{}{path}", app.url)).send().await.unwrap()
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}

#[tokio::test]
async fn a_whip_publisher_is_sent_to_an_origin_serving_whip_and_the_stream_sticks_there() {
    let app = app().await;
    // The idler origin serves no WHIP: a WHIP publisher never goes there.
    app.enroll(GROUP, "o-rtmp", &origin("198.51.100.1")).await;
    app.enroll(GROUP, "o-whip", &Report { publishers: 40, ..origin("198.51.100.2").serving("whip", WHIP) })
        .await;

    let response = post_offer(&app, "/v1/whip/live/cam1").await;
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(location(&response), "http://198.51.100.2:8889/live/cam1/whip");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store", "each client needs its own seat");

    // The route was taken as a JSON publish lookup takes it.
    let answer = body(app.lookup("/v1/streams/live/cam1?action=publish").await).await;
    assert_eq!(answer["nodeId"], "o-whip", "{answer}");
    let again = post_offer(&app, "/v1/whip/live/cam1?region=eu-west-1").await;
    assert_eq!(location(&again), "http://198.51.100.2:8889/live/cam1/whip");
}

#[tokio::test]
async fn players_are_sent_to_an_edge_serving_their_protocol() {
    let app = app().await;
    app.enroll(GROUP, "o-1", &live_origin("198.51.100.1")).await;
    // Packing prefers the busier edge; only the idler one serves WHEP.
    app.enroll(GROUP, "e-busy", &edge("203.0.113.1", 60)).await;
    app.enroll(GROUP, "e-whep", &edge("203.0.113.2", 10).serving("whep", WHEP)).await;

    let whep = post_offer(&app, "/v1/whep/live/cam1").await;
    assert_eq!(whep.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(location(&whep), "http://203.0.113.2:8889/live/cam1/whep");

    let hls = get(&app, "/v1/hls/live/cam1.m3u8").await;
    assert_eq!(hls.status(), StatusCode::FOUND);
    assert_eq!(location(&hls), "http://203.0.113.1:8080/hls/cam1.m3u8");
    assert_eq!(hls.headers()[CACHE_CONTROL], "no-store");

    // A stream nobody publishes is not live; a protocol no node serves has no room.
    let not_live = get(&app, "/v1/hls/live/nobody.m3u8").await;
    assert_eq!(not_live.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(not_live).await["code"], "not_live");
}

#[tokio::test]
async fn a_protocol_no_node_serves_is_a_404_that_asks_the_scaler_for_nothing() {
    let app = app().await;
    app.enroll(GROUP, "o-1", &live_origin("198.51.100.1")).await;
    app.enroll(GROUP, "e-1", &edge("203.0.113.1", 0)).await;
    for response in
        [post_offer(&app, "/v1/whep/live/cam1").await, post_offer(&app, "/v1/whip/live/cam2").await]
    {
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(body(response).await["code"], "protocol_not_served");
    }
    // More nodes from the same template would not serve it either: no
    // pressure for the scaler's next tick.
    use streamfleet_core::ports::ScalerStore;
    let store = streamfleet_dynamo::DynamoStore::new(app.dynamodb().await, app.config.table.clone());
    let group = streamfleet_core::names::GroupName::parse(GROUP).unwrap();
    let view = store.read_for_tick(&group).await.unwrap().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let until = now + Duration::from_secs(30);
    let (_, inbox) = store.acquire_lease(&group, "test#0", &view.lease, now, until).await.unwrap().unwrap();
    assert!(inbox.pressure.is_empty(), "{inbox:?}");
}

#[tokio::test]
async fn when_the_only_edges_serving_the_protocol_are_full_the_answer_is_503_with_retry_after() {
    let app = app().await;
    app.enroll(GROUP, "o-1", &live_origin("198.51.100.1")).await;
    app.enroll(GROUP, "e-idle", &edge("203.0.113.1", 0)).await;
    let full = Report { capacity: Some(10), ..edge("203.0.113.2", 10).serving("whep", WHEP) };
    app.enroll(GROUP, "e-full", &full).await;
    let response = post_offer(&app, "/v1/whep/live/cam1").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers()[RETRY_AFTER].to_str().unwrap().parse::<u32>().unwrap() >= 1);
    assert_eq!(body(response).await["code"], "no_room");
}

#[tokio::test]
async fn a_whip_publisher_cannot_move_a_stream_live_on_an_origin_without_whip() {
    let app = app().await;
    app.enroll(GROUP, "o-rtmp", &live_origin("198.51.100.1")).await;
    app.enroll(GROUP, "o-whip", &origin("198.51.100.2").serving("whip", WHIP)).await;
    let response = post_offer(&app, "/v1/whip/live/cam1").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(response).await["code"], "protocol_not_served");
    let answer = body(app.lookup("/v1/streams/live/cam1?action=publish").await).await;
    assert_eq!(answer["nodeId"], "o-rtmp", "the stream stays where it is live: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn players_racing_through_two_api_processes_never_overfill_an_edge() {
    let app = app().await;
    let other = another_process(&app).await;
    app.enroll(GROUP, "o-1", &live_origin("198.51.100.1")).await;
    let small = Report { capacity: Some(10), ..edge("203.0.113.1", 0).serving("whep", WHEP) };
    app.enroll(GROUP, "e-1", &small).await;
    let limit = streamfleet_core::seats::seat_limit(10, 95) as usize;

    let players = (0..24).map(|i| {
        let process = if i % 2 == 0 { &app } else { &other };
        async move {
            if i % 3 == 0 {
                get(process, "/v1/hls/live/cam1.m3u8").await.status()
            } else {
                post_offer(process, "/v1/whep/live/cam1").await.status()
            }
        }
    });
    let statuses = join_all(players).await;
    let sent = statuses.iter().filter(|s| s.is_redirection()).count();
    assert!(
        statuses.iter().all(|s| s.is_redirection() || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    // Seats one process leased and did not hand out are not the other's:
    // fewer may be sent, never more.
    assert!((1..=limit).contains(&sent), "at most {limit} seats handed out: {statuses:?}");
}

#[tokio::test]
async fn browsers_get_their_preflight_answered_and_can_read_the_redirect() {
    let app = app().await;
    app.enroll(GROUP, "o-1", &origin("198.51.100.1").serving("whip", WHIP)).await;
    let preflight = client()
        .request(Method::OPTIONS, format!("{}/v1/whip/live/cam1", app.url))
        .header(ORIGIN, "https://studio.example")
        .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header("access-control-request-headers", "content-type,authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(preflight.headers()[ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().contains("POST"));

    let redirect = client()
        .post(format!("{}/v1/whip/live/cam1", app.url))
        .header(ORIGIN, "https://studio.example")
        .header("content-type", "application/sdp")
        .body(OFFER)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(redirect.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(redirect.headers()[ACCESS_CONTROL_EXPOSE_HEADERS].to_str().unwrap().contains("location"));

    // WHEP's too, and an OPTIONS without CORS headers (WHIP clients may send one).
    let options =
        client().request(Method::OPTIONS, format!("{}/v1/whep/live/cam1", app.url)).send().await.unwrap();
    assert_eq!(options.status(), StatusCode::OK);
    assert!(options.headers()[ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap().contains("POST"));
}

#[tokio::test]
async fn bad_names_are_400s_naming_the_field_and_players_own_parameters_are_ignored() {
    let app = app().await;
    app.enroll(GROUP, "o-1", &live_origin("198.51.100.1")).await;
    app.enroll(GROUP, "e-1", &edge("203.0.113.1", 0)).await;
    for (path, field) in [
        ("/v1/hls/live/cam1.ts", "playlist"),
        ("/v1/hls/live/.m3u8", "playlist"),
        ("/v1/hls/li%20ve/cam1.m3u8", "app"),
        ("/v1/hls/live/cam1.m3u8?region=Mars", "region"),
    ] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body(response).await["field"], field, "{path}");
    }
    let bad_stream = post_offer(&app, "/v1/whip/live/cam%2F1").await;
    assert_eq!(bad_stream.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(bad_stream).await["field"], "stream");
    let ll_hls = get(&app, "/v1/hls/live/cam1.m3u8?_HLS_msn=12&_HLS_part=1").await;
    assert_eq!(ll_hls.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn a_group_requiring_admission_tokens_sends_each_client_with_one_for_the_node_chosen() {
    use streamfleet_core::admission::Action;
    use streamfleet_core::credentials::NodeCredentials;
    use streamfleet_core::names::{AppName, GroupName, NodeId, StreamName};

    let app = app().await;
    let patched = app
        .admin(Method::PATCH, &format!("/v1/nodegroups/{GROUP}"))
        .json(&json!({"requireAdmissionTokens": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    app.enroll(GROUP, "o-1", &origin("198.51.100.1").serving("whip", WHIP)).await;

    let response = post_offer(&app, "/v1/whip/live/cam1").await;
    let url = location(&response).to_owned();
    let (bare, token) = url.split_once("?token=").expect("the Location carries a token");
    assert_eq!(bare, "http://198.51.100.1:8889/live/cam1/whip");
    // The node checks it offline with its key, for this stream and action only.
    let credentials = NodeCredentials::new(streamfleet_scenarios::NODE_SECRET.to_owned().into()).unwrap();
    let node = NodeId::parse("o-1").unwrap();
    let key = credentials.admission_key(&GroupName::parse(GROUP).unwrap(), &node);
    let (live, cam1) = (AppName::parse("live").unwrap(), StreamName::parse("cam1").unwrap());
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(key.check(Some(token), &node, &live, &cam1, Action::Publish, now), Ok(()));
    assert!(key.check(Some(token), &node, &live, &cam1, Action::Play, now).is_err());

    // The node learns its key from its heartbeat answers.
    let o2_token = app.enroll(GROUP, "o-2", &origin("198.51.100.2")).await;
    let answer = app.report(GROUP, "o-2", &o2_token, &origin("198.51.100.2")).await;
    assert_eq!(answer["admissionRequired"], true, "{answer}");
    let o2 = credentials.admission_key(&GroupName::parse(GROUP).unwrap(), &NodeId::parse("o-2").unwrap());
    assert_eq!(answer["admissionKey"], o2.encoded());
}
