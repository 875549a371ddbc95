//! Node writes the control plane owns: launched rows, state transitions,
//! removal, and the first report of a launched node. Every change of the
//! node count happens in the same transaction as the node write.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use streamfleet_core::names::{GroupName, NodeId};
use streamfleet_core::node::{DrainCause, Node, NodeState};
use streamfleet_core::ports::{HoldWrite, NodeLifecycleStore, ReportGuard, StoreError, StoreResult};
use time::OffsetDateTime;

use crate::attr::{encode_value, epoch_millis, key, n, rfc3339, set_expression, Item};
use crate::error::store_error;
use crate::keys::{group_pk, node_sk, GROUP_SK};
use crate::nodes::{to_item, ENROLLED_MS, SENT_MS, TOKEN_NONCE};
use crate::schema::PK;
use crate::DynamoStore;

/// What a deleted row must hold.
#[derive(Clone, Copy)]
enum HoldGuard<'a> {
    Any,
    /// No lifecycle action.
    None,
    /// The lifecycle action with this token.
    Token(&'a str),
}

impl DynamoStore {
    /// Deletes a node's row and uncounts it, if it holds what `guard` says
    /// (the row is where a hold is renewed from).
    async fn delete_node(&self, group: &GroupName, node: &NodeId, guard: HoldGuard<'_>) -> StoreResult<()> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(group), &node_sk(node))))
            .expression_attribute_names("#pk", PK);
        let delete = match guard {
            HoldGuard::Any => delete.condition_expression("attribute_exists(#pk)"),
            HoldGuard::None => delete
                .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#hold)")
                .expression_attribute_names("#hold", "hold"),
            HoldGuard::Token(token) => delete
                .condition_expression("attribute_exists(#pk) AND #hold.#action.#token = :token")
                .expression_attribute_names("#hold", "hold")
                .expression_attribute_names("#action", "action")
                .expression_attribute_names("#token", "token")
                .expression_attribute_values(":token", crate::attr::s(token)),
        };
        let delete = delete.build().expect("delete is complete");
        self.transact(vec![TransactWriteItem::builder().delete(delete).build(), self.count_nodes(group, -1)])
            .await
    }

    fn count_nodes(&self, group: &GroupName, by: i64) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(group), GROUP_SK)))
            .update_expression("ADD #nodes :by")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#nodes", "nodeCount")
            .expression_attribute_values(":by", n(by))
            .build()
            .expect("update is complete");
        TransactWriteItem::builder().update(update).build()
    }
}

#[async_trait]
impl NodeLifecycleStore for DynamoStore {
    async fn add_launched(&self, node: &Node, expires_at: OffsetDateTime) -> StoreResult<()> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(node, expires_at)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .expect("put is complete");
        self.transact(vec![TransactWriteItem::builder().put(put).build(), self.count_nodes(&node.group, 1)])
            .await
    }

    async fn transition(
        &self,
        group: &GroupName,
        node: &NodeId,
        from: &[NodeState],
        to: NodeState,
        cause: Option<DrainCause>,
        guard: ReportGuard,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let allowed: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut condition = format!("#state IN ({})", allowed.join(", "));
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(group), &node_sk(node))));
        match guard {
            ReportGuard::Any => {}
            ReportGuard::Unchanged(None) => {
                condition.push_str(" AND attribute_not_exists(#sent)");
                request = request.expression_attribute_names("#sent", "sentMs");
            }
            ReportGuard::Unchanged(Some(sent)) => {
                condition.push_str(" AND #sent = :sent");
                request = request
                    .expression_attribute_names("#sent", "sentMs")
                    .expression_attribute_values(":sent", epoch_millis(sent));
            }
        }
        let mut request = request
            .condition_expression(condition)
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#since", "stateSince")
            .expression_attribute_names("#cause", "drainCause")
            .expression_attribute_values(":to", encode_value("state", &to)?)
            .expression_attribute_values(":now", rfc3339(now));
        for (name, state) in allowed.iter().zip(from) {
            request = request.expression_attribute_values(name, encode_value("state", state)?);
        }
        request = match cause {
            Some(cause) => request
                .update_expression("SET #state = :to, #since = :now, #cause = :cause")
                .expression_attribute_values(":cause", encode_value("drain cause", &cause)?),
            None => request.update_expression("SET #state = :to, #since = :now REMOVE #cause"),
        };
        request.send().await.map_err(|e| store_error("UpdateItem", &self.table, e))?;
        Ok(())
    }

    async fn forget_node(&self, group: &GroupName, node: &NodeId) -> StoreResult<()> {
        self.delete_node(group, node, HoldGuard::Any).await
    }

    async fn forget_unheld_node(&self, group: &GroupName, node: &NodeId) -> StoreResult<()> {
        self.delete_node(group, node, HoldGuard::None).await
    }

    async fn forget_node_as_read(
        &self,
        group: &GroupName,
        node: &NodeId,
        hold_token: Option<&str>,
    ) -> StoreResult<()> {
        self.delete_node(group, node, hold_token.map_or(HoldGuard::None, HoldGuard::Token)).await
    }

    async fn write_hold(
        &self,
        group: &GroupName,
        node: &NodeId,
        write: HoldWrite<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write_hold_item(group, node, write, now).await
    }

    async fn claim_launched(
        &self,
        node: &Node,
        token_nonce: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut item: Item = to_item(node, expires_at)?;
        item.insert(TOKEN_NONCE.to_owned(), crate::attr::s(token_nonce));
        let sent = item
            .get(SENT_MS)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt("an enrollment without a report".into()))?;
        item.insert(ENROLLED_MS.to_owned(), sent.clone());
        let fields = [
            "state",
            "stateSince",
            "host",
            "endpoints",
            "streams",
            "load",
            "zone",
            "lastHeartbeatAt",
            "lastSentAt",
            "sentMs",
            TOKEN_NONCE,
            ENROLLED_MS,
            crate::schema::TTL,
        ];
        let (expression, names, mut values) = set_expression(&item, &fields);
        values.insert(":pending".into(), encode_value("state", &NodeState::Pending)?);
        let mut names = names;
        names.insert("#pk".into(), PK.into());
        names.insert("#cstate".into(), "state".into());
        names.insert("#csent".into(), "sentMs".into());
        names.insert("#cnonce".into(), TOKEN_NONCE.into());
        names.insert("#cenrolled".into(), ENROLLED_MS.into());
        values.insert(":own".into(), crate::attr::s(token_nonce));
        values.insert(":claimed".into(), encode_value("state", &node.state)?);
        values.insert(":sent".into(), sent);
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(&node.group), &node_sk(&node.node_id))))
            .update_expression(expression)
            // Or this very claim, applied once already: the SDK retries a
            // write whose answer was lost, and the node must still get the
            // token it carries (a fresh nonce per enrollment, so no other
            // enrollment can match it). Without it, the node was locked out:
            // every later enrollment is `already_enrolled`, no token works.
            // Or a claimed row whose token never reported, by a newer report:
            // the node enrolling again because the answer was lost on the
            // way to it (whoever holds the key could claim the row before
            // that first report anyway).
            .condition_expression(
                "(attribute_exists(#pk) AND #cstate = :pending AND attribute_not_exists(#csent)) \
                 OR (#cnonce = :own AND #cstate = :claimed) \
                 OR (#cstate = :claimed AND #csent = #cenrolled AND #csent < :sent)",
            )
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.table, e))?;
        Ok(())
    }
}
