//! The scaler's item per group (`pk = GROUP#<name>, sk = SCALER`: lease,
//! memory, and the pressure lookups add) and the decision log
//! (`sk = EVENT#<ms>#<seq>`, read newest first, kept by TTL).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use streamfleet_core::group::Role;
use streamfleet_core::names::{GroupName, Region};
use streamfleet_core::page::{Page, PageSize};
use streamfleet_core::ports::{
    Inbox, LeaseSeen, ScalerStore, StoreError, StoreResult, TickRequests, TickView,
};
use streamfleet_core::scaling::{DecisionRecord, Pressure, ScalerMemory, SeriesPoint, SERIES_KEPT};
use time::OffsetDateTime;

use crate::attr::{decode, encode, encode_value, epoch_millis, epoch_secs, key, n, s, Item};
use crate::error::store_error;
use crate::keys::{
    event_sk, group_pk, is_event_sk, series_sk, EVENT_SK_PREFIX, GROUP_SK, NODE_SK_PREFIX, SCALER_SK,
    SERIES_SK_PREFIX, TICK_SK,
};
use crate::schema::{SK, TTL};
use crate::DynamoStore;

/// A series item: the points of one tick.
#[derive(serde::Serialize, serde::Deserialize)]
struct SeriesItem {
    points: Vec<SeriesPoint>,
}

const PRESSURE_PREFIX: &str = "pressure:";
const LEASE_HOLDER: &str = "leaseHolder";
const LEASE_UNTIL: &str = "leaseUntil";
/// The scaler item's counters of launches operators asked for.
const ASKED_PREFIX: &str = "asked:";

/// The scaler item's counter of refused lookups for one role and region.
pub fn pressure_attribute(role: Role, region: &Region) -> String {
    format!("{PRESSURE_PREFIX}{role}:{region}")
}

/// The lease a scaler item holds (never taken when there is no item).
fn lease_of(item: &Item) -> LeaseSeen {
    LeaseSeen {
        holder: item.get(LEASE_HOLDER).and_then(|holder| holder.as_s().ok()).cloned(),
        until: item
            .get(LEASE_UNTIL)
            .and_then(|until| until.as_n().ok()?.parse::<i128>().ok())
            .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok()),
    }
}

fn counter_attribute(prefix: &str, role: Role, region: &Region) -> String {
    format!("{prefix}{role}:{region}")
}

fn inbox_of(item: &Item) -> Inbox {
    Inbox { pressure: counters_of(item, PRESSURE_PREFIX), asked: counters_of(item, ASKED_PREFIX) }
}

fn counters_of(item: &Item, prefix: &str) -> Pressure {
    item.iter()
        .filter_map(|(name, value)| {
            let (role, region) = name.strip_prefix(prefix)?.split_once(':')?;
            let role = Role::try_from(role.to_owned()).ok()?;
            let region = Region::parse(region).ok()?;
            let count: u32 = value.as_n().ok()?.parse().ok()?;
            (count > 0).then_some(((role, region), count))
        })
        .collect()
}

impl DynamoStore {
    pub(crate) async fn add_scaler_pressure(
        &self,
        group: &GroupName,
        role: Role,
        region: &Region,
        lookups: u32,
    ) -> StoreResult<()> {
        self.add_scaler_counter(group, PRESSURE_PREFIX, role, region, lookups).await
    }

    async fn add_scaler_counter(
        &self,
        group: &GroupName,
        prefix: &str,
        role: Role,
        region: &Region,
        count: u32,
    ) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(group), SCALER_SK)))
            .update_expression("ADD #counter :count")
            .expression_attribute_names("#counter", counter_attribute(prefix, role, region))
            .expression_attribute_values(":count", n(count))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.table, e))?;
        Ok(())
    }
}

/// How long a tick call's item outlives its last write (a deleted group's
/// goes with the TTL).
const TICK_CALL_TTL: Duration = Duration::from_secs(24 * 3600);

#[async_trait]
impl TickRequests for DynamoStore {
    async fn request_tick(
        &self,
        group: &GroupName,
        now: OffsetDateTime,
        window: Duration,
    ) -> StoreResult<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(group), TICK_SK)))
            .update_expression("SET calledMs = :now, #ttl = :ttl")
            .condition_expression("attribute_not_exists(calledMs) OR calledMs <= :since")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":now", epoch_millis(now))
            .expression_attribute_values(":since", epoch_millis(now - window))
            .expression_attribute_values(":ttl", epoch_secs(now + TICK_CALL_TTL))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.table, e));
        match result {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl ScalerStore for DynamoStore {
    async fn read_for_tick(&self, group: &GroupName) -> StoreResult<Option<TickView>> {
        // In the group's partition `GROUP` < `HOSTUSE#…` < `NODE#…` <
        // `SCALER`: one consistent range holds the group, its nodes and
        // its lease; the pool-host markers among them (one per node of a
        // group on the simulated cloud) are read and skipped. Backwards,
        // so that the lease is read first: a Query is no snapshot, and a
        // tick that releases the lease has written its nodes before, so
        // nodes read after its release show its writes.
        let query = self
            .query_between(group_pk(group), GROUP_SK, SCALER_SK)
            .consistent_read(true)
            .scan_index_forward(false);
        let (mut found, mut nodes, mut lease) = (None, Vec::new(), LeaseSeen::default());
        for item in self.query_items(query).await? {
            match item.get(SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) {
                Some(GROUP_SK) => found = Some(decode("group", item)?),
                Some(SCALER_SK) => lease = lease_of(&item),
                Some(sk) if sk.starts_with(NODE_SK_PREFIX) => nodes.push(decode("node", item)?),
                _ => {}
            }
        }
        // Node id order, as every other read of them gives.
        nodes.reverse();
        Ok(found.map(|group| TickView { group, nodes, lease }))
    }

    async fn acquire_lease(
        &self,
        group: &GroupName,
        holder: &str,
        seen: &LeaseSeen,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<Option<(ScalerMemory, Inbox)>> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(group), SCALER_SK)))
            .update_expression("SET #holder = :me, #until = :until")
            .expression_attribute_names("#holder", LEASE_HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_values(":me", s(holder))
            .expression_attribute_values(":until", epoch_millis(until))
            .return_values(ReturnValue::AllNew);
        // Still the lease the read saw, and lapsed: a tick that took it
        // since the read (and maybe changed the nodes) makes this one fail.
        let request = match &seen.holder {
            None => request.condition_expression("attribute_not_exists(#holder)"),
            Some(seen_holder) => request
                .condition_expression("#holder = :seen AND (attribute_not_exists(#until) OR #until < :now)")
                .expression_attribute_values(":seen", s(seen_holder))
                .expression_attribute_values(":now", epoch_millis(now)),
        };
        let taken = request.send().await;
        let item = match taken {
            Ok(output) => output.attributes.unwrap_or_default(),
            Err(e) => {
                return match store_error("UpdateItem", &self.table, e) {
                    StoreError::Conflict => Ok(None),
                    other => Err(other),
                }
            }
        };
        let memory = match item.get("memory") {
            Some(AttributeValue::M(map)) => decode("scaler memory", map.clone())?,
            _ => ScalerMemory::default(),
        };
        Ok(Some((memory, inbox_of(&item))))
    }

    async fn release_lease(
        &self,
        group: &GroupName,
        holder: &str,
        memory: &ScalerMemory,
        consumed: &Inbox,
    ) -> StoreResult<()> {
        let mut expression = String::from("SET #memory = :memory, #until = :zero");
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(group), SCALER_SK)))
            .condition_expression("#holder = :me")
            .expression_attribute_names("#holder", LEASE_HOLDER)
            .expression_attribute_names("#until", LEASE_UNTIL)
            .expression_attribute_names("#memory", "memory")
            .expression_attribute_values(":me", s(holder))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":memory", encode_value("scaler memory", memory)?);
        // Subtract what this tick consumed, so that refusals and asks
        // counted meanwhile are kept for the next one.
        let counters = (consumed.pressure.iter().map(|slot| (PRESSURE_PREFIX, slot)))
            .chain(consumed.asked.iter().map(|slot| (ASKED_PREFIX, slot)));
        for (i, (prefix, ((role, region), count))) in counters.enumerate() {
            expression.push_str(if i == 0 { " ADD " } else { ", " });
            expression.push_str(&format!("#p{i} :p{i}"));
            request = request
                .expression_attribute_names(format!("#p{i}"), counter_attribute(prefix, *role, region))
                .expression_attribute_values(format!(":p{i}"), n(-i64::from(*count)));
        }
        request
            .update_expression(expression)
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.table, e))?;
        Ok(())
    }

    async fn memory(&self, group: &GroupName) -> StoreResult<Option<ScalerMemory>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(group), SCALER_SK)))
            .projection_expression("#memory")
            .expression_attribute_names("#memory", "memory")
            .send()
            .await
            .map_err(|e| store_error("GetItem", &self.table, e))?;
        match output.item.as_ref().and_then(|item| item.get("memory")) {
            Some(AttributeValue::M(map)) => Ok(Some(decode("scaler memory", map.clone())?)),
            _ => Ok(None),
        }
    }

    async fn ask_launch(
        &self,
        group: &GroupName,
        role: Role,
        region: &Region,
        count: u32,
    ) -> StoreResult<()> {
        self.add_scaler_counter(group, ASKED_PREFIX, role, region, count).await
    }

    async fn record_series(&self, group: &GroupName, points: &[SeriesPoint]) -> StoreResult<()> {
        let Some(at) = points.first().map(|p| p.at) else { return Ok(()) };
        let mut item = encode("series", &SeriesItem { points: points.to_vec() })?;
        item.extend(key(group_pk(group), &series_sk(at.unix_timestamp_nanos() / 1_000_000)));
        item.insert(TTL.to_owned(), epoch_secs(at + SERIES_KEPT));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| store_error("PutItem", &self.table, e))?;
        Ok(())
    }

    async fn list_series(&self, group: &GroupName, since: OffsetDateTime) -> StoreResult<Vec<SeriesPoint>> {
        let query = self.query_between(
            group_pk(group),
            &series_sk(since.unix_timestamp_nanos() / 1_000_000),
            &format!("{SERIES_SK_PREFIX}9999999999999"),
        );
        let items: Vec<SeriesItem> = self.query_all("series", query).await?;
        // TTL only collects garbage: a point older than asked is skipped.
        Ok(items.into_iter().flat_map(|i| i.points).filter(|p| p.at >= since).collect())
    }

    async fn record_decisions(
        &self,
        group: &GroupName,
        records: &[DecisionRecord],
        ttl: Duration,
    ) -> StoreResult<()> {
        let mut items = Vec::with_capacity(records.len());
        for (seq, record) in records.iter().enumerate() {
            let mut item = encode("decision", record)?;
            item.extend(key(group_pk(group), &event_sk(record.at.unix_timestamp_nanos() / 1_000_000, seq)));
            item.insert(TTL.to_owned(), epoch_secs(record.at + ttl));
            items.push(item);
        }
        self.batch_put(items).await
    }

    async fn list_decisions(
        &self,
        group: &GroupName,
        after: Option<&str>,
        size: PageSize,
    ) -> StoreResult<Page<DecisionRecord, String>> {
        let start = after.filter(|sk| is_event_sk(sk)).map(|sk| key(group_pk(group), sk));
        let output = self
            .query_prefix(group_pk(group), EVENT_SK_PREFIX)
            .scan_index_forward(false)
            .set_exclusive_start_key(start)
            .limit(i32::from(size.get()))
            .send()
            .await
            .map_err(|e| store_error("Query", &self.table, e))?;
        let mut items = Vec::new();
        let mut last_sk = None;
        for item in output.items.unwrap_or_default() {
            last_sk = item.get(SK).and_then(|v| v.as_s().ok()).cloned();
            items.push(decode("decision", item)?);
        }
        Ok(Page { items, next: output.last_evaluated_key.and(last_sk) })
    }
}
