//! Choosing the node for a new session: a pure function of the nodes, the
//! request and the time.
//!
//! - **Origins** (publishers) go to the least-loaded origin with room:
//!   publishers are few, long and heavy, so they are spread.
//! - **Edges** (viewers) are **packed**: the busiest edge whose projected
//!   load is still below the packing ceiling (default 95 % of its capacity)
//!   gets the viewer. Packing leaves the emptiest edges empty so that
//!   scale-in can drain them. The ceiling is a hard limit for every role
//!   (`seats::seat_limit`): lookups take seats up to it and no further, and
//!   the capacity above it is headroom for joins that land while a report
//!   is in flight and for clients that bypass the lookup. The caller adds
//!   to each node's report the sessions placed on it since (`placed`: the
//!   seats taken, as far as it knows), so it moves on to the next edge as
//!   it fills one. Power-of-two-choices was the alternative: it spreads
//!   well under stale data but spreads by design, which keeps every edge
//!   warm and defeats scale-in.
//!
//! Region: the requested region first, then regions of the same area
//! (`eu-*` for `eu-west-1`), then any. Ties break by a seeded hash of the
//! node id, so the choice is deterministic for a seed.

use std::cmp::Reverse;
use std::time::Duration;

use time::OffsetDateTime;

use crate::group::Role;
use crate::names::Region;
use crate::node::Node;
use crate::seats::seat_limit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementStrategy {
    /// The least-loaded node with room.
    LeastLoaded,
    /// The busiest node with room.
    Pack,
}

/// What the caller wants placed.
#[derive(Debug, Clone)]
pub struct Want<'a> {
    pub role: Role,
    pub region: Option<&'a Region>,
    pub strategy: PlacementStrategy,
    /// Nodes take sessions up to this % of their capacity (`seat_limit`).
    pub ceiling_pct: u8,
    /// The role's `connectionCapacity`: the room of a node that reports
    /// none, and the most a node may claim (`NodeLoad::capacity_within`).
    pub role_capacity: u32,
    /// Nodes silent for longer are not available.
    pub stale_after: Duration,
    pub seed: u64,
    /// Only nodes that report an endpoint for this protocol (`whip`, `hls`…).
    pub protocol: Option<&'a str>,
}

/// The index in `nodes` of the node to use, or `None` when no node of the
/// role is available with room. `placed[i]` counts sessions already sent to
/// `nodes[i]` since its last report (missing entries count 0).
pub fn place(nodes: &[Node], placed: &[u32], want: &Want<'_>, now: OffsetDateTime) -> Option<usize> {
    // Hoisted out of the loop: this runs over every node of a group on
    // every lookup.
    let heard_since = now - want.stale_after;
    let area = want.region.map(Region::area);
    let mut best: Option<(Rank, usize)> = None;
    for (i, node) in nodes.iter().enumerate() {
        if node.role != want.role || !node.is_available_since(heard_since) || !node.serves(want.protocol) {
            continue;
        }
        let capacity = node.load.capacity_within(want.role_capacity);
        let load = node.load.sessions().saturating_add(placed.get(i).copied().unwrap_or(0));
        if load >= seat_limit(capacity, want.ceiling_pct) {
            continue;
        }
        let tier = match want.region {
            None => 0,
            Some(region) if &node.region == region => 0,
            Some(_) if Some(node.region.area()) == area => 1,
            Some(_) => 2,
        };
        let rank = rank(tier, load, capacity, want.strategy);
        best = match best {
            Some((best_rank, j)) if best_rank < rank => Some((best_rank, j)),
            // Equal ranks: the seeded hash decides, computed only for ties.
            Some((best_rank, j))
                if best_rank == rank
                    && tie_break(want.seed, nodes[j].node_id.as_str())
                        <= tie_break(want.seed, node.node_id.as_str()) =>
            {
                Some((best_rank, j))
            }
            _ => Some((rank, i)),
        };
    }
    best.map(|(_, i)| i)
}

/// The next `count` choices after the nodes in `chosen`, best first: what
/// `place` would pick were each chosen node full.
pub fn place_next(
    nodes: &[Node],
    placed: &[u32],
    want: &Want<'_>,
    now: OffsetDateTime,
    chosen: &[usize],
    count: usize,
) -> Vec<usize> {
    let mut placed: Vec<u32> = (0..nodes.len()).map(|i| placed.get(i).copied().unwrap_or(0)).collect();
    let mut next = Vec::with_capacity(count);
    for &i in chosen {
        if let Some(slot) = placed.get_mut(i) {
            *slot = u32::MAX;
        }
    }
    while next.len() < count {
        let Some(i) = place(nodes, &placed, want, now) else { break };
        placed[i] = u32::MAX;
        next.push(i);
    }
    next
}

/// Smaller is better: region tier, then load in the direction the strategy
/// wants.
type Rank = (u8, u64, Reverse<u64>);

fn rank(tier: u8, load: u32, capacity: u32, strategy: PlacementStrategy) -> Rank {
    // Utilisation in parts per million, integer so ranks compare exactly.
    let used = u64::from(load) * 1_000_000 / u64::from(capacity.max(1));
    match strategy {
        PlacementStrategy::LeastLoaded => (tier, used, Reverse(0)),
        PlacementStrategy::Pack => (tier, 0, Reverse(used)),
    }
}

/// FNV-1a of the seed and the id: cheap, stable across runs and platforms.
fn tie_break(seed: u64, id: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;
    use crate::node::fixtures::node;
    use crate::node::NodeState;

    const NOW: OffsetDateTime = datetime!(2026-11-21 06:00 UTC);
    const STALE: Duration = Duration::from_secs(15);

    fn want(strategy: PlacementStrategy, region: Option<&Region>) -> Want<'_> {
        Want {
            role: Role::Edge,
            region,
            strategy,
            ceiling_pct: CEILING,
            role_capacity: 100,
            stale_after: STALE,
            seed: 7,
            protocol: None,
        }
    }

    fn edge(id: &str, region: &str, subscribers: u32) -> Node {
        let mut n = node(id, NOW);
        n.region = Region::parse(region).unwrap();
        n.load.subscribers = subscribers;
        n
    }

    const PACK: PlacementStrategy = PlacementStrategy::Pack;
    const CEILING: u8 = 80;

    #[test]
    fn packing_picks_the_busiest_node_below_the_ceiling() {
        let nodes = [edge("a", "eu-west-1", 10), edge("b", "eu-west-1", 70), edge("c", "eu-west-1", 85)];
        assert_eq!(place(&nodes, &[], &want(PACK, None), NOW), Some(1));
    }

    #[test]
    fn past_the_ceiling_a_node_takes_no_one() {
        let nodes = [edge("a", "eu-west-1", 95), edge("b", "eu-west-1", 80), edge("c", "eu-west-1", 100)];
        assert_eq!(place(&nodes, &[], &want(PACK, None), NOW), None);
        assert_eq!(place(&nodes, &[], &want(PlacementStrategy::LeastLoaded, None), NOW), None);
        assert_eq!(place(&nodes[1..2], &[], &want(PACK, None), NOW), None, "at the ceiling is full");
    }

    #[test]
    fn sessions_placed_since_the_last_report_count() {
        let nodes = [edge("a", "eu-west-1", 10), edge("b", "eu-west-1", 70)];
        assert_eq!(place(&nodes, &[0, 10], &want(PACK, None), NOW), Some(0), "b is projected at the ceiling");
        assert_eq!(place(&nodes, &[0, 9], &want(PACK, None), NOW), Some(1), "b has one seat left");
    }

    #[test]
    fn origins_spread_to_the_least_loaded() {
        let nodes = [edge("a", "eu-west-1", 10), edge("b", "eu-west-1", 70)];
        assert_eq!(place(&nodes, &[], &want(PlacementStrategy::LeastLoaded, None), NOW), Some(0));
    }

    #[test]
    fn the_requested_region_wins_then_its_area_then_any() {
        let eu_west = Region::parse("eu-west-1").unwrap();
        let nodes =
            [edge("us", "us-east-1", 0), edge("eu-c", "eu-central-1", 50), edge("eu-w", "eu-west-1", 70)];
        assert_eq!(place(&nodes, &[], &want(PACK, Some(&eu_west)), NOW), Some(2));
        let full_west =
            [edge("us", "us-east-1", 0), edge("eu-c", "eu-central-1", 50), edge("eu-w", "eu-west-1", 80)];
        assert_eq!(place(&full_west, &[], &want(PACK, Some(&eu_west)), NOW), Some(1));
        assert_eq!(place(&full_west[..1], &[], &want(PACK, Some(&eu_west)), NOW), Some(0));
    }

    #[test]
    fn nothing_available_means_none() {
        let mut cordoned = edge("a", "eu-west-1", 0);
        cordoned.cordoned = true;
        let full = edge("b", "eu-west-1", 100);
        let mut origin = edge("c", "eu-west-1", 0);
        origin.role = Role::Origin;
        assert_eq!(place(&[cordoned, full, origin], &[], &want(PACK, None), NOW), None);
    }

    #[test]
    fn a_node_without_an_endpoint_for_the_protocol_is_never_chosen_for_it() {
        let mut whep = edge("whep", "eu-west-1", 10);
        whep.endpoints.insert("whep".into(), "http://{host}:8889/{app}/{stream}/whep".into());
        let busier = edge("rtmp-only", "eu-west-1", 70);
        let nodes = [whep, busier];
        assert_eq!(place(&nodes, &[], &want(PACK, None), NOW), Some(1), "any protocol: packed on the busier");
        let w = Want { protocol: Some("whep"), ..want(PACK, None) };
        assert_eq!(place(&nodes, &[], &w, NOW), Some(0));
        let w = Want { protocol: Some("hls"), ..want(PACK, None) };
        assert_eq!(place(&nodes, &[], &w, NOW), None, "no node serves hls");
    }

    #[test]
    fn the_next_choices_are_the_ones_place_would_make_were_the_first_full() {
        let nodes = [edge("a", "eu-west-1", 10), edge("b", "eu-west-1", 70), edge("c", "eu-west-1", 40)];
        let w = want(PACK, None);
        assert_eq!(place_next(&nodes, &[], &w, NOW, &[1], 5), [2, 0]);
        assert_eq!(place_next(&nodes, &[], &w, NOW, &[], 1), [1]);
        assert_eq!(place_next(&nodes, &[], &w, NOW, &[0, 1, 2], 3), Vec::<usize>::new());
    }

    fn arb_node() -> impl Strategy<Value = Node> {
        (
            0u32..120,
            prop::option::of(1u32..150),
            prop::sample::select(vec!["eu-west-1", "eu-central-1", "us-east-1", "ap-south-1"]),
            prop::sample::select(vec![
                NodeState::InService,
                NodeState::InService,
                NodeState::Draining,
                NodeState::Pending,
                NodeState::Dead,
            ]),
            any::<bool>(),
            0u64..30,
            any::<bool>(),
            "[a-z0-9]{1,8}",
            any::<bool>(),
        )
            .prop_map(
                |(subscribers, capacity, region, state, cordoned, age, edge_role, id, whep)| {
                    let mut n = edge(&id, region, subscribers);
                    if whep {
                        n.endpoints.insert("whep".into(), "http://{host}/{app}/{stream}/whep".into());
                    }
                    n.load.capacity = capacity;
                    n.state = state;
                    n.cordoned = cordoned && subscribers % 3 == 0;
                    n.last_heartbeat_at = Some(NOW - Duration::from_secs(age));
                    n.role = if edge_role { Role::Edge } else { Role::Origin };
                    n
                },
            )
    }

    fn arb_want() -> impl Strategy<Value = (PlacementStrategy, u8)> {
        (prop_oneof![Just(PlacementStrategy::LeastLoaded), Just(PlacementStrategy::Pack)], 1u8..=100)
    }

    fn limit(n: &Node, ceiling: u8) -> u32 {
        seat_limit(n.load.capacity_within(100), ceiling)
    }

    proptest! {
        #[test]
        fn never_returns_an_unavailable_or_full_node_or_the_wrong_role_or_protocol(
            nodes in prop::collection::vec(arb_node(), 0..40),
            placed in prop::collection::vec(0u32..20, 0..40),
            (strategy, ceiling) in arb_want(),
            seed in any::<u64>(),
            protocol in prop::option::of(Just("whep")),
        ) {
            let w = Want { seed, ceiling_pct: ceiling, protocol, ..want(strategy, None) };
            if let Some(i) = place(&nodes, &placed, &w, NOW) {
                let n = &nodes[i];
                prop_assert_eq!(n.role, Role::Edge);
                prop_assert!(n.is_available(NOW, STALE));
                prop_assert!(n.serves(protocol), "a node without the protocol's endpoint");
                let load = n.load.sessions() + placed.get(i).copied().unwrap_or(0);
                prop_assert!(load < limit(n, ceiling), "past the ceiling");
            } else {
                let any_room = nodes.iter().enumerate().any(|(i, n)| {
                    n.role == Role::Edge && n.is_available(NOW, STALE) && n.serves(protocol)
                        && n.load.sessions() + placed.get(i).copied().unwrap_or(0) < limit(n, ceiling)
                });
                prop_assert!(!any_room, "a node had room but none was chosen");
            }
        }

        #[test]
        fn prefers_the_requested_region_whenever_it_has_room(
            nodes in prop::collection::vec(arb_node(), 1..40),
            (strategy, ceiling) in arb_want(),
        ) {
            let region = Region::parse("eu-west-1").unwrap();
            let w = Want { ceiling_pct: ceiling, ..want(strategy, Some(&region)) };
            let local_room = nodes.iter().any(|n| {
                n.role == Role::Edge && n.region == region && n.is_available(NOW, STALE)
                    && n.load.sessions() < limit(n, ceiling)
            });
            if local_room {
                let i = place(&nodes, &[], &w, NOW).expect("a local node has room");
                prop_assert_eq!(&nodes[i].region, &region);
            }
        }

        #[test]
        fn the_next_choices_are_distinct_have_room_and_leave_out_the_chosen(
            nodes in prop::collection::vec(arb_node(), 0..40),
            chosen in prop::collection::vec(0usize..40, 0..3),
            count in 0usize..6,
        ) {
            let w = want(PACK, None);
            let next = place_next(&nodes, &[], &w, NOW, &chosen, count);
            prop_assert!(next.len() <= count);
            let mut seen = std::collections::HashSet::new();
            for &i in &next {
                prop_assert!(seen.insert(i), "twice");
                prop_assert!(!chosen.contains(&i), "already chosen");
                let n = &nodes[i];
                prop_assert!(n.role == Role::Edge && n.is_available(NOW, STALE) && n.load.sessions() < limit(n, CEILING));
            }
        }

        #[test]
        fn is_deterministic_for_a_seed(nodes in prop::collection::vec(arb_node(), 0..40), seed in any::<u64>()) {
            let w = Want { seed, ..want(PACK, None) };
            prop_assert_eq!(place(&nodes, &[], &w, NOW), place(&nodes, &[], &w, NOW));
        }
    }
}
