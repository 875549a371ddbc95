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
//! **Leases.** A write per viewer costs more than the read a lookup needs,
//! so a warm lookup instance asks for a small block of seats in one write
//! ([`SeatAsk::count`], sized by [`block_size`] to what it hands out in one
//! lease life) and hands them to its own lookups from memory
//! ([`SeatLease`]). The block is taken under the same rule as a single
//! seat, so the table's count covers every seat of every lease. A lease is
//! spent only at the report it was taken against, and only for its life
//! (at most [`MAX_LEASE`] and half a report interval): the report after it
//! carries its seats, the one after that would not, and a lease never
//! lives to see that one (a report resets the count only [`MAX_LEASE`]
//! after the last reset at the soonest). Seats a lease never hands out come back as an
//! unconnected viewer's do, with the report after next.
//!
//! This module is the pure part: the room of a report, the rule a seat
//! store applies atomically ([`admits`]), and leases, which the property
//! test below drives with many lookups holding views of different ages,
//! leases of different sizes, and viewers that arrive late or never.

use std::time::Duration;

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

/// A lookup's request for seats on a node, from its view of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatAsk {
    /// The report the view was read at (the node's `last_sent_at`).
    pub report: Option<OffsetDateTime>,
    /// That report's room (`room`).
    pub room: u32,
    /// How many seats: one, or a lease's block (at least one).
    pub count: u32,
}

impl SeatAsk {
    /// One seat on `node` as the view has it.
    pub fn for_node(node: &Node, role_capacity: u32, ceiling_pct: u8) -> Self {
        Self { report: node.last_sent_at, room: room(node, role_capacity, ceiling_pct), count: 1 }
    }

    /// The same ask for a block of `count` seats (at least one).
    pub fn block(self, count: u32) -> Self {
        Self { count: count.max(1), ..self }
    }
}

/// Whether a seat store grants `ask` on the node as it is `stored` now: the
/// rule its conditional write expresses. Granting adds `ask.count` to
/// `seats_taken`: all of the block fits in the report's room, or none of it
/// is granted.
pub fn admits(stored: &Node, ask: &SeatAsk) -> bool {
    ask.report.is_some()
        && stored.last_sent_at == ask.report
        && stored.state == NodeState::InService
        && !stored.cordoned
        && stored.seats_taken.saturating_add(ask.count.max(1)) <= ask.room
}

/// The longest a lease lives. A node's report starts its seat count again
/// only if it comes at least this long after the last report that did (a
/// sooner one, say from an agent restarting, records the load and carries
/// on counting), so a lease never sees two resets: the report after the one
/// it was taken at carries its seats, and it lapses before another.
pub const MAX_LEASE: Duration = Duration::from_secs(1);

/// The most seats one lease asks for: at 32, a busy instance writes once
/// per 32 joins, and what a lease can leave unused stays small beside an
/// edge's room (hundreds).
pub const MAX_BLOCK: u32 = 32;

/// How many seats a lookup instance asks for at once on a node: what it
/// handed out in the last lease life (its demand: asking for more would
/// only leave seats unused until they lapse), at most [`MAX_BLOCK`], and at
/// most a quarter of the room it sees left, so that other instances, which
/// cannot use this one's lease, still find most of a filling node's room.
/// At least one.
pub fn block_size(demand: u32, room_left: u32) -> u32 {
    demand.clamp(1, MAX_BLOCK).min((room_left / 4).max(1))
}

/// Seats an instance took on a node in one write and hands to its own
/// lookups from memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatLease {
    /// The report the seats were taken against.
    pub report: OffsetDateTime,
    /// Seats not handed out yet.
    pub left: u32,
    /// When the lease lapses: its life after the write.
    pub until: OffsetDateTime,
}

impl SeatLease {
    /// Seats left to hand to a lookup whose view of the node is `view`:
    /// none once the view shows another report, the node out of service or
    /// cordoned, or the lease lapsed.
    pub fn spare(&self, view: &Node, now: OffsetDateTime) -> u32 {
        let open = view.state == NodeState::InService && !view.cordoned;
        if open && view.last_sent_at == Some(self.report) && now < self.until {
            self.left
        } else {
            0
        }
    }

    /// One seat for a lookup whose view of the node is `view`, if any is spare.
    pub fn hand(&mut self, view: &Node, now: OffsetDateTime) -> bool {
        let spare = self.spare(view, now) > 0;
        if spare {
            self.left -= 1;
        }
        spare
    }
}

/// An instance's demand for seats in a group: lookups that asked for one,
/// counted over windows of one lease life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    started: OffsetDateTime,
    this: u32,
    last: u32,
}

impl Demand {
    pub fn new(now: OffsetDateTime) -> Self {
        Self { started: now, this: 0, last: 0 }
    }

    /// One more lookup asked for a seat.
    pub fn record(&mut self, now: OffsetDateTime, window: Duration) {
        self.roll(now, window);
        self.this = self.this.saturating_add(1);
    }

    /// Seats asked for in one window: the last whole one, or this one if
    /// it is already busier (a crowd starting).
    pub fn per_window(&self, now: OffsetDateTime, window: Duration) -> u32 {
        let mut rolled = *self;
        rolled.roll(now, window);
        rolled.last.max(rolled.this)
    }

    fn roll(&mut self, now: OffsetDateTime, window: Duration) {
        let elapsed = now - self.started;
        if elapsed < window {
            return;
        }
        // A window with nothing in it in between: no demand carried over.
        self.last = if elapsed < window * 2 { self.this } else { 0 };
        self.this = 0;
        self.started = now;
    }
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

    #[test]
    fn a_block_is_the_demand_within_a_quarter_of_the_room_left() {
        assert_eq!(block_size(0, 100), 1, "a cold instance asks for one");
        assert_eq!(block_size(10, 100), 10);
        assert_eq!(block_size(500, 1000), MAX_BLOCK);
        assert_eq!(block_size(500, 40), 10, "a quarter of what is left");
        assert_eq!(block_size(500, 3), 1, "a nearly full node: one at a time");
        let ask = SeatAsk::for_node(&edge(10, Some(100)), 100, 90).block(0);
        assert_eq!(ask.count, 1, "never a block of none");
    }

    #[test]
    fn a_block_is_granted_whole_or_not_at_all() {
        let mut stored = edge(10, Some(100));
        let ask = SeatAsk::for_node(&stored, 100, 90);
        stored.seats_taken = 70;
        assert!(admits(&stored, &ask.block(10)), "70 + 10 of 80");
        assert!(!admits(&stored, &ask.block(11)), "one past the room");
    }

    #[test]
    fn a_lease_hands_seats_only_at_its_report_and_within_its_life() {
        let view = edge(10, Some(100));
        let report = view.last_sent_at.expect("reported");
        let mut lease = SeatLease { report, left: 2, until: T0 + Duration::from_secs(1) };
        assert!(lease.hand(&view, T0));
        assert!(lease.hand(&view, T0));
        assert!(!lease.hand(&view, T0), "spent");
        let lease = SeatLease { left: 5, ..lease };
        assert_eq!(lease.spare(&view, T0 + Duration::from_secs(1)), 0, "lapsed");
        let mut newer = view.clone();
        newer.last_sent_at = Some(report + Duration::from_secs(2));
        assert_eq!(lease.spare(&newer, T0), 0, "the view knows a newer report");
        let mut cordoned = view.clone();
        cordoned.cordoned = true;
        assert_eq!(lease.spare(&cordoned, T0), 0, "cordoned since");
    }

    #[test]
    fn demand_is_the_busier_of_the_last_window_and_this_one() {
        let window = Duration::from_secs(1);
        let mut demand = Demand::new(T0);
        for _ in 0..5 {
            demand.record(T0, window);
        }
        assert_eq!(demand.per_window(T0, window), 5, "a crowd starting counts at once");
        let next = T0 + Duration::from_millis(1500);
        demand.record(next, window);
        assert_eq!(demand.per_window(next, window), 5, "the last whole window");
        assert_eq!(demand.per_window(next + Duration::from_secs(1), window), 1);
        assert_eq!(demand.per_window(next + Duration::from_secs(3), window), 0, "gone quiet");
    }

    /// One step of the model below.
    #[derive(Debug, Clone)]
    enum Step {
        /// The node counts its sessions and reports, this many ms after its
        /// last report (a report sooner than `MAX_LEASE` after the last
        /// reset does not start the seat count again). Viewers handed a seat before the
        /// previous reset have arrived by now (`true`), or, if this report
        /// resets the count, never will.
        Report(bool, u64),
        /// One viewer on its way arrives.
        Arrive,
        /// One viewer leaves.
        Leave,
        /// Lookup process `n` re-reads the node.
        Refresh(usize),
        /// Lookup process `n` seats a viewer: from its lease if the lease
        /// has a seat for its view, else it asks for a block sized to a
        /// demand of `m` from its view; refused, it learns the node as
        /// stored (what a refused write returns) and asks once more.
        Take(usize, u32),
    }

    fn arb_step(processes: usize) -> impl Strategy<Value = Step> {
        prop_oneof![
            1 => (any::<bool>(), prop_oneof![100u64..1000, 900u64..1100, 1000u64..3000])
                .prop_map(|(a, gap)| Step::Report(a, gap)),
            2 => Just(Step::Arrive),
            1 => Just(Step::Leave),
            2 => (0..processes).prop_map(Step::Refresh),
            8 => (0..processes, prop_oneof![Just(1u32), 1u32..=40]).prop_map(|(p, m)| Step::Take(p, m)),
        ]
    }

    proptest! {
        /// However stale each process's view, however large its leases,
        /// and however late viewers arrive (within one report interval of
        /// their answer, less a lease's life), and however soon reports
        /// follow each other, the node never holds more than its limit
        /// counting the viewers on their way (a report that does not start
        /// the count again counts the viewers that arrived twice, never
        /// none); no lease sees the count started again twice; and a
        /// process is refused at the current report only when its block
        /// does not fit.
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
            // Each process's lease, and the seat resets (by number) before it
            // was taken; leases lapse by the clock, as they do.
            let mut leases: Vec<Option<(SeatLease, u32)>> = vec![None; 4];
            let mut resets = 0u32;
            let mut last_reset = clock;
            for step in steps {
                match step {
                    Step::Report(arrive, gap) => {
                        if arrive {
                            connected += coming_old;
                            coming_old = 0;
                        }
                        clock += Duration::from_millis(gap);
                        stored.last_sent_at = Some(clock);
                        stored.load.subscribers = connected;
                        if clock - last_reset >= MAX_LEASE {
                            last_reset = clock;
                            // Those handed before the last reset that have
                            // not arrived never will.
                            (coming_old, coming_new) = (coming_new, 0);
                            stored.seats_carried = stored.seats_taken;
                            stored.seats_taken = 0;
                            resets += 1;
                        }
                    }
                    Step::Arrive if coming_old > 0 => (coming_old, connected) = (coming_old - 1, connected + 1),
                    Step::Arrive if coming_new > 0 => (coming_new, connected) = (coming_new - 1, connected + 1),
                    Step::Arrive => {}
                    Step::Leave => connected = connected.saturating_sub(1),
                    Step::Refresh(p) => views[p] = stored.clone(),
                    Step::Take(p, demand) => {
                        let leased = leases[p].as_mut().is_some_and(|(lease, at)| {
                            let handed = lease.hand(&views[p], clock);
                            // Handed after the count was started again: the
                            // viewer must show up before the next reset.
                            if handed && *at == resets { coming_new += 1 }
                            if handed && *at + 1 == resets { coming_old += 1 }
                            handed
                        });
                        if let Some((_, at)) = leases[p].filter(|_| leased) {
                            prop_assert!(at + 1 >= resets, "a lease saw two resets of the count");
                        }
                        for _ in 0..if leased { 0 } else { 2 } {
                            let ask = SeatAsk::for_node(&views[p], capacity, ceiling);
                            let ask = ask.block(block_size(demand, ask.room.saturating_sub(views[p].seats_taken)));
                            if admits(&stored, &ask) {
                                stored.seats_taken += ask.count;
                                coming_new += 1;
                                let report = stored.last_sent_at.expect("reported");
                                let until = clock + MAX_LEASE;
                                leases[p] = Some((SeatLease { report, left: ask.count - 1, until }, resets));
                                break;
                            }
                            prop_assert!(
                                ask.report != stored.last_sent_at
                                    || stored.seats_taken + ask.count > room(&stored, capacity, ceiling),
                                "refused at the current report with room for the block"
                            );
                            views[p] = stored.clone();
                        }
                    }
                }
                prop_assert!(
                    connected + coming_old + coming_new <= limit,
                    "{connected} on the node and {} on their way, limit {limit}", coming_old + coming_new
                );
            }
        }
    }
}
