//! Seats: how many new sessions a node may still be handed before it
//! reports again.
//!
//! A report says what the node holds; its **room** is what that leaves
//! under the packing ceiling. Every lookup that sends a session to the node
//! takes one seat with a conditional write on the node's item, counted
//! against the report it read: the write is refused unless the node stored
//! now is still at that report, in service, uncordoned, and has fewer seats
//! taken than that report's room.
//!
//! A report replaces the estimate with what the node really holds, but a
//! viewer handed a seat just before the node counted its sessions is not in
//! that count yet: it is still on its way. So a report does not forget the
//! seats taken against the report before: it **carries** them, and they
//! count against its own room too. A viewer has one whole report interval
//! to show up; seats of viewers that never connect come back with the
//! report after (two intervals at most). Carrying counts twice the viewers
//! that did arrive before the count, which costs a nearly full node at most
//! one interval's joins of fill, never a session past the ceiling.
//!
//! Because the count lives in the table, not in a lookup's memory, it holds
//! across any number of lookup processes; because it is tied to one report,
//! a process reading an older report can never spend a newer report's room
//! (its write is refused and it learns the node as stored now).
//!
//! This module is the pure part: the room of a report, and the rule a seat
//! store applies atomically ([`admits`]), which the property test below
//! drives with many lookups holding views of different ages and viewers
//! that arrive late or never.

use time::OffsetDateTime;

use crate::node::{Node, NodeState};

/// The most sessions a node of `capacity` takes under `ceiling_pct`: the
/// rest of its capacity is headroom for joins that land while a report is
/// in flight and for clients that bypass the lookup. A node with any
/// capacity takes at least one session.
pub fn seat_limit(capacity: u32, ceiling_pct: u8) -> u32 {
    if capacity == 0 {
        return 0;
    }
    let limit = u64::from(capacity) * u64::from(ceiling_pct.min(100)) / 100;
    (limit as u32).max(1)
}

/// The seats a node's last report leaves: its limit less what it holds and
/// less the seats carried from the report before.
pub fn room(node: &Node, role_capacity: u32, ceiling_pct: u8) -> u32 {
    let capacity = node.load.capacity_within(role_capacity);
    seat_limit(capacity, ceiling_pct).saturating_sub(node.load.sessions()).saturating_sub(node.seats_carried)
}

/// A lookup's request for one seat on a node, from its view of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatAsk {
    /// The report the view was read at (the node's `last_sent_at`).
    pub report: Option<OffsetDateTime>,
    /// That report's room (`room`).
    pub room: u32,
}

impl SeatAsk {
    pub fn for_node(node: &Node, role_capacity: u32, ceiling_pct: u8) -> Self {
        Self { report: node.last_sent_at, room: room(node, role_capacity, ceiling_pct) }
    }
}

/// Whether a seat store grants `ask` on the node as it is `stored` now: the
/// rule its conditional write expresses. Granting adds one to
/// `seats_taken`.
pub fn admits(stored: &Node, ask: &SeatAsk) -> bool {
    ask.report.is_some()
        && stored.last_sent_at == ask.report
        && stored.state == NodeState::InService
        && !stored.cordoned
        && stored.seats_taken < ask.room
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;
    use crate::node::fixtures::node;

    const T0: OffsetDateTime = datetime!(2026-11-21 06:00 UTC);

    fn edge(subscribers: u32, capacity: Option<u32>) -> Node {
        let mut n = node("e-1", T0);
        n.load.subscribers = subscribers;
        n.load.capacity = capacity;
        n
    }

    #[test]
    fn the_limit_is_the_ceiling_share_of_capacity_and_at_least_one() {
        assert_eq!(seat_limit(100, 90), 90);
        assert_eq!(seat_limit(1000, 85), 850);
        assert_eq!(seat_limit(5, 90), 4, "rounded down");
        assert_eq!(seat_limit(1, 90), 1, "a node with any capacity takes one");
        assert_eq!(seat_limit(0, 90), 0);
        assert_eq!(seat_limit(100, 200), 100, "never past the capacity");
        assert_eq!(seat_limit(u32::MAX, 100), u32::MAX);
    }

    #[test]
    fn room_is_what_the_report_leaves_under_the_limit() {
        assert_eq!(room(&edge(40, Some(100)), 200, 90), 50);
        assert_eq!(room(&edge(40, None), 50, 90), 5, "the role's capacity when the node reports none");
        assert_eq!(room(&edge(40, Some(100)), 50, 90), 5, "never more than the role's capacity");
        assert_eq!(room(&edge(95, Some(100)), 200, 90), 0, "past the limit: none, not negative");
        let mut origin = edge(0, Some(10));
        origin.load.publishers = 3;
        assert_eq!(room(&origin, 50, 90), 6, "publishers count too");
        let mut carrying = edge(40, Some(100));
        carrying.seats_carried = 20;
        assert_eq!(room(&carrying, 200, 90), 30, "viewers still on their way count");
        carrying.seats_carried = 80;
        assert_eq!(room(&carrying, 50, 90), 0);
    }

    #[test]
    fn a_seat_is_granted_only_at_the_report_it_was_asked_for() {
        let stored = edge(10, Some(100));
        let ask = SeatAsk::for_node(&stored, 100, 90);
        assert!(admits(&stored, &ask));
        let mut newer = stored.clone();
        newer.last_sent_at = Some(T0 + Duration::from_secs(2));
        assert!(!admits(&newer, &ask), "the node reported since");
        let mut full = stored.clone();
        full.seats_taken = 80;
        assert!(!admits(&full, &ask));
        let mut cordoned = stored.clone();
        cordoned.cordoned = true;
        assert!(!admits(&cordoned, &ask));
        let mut draining = stored.clone();
        draining.state = NodeState::Draining;
        assert!(!admits(&draining, &ask));
        let mut never_reported = stored;
        never_reported.last_sent_at = None;
        assert!(!admits(&never_reported, &SeatAsk::for_node(&never_reported, 100, 90)));
    }

    /// One step of the model below.
    #[derive(Debug, Clone)]
    enum Step {
        /// The node counts its sessions and reports. Viewers handed a seat
        /// before the previous report have arrived by now, or never will
        /// (`true`: they all arrive).
        Report(bool),
        /// One viewer on its way arrives.
        Arrive,
        /// One viewer leaves.
        Leave,
        /// Lookup process `n` re-reads the node.
        Refresh(usize),
        /// Lookup process `n` asks for a seat from its view; refused, it
        /// learns the node as stored (what a refused write returns) and
        /// asks once more.
        Take(usize),
    }

    fn arb_step(processes: usize) -> impl Strategy<Value = Step> {
        prop_oneof![
            1 => any::<bool>().prop_map(Step::Report),
            2 => Just(Step::Arrive),
            1 => Just(Step::Leave),
            2 => (0..processes).prop_map(Step::Refresh),
            8 => (0..processes).prop_map(Step::Take),
        ]
    }

    proptest! {
        /// However stale each process's view, and however late viewers
        /// arrive (within one report interval), the node never holds more
        /// than its limit counting the viewers on their way; seats granted
        /// against one report never exceed that report's room; and a
        /// process is refused at the current report only when it is full.
        #[test]
        fn no_node_is_ever_handed_more_viewers_than_its_limit(
            capacity in 1u32..150,
            held in 0u32..150,
            ceiling in 50u8..=100,
            steps in prop::collection::vec(arb_step(4), 1..300),
        ) {
            let limit = seat_limit(capacity, ceiling);
            let mut stored = edge(held.min(limit), Some(capacity));
            let mut views = vec![stored.clone(); 4];
            // Viewers on the node, and those on their way: handed a seat
            // against the report before the last one, or since.
            let (mut connected, mut coming_old, mut coming_new) = (held.min(limit), 0u32, 0u32);
            let mut clock = T0;
            for step in steps {
                match step {
                    Step::Report(arrive) => {
                        if arrive {
                            connected += coming_old;
                        }
                        (coming_old, coming_new) = (coming_new, 0);
                        clock += Duration::from_millis(500);
                        stored.last_sent_at = Some(clock);
                        stored.load.subscribers = connected;
                        stored.seats_carried = stored.seats_taken;
                        stored.seats_taken = 0;
                    }
                    Step::Arrive if coming_old > 0 => (coming_old, connected) = (coming_old - 1, connected + 1),
                    Step::Arrive if coming_new > 0 => (coming_new, connected) = (coming_new - 1, connected + 1),
                    Step::Arrive => {}
                    Step::Leave => connected = connected.saturating_sub(1),
                    Step::Refresh(p) => views[p] = stored.clone(),
                    Step::Take(p) => {
                        for _ in 0..2 {
                            let ask = SeatAsk::for_node(&views[p], capacity, ceiling);
                            if admits(&stored, &ask) {
                                stored.seats_taken += 1;
                                coming_new += 1;
                                break;
                            }
                            prop_assert!(
                                ask.report != stored.last_sent_at || stored.seats_taken >= room(&stored, capacity, ceiling),
                                "refused at the current report with room left"
                            );
                            views[p] = stored.clone();
                        }
                    }
                }
                prop_assert!(stored.seats_taken <= room(&stored, capacity, ceiling));
                prop_assert!(
                    connected + coming_old + coming_new <= limit,
                    "{connected} on the node and {} on their way, limit {limit}", coming_old + coming_new
                );
            }
        }
    }
}
