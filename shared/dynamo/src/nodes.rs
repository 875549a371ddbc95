//! Node items: `pk = GROUP#<name>, sk = NODE#<id>`, beside their group, so
//! one query reads a group's whole fleet; `gsi1pk = INSTANCE#<id>` finds the
//! node of an instance from a lifecycle event. A heartbeat is one
//! `UpdateItem` that touches only what the node reports, never the state the
//! control plane owns (state, cordon), and starts the node's seat count
//! again (`seats.rs`).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem, Update};
use streamfleet_core::heartbeat::HeartbeatReport;
use streamfleet_core::names::{GroupName, NodeId};
use streamfleet_core::node::{Node, NodeState};
use streamfleet_core::page::{Page, PageSize};
use streamfleet_core::ports::{NodeStore, StoreError, StoreResult};
use time::OffsetDateTime;

use crate::attr::{decode, encode, encode_value, epoch_millis, epoch_secs, key, n, rfc3339, s, Item};
use crate::error::store_error;
use crate::keys::{group_pk, instance_index_pk, node_sk, GROUP_SK, NODE_SK_PREFIX};
use crate::schema::{GSI1, GSI1_PK, GSI1_SK, PK, TTL};
use crate::DynamoStore;

/// The node's timestamp of its last accepted heartbeat, in epoch ms: a
/// number, so the replay condition compares instants.
pub(crate) const SENT_MS: &str = "sentMs";
/// Sessions placed since the last report (`Node::seats_taken`).
pub(crate) const SEATS_TAKEN: &str = "seatsTaken";
/// The nonce of the enrollment whose token may report for the node: not
/// part of `Node` (the API shows nodes, and has no use for it).
pub(crate) const TOKEN_NONCE: &str = "tokenNonce";
/// `sentMs` of the report a launched node enrolled with: while `sentMs`
/// still equals it, the token of that enrollment has never reported.
pub(crate) const ENROLLED_MS: &str = "enrolledMs";

pub(crate) fn node_key(group: &GroupName, node: &NodeId) -> Item {
    key(group_pk(group), &node_sk(node))
}

pub(crate) fn to_item(node: &Node, expires_at: OffsetDateTime) -> StoreResult<Item> {
    let mut item = encode("node", node)?;
    item.extend(node_key(&node.group, &node.node_id));
    item.insert(GSI1_PK.to_owned(), s(instance_index_pk(&node.node_id)));
    item.insert(GSI1_SK.to_owned(), s(group_pk(&node.group)));
    item.insert(TTL.to_owned(), epoch_secs(expires_at));
    if let Some(sent) = node.last_sent_at {
        item.insert(SENT_MS.to_owned(), epoch_millis(sent));
    }
    Ok(item)
}

pub(crate) fn decode_node(item: Option<Item>) -> StoreResult<Node> {
    decode("node", item.ok_or_else(|| StoreError::Corrupt("update returned no item".into()))?)
}

impl DynamoStore {
    /// Writes many nodes at once, unconditionally and without counting them
    /// on their groups: for bulk loads (benchmarks, imports) only.
    pub async fn import_nodes(&self, nodes: &[Node], expires_at: OffsetDateTime) -> StoreResult<()> {
        let items = nodes.iter().map(|node| to_item(node, expires_at)).collect::<StoreResult<Vec<_>>>()?;
        self.batch_put(items).await
    }

    fn update_node(&self, group: &GroupName, node: &NodeId) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(node_key(group, node)))
            .expression_attribute_names("#pk", PK)
            .return_values(ReturnValue::AllNew)
    }
}

#[async_trait]
impl NodeStore for DynamoStore {
    async fn list_nodes(
        &self,
        group: &GroupName,
        after: Option<&NodeId>,
        size: PageSize,
    ) -> StoreResult<Page<Node, NodeId>> {
        let output = self
            .query_prefix(group_pk(group), NODE_SK_PREFIX)
            .set_exclusive_start_key(after.map(|node| node_key(group, node)))
            .limit(i32::from(size.get()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("Query", &self.table, e))?;
        let items: Vec<Node> = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| decode("node", item))
            .collect::<StoreResult<_>>()?;
        let next = output.last_evaluated_key.and(items.last().map(|node| node.node_id.clone()));
        Ok(Page { items, next })
    }

    async fn all_nodes(&self, group: &GroupName) -> StoreResult<Vec<Node>> {
        // Consistent: the scaler decides on it, and a lookup re-reads it when
        // its cached view was contradicted.
        self.query_all("node", self.query_prefix(group_pk(group), NODE_SK_PREFIX).consistent_read(true)).await
    }

    async fn get_node(&self, group: &GroupName, node: &NodeId) -> StoreResult<Option<Node>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(node_key(group, node)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", &self.table, e))?;
        output.item.map(|item| decode("node", item)).transpose()
    }

    async fn register_node(
        &self,
        node: &Node,
        generation: u32,
        token_nonce: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut item = to_item(node, expires_at)?;
        item.insert(TOKEN_NONCE.to_owned(), s(token_nonce));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .expect("put is complete");
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(&node.group), GROUP_SK)))
            .update_expression("ADD #nodes :one")
            .condition_expression("attribute_exists(#pk) AND #status = :active AND #generation = :generation")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#nodes", "nodeCount")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#generation", "enrollGeneration")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":generation", n(generation))
            .build()
            .expect("update is complete");
        self.transact(vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().update(count).build(),
        ])
        .await
    }

    async fn record_heartbeat(
        &self,
        group: &GroupName,
        node: &NodeId,
        token_nonce: &str,
        report: &HeartbeatReport,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<Node> {
        // A report at least `SEAT_RESET_GAP` after the last reset starts the
        // seat count again; a sooner one (an agent restarting, a retry)
        // records the load and leaves the count as it is: a seat lease
        // lives less than the gap, so no lease ever sees two resets.
        let write = HeartbeatWrite { group, node, token_nonce, report, now, expires_at };
        match self.write_heartbeat(&write, Reset::IfDue).await {
            Err(StoreError::Conflict) => self.write_heartbeat(&write, Reset::Never).await,
            written => written,
        }
    }

    async fn mark_in_service(
        &self,
        group: &GroupName,
        node: &NodeId,
        now: OffsetDateTime,
    ) -> StoreResult<Node> {
        let output = self
            .update_node(group, node)
            .update_expression("SET #state = :in_service, #since = :now")
            .condition_expression("attribute_exists(#pk) AND #state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#since", "stateSince")
            .expression_attribute_values(":in_service", encode_value("state", &NodeState::InService)?)
            .expression_attribute_values(":pending", encode_value("state", &NodeState::Pending)?)
            .expression_attribute_values(":now", rfc3339(now))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.table, e))?;
        decode_node(output.attributes)
    }

    async fn locate(&self, node: &NodeId) -> StoreResult<Option<GroupName>> {
        // Nearly always one row; more only when a self-managed enrollment
        // elsewhere named the same id. The index is read eventually
        // consistently, as every GSI is.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("#ipk = :instance")
            .expression_attribute_names("#ipk", GSI1_PK)
            .expression_attribute_values(":instance", s(instance_index_pk(node)))
            .limit(10)
            .send()
            .await
            .map_err(|e| store_error("Query", &self.table, e))?;
        let rows: Vec<Node> = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| decode("node", item))
            .collect::<StoreResult<_>>()?;
        let launched = rows.iter().find(|n| n.launched_at.is_some() || n.hold.is_some());
        Ok(launched.or(rows.first()).map(|n| n.group.clone()))
    }

    async fn set_cordoned(&self, group: &GroupName, node: &NodeId, cordoned: bool) -> StoreResult<Node> {
        let output = self
            .update_node(group, node)
            .update_expression("SET #cordoned = :cordoned")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#cordoned", "cordoned")
            .expression_attribute_values(":cordoned", aws_sdk_dynamodb::types::AttributeValue::Bool(cordoned))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.table, e))?;
        decode_node(output.attributes)
    }
}

/// `sentMs` of the report that last started the seat count again.
const RESET_MS: &str = "resetMs";

/// Whether a heartbeat write starts the seat count again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reset {
    /// If the last reset is at least `SEAT_RESET_GAP` old (by the node's
    /// clock, so that a node reporting a little faster than that still
    /// resets every other report); otherwise the write is refused
    /// (`Conflict`).
    IfDue,
    Never,
}

/// How long after a reset of the seat count the next may be: the longest a
/// seat lease lives (`seats::MAX_LEASE`).
const SEAT_RESET_GAP: std::time::Duration = streamfleet_core::seats::MAX_LEASE;

/// One heartbeat as `record_heartbeat` is given it.
struct HeartbeatWrite<'a> {
    group: &'a GroupName,
    node: &'a NodeId,
    token_nonce: &'a str,
    report: &'a HeartbeatReport,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
}

impl DynamoStore {
    async fn write_heartbeat(&self, write: &HeartbeatWrite<'_>, reset: Reset) -> StoreResult<Node> {
        let HeartbeatWrite { group, node, token_nonce, report, now, expires_at } = *write;
        let load = report.load();
        let (mut set, due) = match reset {
            // The seats taken against the report before are carried (their
            // viewers may not be in this report yet), then the count starts
            // again. DynamoDB reads every operand from the item as it was
            // before the update; the emulator applies SET actions in order,
            // so the carry comes first for both.
            Reset::IfDue => (
                String::from(
                    "SET #carried = if_not_exists(#seats, :zero), #seats = :zero, #resetMs = :sentMs, ",
                ),
                " AND (attribute_not_exists(#resetMs) OR #resetMs <= :due)",
            ),
            Reset::Never => (String::from("SET "), ""),
        };
        set.push_str(
            "#host = :host, #load = :load, #streams = :streams, #seen = :seen, #sent = :sent, #sentMs = :sentMs, #ttl = :ttl",
        );

        // A token of a forgotten enrollment must not report for the row of
        // a new one; a token from before nonces, only for a row enrolled
        // before them (it has reported, and has no nonce): never for a row
        // that waits, pending, for its first report.
        let (token_condition, nonce) = match token_nonce {
            "" => ("attribute_not_exists(#nonce) AND attribute_exists(#sentMs)", None),
            nonce => ("#nonce = :nonce", Some(nonce)),
        };
        let mut request = self
            .update_node(group, node)
            .condition_expression(format!(
                "attribute_exists(#pk) AND #role = :role AND #region = :region \
                 AND (attribute_not_exists(#sentMs) OR #sentMs < :sentMs) AND {token_condition}{due}"
            ))
            .expression_attribute_names("#nonce", TOKEN_NONCE)
            .expression_attribute_names("#role", "role")
            .expression_attribute_names("#region", "region")
            .expression_attribute_names("#host", "host")
            .expression_attribute_names("#load", "load")
            .expression_attribute_names("#streams", "streams")
            .expression_attribute_names("#seen", "lastHeartbeatAt")
            .expression_attribute_names("#sent", "lastSentAt")
            .expression_attribute_names("#sentMs", SENT_MS)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":role", encode_value("role", &report.role)?)
            .expression_attribute_values(":region", s(report.region.as_str()))
            .expression_attribute_values(":host", s(report.host.as_str()))
            .expression_attribute_values(":load", encode_value("load", &load)?)
            .expression_attribute_values(":streams", encode_value("streams", &report.streams)?)
            .expression_attribute_values(":seen", rfc3339(now))
            .expression_attribute_values(":sent", rfc3339(report.sent_at))
            .expression_attribute_values(":sentMs", epoch_millis(report.sent_at))
            .expression_attribute_values(":ttl", epoch_secs(expires_at));
        // Endpoints change rarely: sent only when the node says they changed.
        if let Some(endpoints) = &report.endpoints {
            set.push_str(", #endpoints = :endpoints");
            request = request
                .expression_attribute_names("#endpoints", "endpoints")
                .expression_attribute_values(":endpoints", encode_value("endpoints", endpoints)?);
        }
        if let Some(nonce) = nonce {
            request = request.expression_attribute_values(":nonce", s(nonce));
        }
        if reset == Reset::IfDue {
            request = request
                .expression_attribute_names("#seats", SEATS_TAKEN)
                .expression_attribute_names("#carried", "seatsCarried")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_names("#resetMs", RESET_MS)
                .expression_attribute_values(":due", epoch_millis(report.sent_at - SEAT_RESET_GAP));
        }
        if let Some(zone) = &report.zone {
            set.push_str(", #zone = :zone");
            request = request
                .expression_attribute_names("#zone", "zone")
                .expression_attribute_values(":zone", s(zone.as_str()));
        }
        let output = request
            .update_expression(set)
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.table, e))?;
        decode_node(output.attributes)
    }
}
