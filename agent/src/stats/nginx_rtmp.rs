//! nginx-rtmp's `/stat` XML (`rtmp_stat all`): per application and stream,
//! the clients; a client with `<publishing/>` publishes, the others play.
//! Matches nginx-rtmp-module 1.2.x (Debian's libnginx-mod-rtmp).

use roxmltree::{Document, Node};

use super::{malformed, Stats, StatsError};

fn child<'a>(node: Node<'a, 'a>, name: &str) -> Option<Node<'a, 'a>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn text_of(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).and_then(|n| n.text()).map(|t| t.trim().to_owned())
}

pub fn parse(xml: &str) -> Result<Stats, StatsError> {
    let doc = Document::parse(xml).map_err(malformed)?;
    let root = doc.root_element();
    if !root.has_tag_name("rtmp") {
        return Err(malformed(format!("root element <{}>, not <rtmp>", root.tag_name().name())));
    }
    let mut stats = Stats::default();
    for app in root.descendants().filter(|n| n.has_tag_name("application")) {
        let app_name = text_of(app, "name").ok_or_else(|| malformed("an application without a name"))?;
        let Some(live) = child(app, "live") else { continue };
        for stream in live.children().filter(|n| n.has_tag_name("stream")) {
            let name = text_of(stream, "name").ok_or_else(|| malformed("a stream without a name"))?;
            let mut publishing = false;
            for client in stream.children().filter(|n| n.has_tag_name("client")) {
                if child(client, "publishing").is_some() {
                    publishing = true;
                    stats.publishers = stats.publishers.saturating_add(1);
                } else {
                    stats.subscribers = stats.subscribers.saturating_add(1);
                }
            }
            let bits: u64 = ["bw_in", "bw_out"]
                .iter()
                .filter_map(|tag| text_of(stream, tag))
                .filter_map(|v| v.parse::<u64>().ok())
                .fold(0u64, u64::saturating_add);
            // Saturating: a page is outside input, and its figures may be anything.
            stats.bandwidth_kbps = stats.bandwidth_kbps.saturating_add(bits / 1000);
            // A stream is held while someone publishes it (or, on an edge
            // that pulls it, while it is active).
            if publishing || child(stream, "active").is_some() {
                stats.streams.push(format!("{app_name}/{name}"));
            }
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publisher_and_two_players_of_one_stream() {
        let stats = parse(include_str!("../../tests/fixtures/nginx_rtmp_stat.xml")).unwrap();
        assert_eq!((stats.publishers, stats.subscribers), (1, 2));
        assert_eq!(stats.streams, ["live/cam1"]);
        assert_eq!(stats.bandwidth_kbps, 3021);
    }

    #[test]
    fn an_idle_server_holds_nothing() {
        assert_eq!(
            parse(include_str!("../../tests/fixtures/nginx_rtmp_idle.xml")).unwrap(),
            Stats::default()
        );
    }

    #[test]
    fn malformed_and_foreign_pages_are_errors_not_panics() {
        for page in ["", "<rtmp><server>", "<html><body>502 Bad Gateway</body></html>", "{\"json\": true}"] {
            assert!(matches!(parse(page), Err(StatsError::Malformed(_))), "{page}");
        }
    }
}
