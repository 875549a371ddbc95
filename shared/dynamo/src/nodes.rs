//! Node items: `pk = GROUP#<name>, sk = NODE#<id>`, beside their group, so
//! one query reads a group's whole fleet; `gsi1pk = INSTANCE#<id>` finds the
//! node of an instance from a lifecycle event.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use streamfleet_core::names::{GroupName, NodeId};
use streamfleet_core::node::Node;
use streamfleet_core::page::{Page, PageSize};
use streamfleet_core::ports::{NodeStore, StoreResult};

use crate::error::{corrupt, store_error};
use crate::keys::{group_pk, node_sk, NODE_SK_PREFIX};
use crate::schema::{PK, SK};
use crate::DynamoStore;

#[async_trait]
impl NodeStore for DynamoStore {
    async fn list_nodes(
        &self,
        group: &GroupName,
        after: Option<&NodeId>,
        size: PageSize,
    ) -> StoreResult<Page<Node, NodeId>> {
        let pk = group_pk(group);
        let start = after.map(|node| {
            [
                (PK.to_owned(), AttributeValue::S(pk.clone())),
                (SK.to_owned(), AttributeValue::S(node_sk(node))),
            ]
            .into_iter()
            .collect()
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :node)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(":node", AttributeValue::S(NODE_SK_PREFIX.to_owned()))
            .set_exclusive_start_key(start)
            .limit(i32::from(size.get()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("Query", &self.table, e))?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| serde_dynamo::from_item(item).map_err(|e| corrupt("node", e)))
            .collect::<StoreResult<Vec<Node>>>()?;
        let next = match output.last_evaluated_key {
            Some(_) => items.last().map(|node| node.node_id.clone()),
            None => None,
        };
        Ok(Page { items, next })
    }
}
