//! The scaler fanned out over a queue (SQS on AWS): the scheduled
//! invocation only orders ticks, one per group for each tick time until the
//! next invocation (delayed until then), and the queue's consumers (the
//! scaler function, as many at once as its event source allows) tick one
//! group per order. No invocation walks every group, so the number of
//! groups is bounded by the queue's consumers, not by one function's
//! timeout; the group leases still keep one tick per group at a time.

use std::time::Duration;

use time::OffsetDateTime;

use super::scaler::{GroupTickOutcome, Scaler};
use super::ScalerError;
use crate::names::GroupName;
use crate::ports::TickOrder;
use crate::telemetry;

/// What a scheduled invocation's orders came to.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchReport {
    pub groups: u32,
    /// Orders the queue took.
    pub ordered: u32,
    /// Orders it did not take (those groups wait for the next tick time).
    pub unsent: u32,
}

/// What one order came to.
#[derive(Debug)]
pub enum OrderOutcome {
    Ticked(GroupTickOutcome),
    /// Delivered a schedule period late: later orders tick the group.
    Stale,
}

/// The orders for `groups` at each of `times`, each group's a stable part
/// of `spread` later: the groups of one tick time come due over `spread`
/// (the tick period), not all in the same second, so the consumers and
/// the cloud's APIs see a steady flow.
pub fn tick_orders(groups: &[GroupName], times: &[OffsetDateTime], spread: Duration) -> Vec<TickOrder> {
    times
        .iter()
        .flat_map(|at| {
            groups
                .iter()
                .map(move |group| TickOrder { group: group.clone(), at: *at + offset_of(group, spread) })
        })
        .collect()
}

/// Where in `spread` a group's orders fall: FNV-1a of its name, so the same
/// in every invocation.
fn offset_of(group: &GroupName, spread: Duration) -> Duration {
    let hash = group.as_str().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let millis = u64::try_from(spread.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(hash % millis)
}

/// An order delivered a schedule period (`schedule_every`) or more after
/// its time: the next scheduled invocation has ordered the group again
/// since. A failed order that the queue delivers again after its
/// visibility timeout (the scaler's timeout, on AWS) is such an order. Later
/// orders than that are ticked: a tick late is still a tick.
pub fn is_stale(order: &TickOrder, now: OffsetDateTime, schedule_every: Duration) -> bool {
    now >= order.at + schedule_every
}

impl Scaler {
    /// A scheduled invocation's work where ticks are ordered on a queue:
    /// one order per group for each tick time until the next invocation
    /// (see `cadence`). `None` without a queue.
    pub async fn dispatch(&self) -> Result<Option<DispatchReport>, ScalerError> {
        let Some(queue) = self.tick_queue() else { return Ok(None) };
        let groups: Vec<GroupName> = self
            .all_groups()
            .await
            .inspect_err(|_| telemetry::tick_failed(1))?
            .into_iter()
            .map(|group| group.name().clone())
            .collect();
        let settings = self.settings();
        // Spread over the time between two orders of a group.
        let spread = settings.tick_every.min(settings.schedule_every);
        let orders = tick_orders(&groups, &self.tick_times(None), spread);
        let mut report = DispatchReport { groups: groups.len() as u32, ..DispatchReport::default() };
        match queue.send(&orders, self.now()).await {
            Ok(()) => report.ordered = orders.len() as u32,
            Err(e) => {
                // Each order not sent is a group's tick that will not run.
                let unsent = e.unsent.min(orders.len());
                telemetry::tick_failed(unsent as u32);
                report.unsent = unsent as u32;
                report.ordered = (orders.len() - unsent) as u32;
                if report.ordered == 0 {
                    // The invocation fails: its errors and dead letters say so.
                    return Err(e.into());
                }
                tracing::error!(error = %e, "some tick orders not sent; those groups wait for their next order");
            }
        }
        Ok(Some(report))
    }

    /// One order from the queue: the group's tick, its lease lapsing at
    /// `deadline` (the consuming invocation's) at the latest.
    pub async fn carry_out(
        &self,
        order: &TickOrder,
        deadline: Option<OffsetDateTime>,
    ) -> Result<OrderOutcome, ScalerError> {
        if is_stale(order, self.now(), self.settings().schedule_every) {
            return Ok(OrderOutcome::Stale);
        }
        Ok(OrderOutcome::Ticked(self.tick_one_until(&order.group, deadline).await?))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;

    const START: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

    fn names(count: usize) -> Vec<GroupName> {
        (0..count).map(|i| GroupName::parse(format!("g{i}")).unwrap()).collect()
    }

    proptest! {
        /// Each group is ordered exactly once per tick time.
        #[test]
        fn every_group_is_ordered_once_for_each_time(groups in 0usize..40, ticks in 1usize..7) {
            let times: Vec<_> = (0..ticks).map(|k| START + Duration::from_secs(10 * k as u64)).collect();
            let every = Duration::from_secs(10);
            let orders = tick_orders(&names(groups), &times, every);
            prop_assert_eq!(orders.len(), groups * ticks);
            for (k, time) in times.iter().enumerate() {
                // Each group once per time, within the tick period after it.
                let of_time = &orders[k * groups..(k + 1) * groups];
                let distinct: std::collections::HashSet<_> = of_time.iter().map(|o| o.group.clone()).collect();
                prop_assert_eq!(distinct.len(), groups);
                prop_assert!(of_time.iter().all(|o| o.at >= *time && o.at < *time + every));
            }
        }

        /// A group's orders are a tick period apart, whatever the invocation.
        #[test]
        fn a_group_s_orders_keep_its_place_in_the_period(name in "[a-z][a-z0-9-]{0,20}", every_s in 1u64..60) {
            let group = GroupName::parse(name).unwrap();
            let every = Duration::from_secs(every_s);
            let times = [START, START + every];
            let orders = tick_orders(std::slice::from_ref(&group), &times, every);
            prop_assert_eq!(orders[1].at - orders[0].at, every);
            prop_assert_eq!(orders, tick_orders(&[group], &times, every));
        }

        /// Stale exactly when the next scheduled invocation ordered again.
        #[test]
        fn an_order_is_stale_once_a_schedule_period_late(late_ms in 0u64..1_200_000, schedule_s in 60u64..600) {
            let order = TickOrder { group: names(1).remove(0), at: START };
            let now = START + Duration::from_millis(late_ms);
            prop_assert_eq!(is_stale(&order, now, Duration::from_secs(schedule_s)), late_ms >= schedule_s * 1000);
        }
    }
}
