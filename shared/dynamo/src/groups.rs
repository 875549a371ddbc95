//! Group items: `pk = GROUP#<name>, sk = GROUP`, listed through `gsi1`
//! (`gsi1pk = GROUPS, gsi1sk = <name>`).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use streamfleet_core::group::NodeGroup;
use streamfleet_core::names::GroupName;
use streamfleet_core::page::{Page, PageSize};
use streamfleet_core::ports::{GroupStore, StoreResult};

use crate::error::{corrupt, store_error};
use crate::keys::{group_pk, GROUPS_INDEX_PK, GROUP_SK};
use crate::schema::{GSI1, GSI1_PK, GSI1_SK, PK, SK};
use crate::DynamoStore;

type Item = HashMap<String, AttributeValue>;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn group_key(name: &GroupName) -> Item {
    HashMap::from([(PK.to_owned(), s(group_pk(name))), (SK.to_owned(), s(GROUP_SK))])
}

fn index_key(name: &GroupName) -> Item {
    let mut key = group_key(name);
    key.insert(GSI1_PK.to_owned(), s(GROUPS_INDEX_PK));
    key.insert(GSI1_SK.to_owned(), s(name.as_str()));
    key
}

fn to_item(group: &NodeGroup) -> StoreResult<Item> {
    let mut item: Item = serde_dynamo::to_item(group).map_err(|e| corrupt("group", e))?;
    item.extend(index_key(group.name()));
    Ok(item)
}

fn from_item(item: Item) -> StoreResult<NodeGroup> {
    serde_dynamo::from_item(item).map_err(|e| corrupt("group", e))
}

#[async_trait]
impl GroupStore for DynamoStore {
    async fn insert_group(&self, group: &NodeGroup) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(group)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map_err(|e| store_error("PutItem", &self.table, e))?;
        Ok(())
    }

    async fn get_group(&self, name: &GroupName) -> StoreResult<Option<NodeGroup>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(group_key(name)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", &self.table, e))?;
        output.item.map(from_item).transpose()
    }

    async fn list_groups(
        &self,
        after: Option<&GroupName>,
        size: PageSize,
    ) -> StoreResult<Page<NodeGroup, GroupName>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("#ipk = :groups")
            .expression_attribute_names("#ipk", GSI1_PK)
            .expression_attribute_values(":groups", s(GROUPS_INDEX_PK))
            .set_exclusive_start_key(after.map(index_key))
            .limit(i32::from(size.get()))
            .send()
            .await
            .map_err(|e| store_error("Query", &self.table, e))?;
        let items =
            output.items.unwrap_or_default().into_iter().map(from_item).collect::<StoreResult<Vec<_>>>()?;
        let next = match output.last_evaluated_key {
            Some(_) => items.last().map(|g| g.name().clone()),
            None => None,
        };
        Ok(Page { items, next })
    }

    async fn update_group(&self, group: &NodeGroup, expected_version: u64) -> StoreResult<()> {
        let spec = serde_dynamo::to_attribute_value(&group.spec).map_err(|e| corrupt("group spec", e))?;
        let status =
            serde_dynamo::to_attribute_value(group.status).map_err(|e| corrupt("group status", e))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(group_key(group.name())))
            // node_count is left alone: node registrations change it without
            // a version bump, so an admin write must not overwrite it.
            .update_expression(
                "SET #spec = :spec, #version = :version, #status = :status, #updated = :updated",
            )
            .condition_expression("attribute_exists(#pk) AND #version = :expected")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#spec", "spec")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#updated", "updatedAt")
            .expression_attribute_values(":spec", spec)
            .expression_attribute_values(":version", n(group.version))
            .expression_attribute_values(":status", status)
            .expression_attribute_values(":updated", s(rfc3339(group.updated_at)))
            .expression_attribute_values(":expected", n(expected_version))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.table, e))?;
        Ok(())
    }

    async fn delete_group(&self, name: &GroupName, expected_version: Option<u64>) -> StoreResult<()> {
        let mut condition = "attribute_exists(#pk) AND #nodes = :zero".to_owned();
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(group_key(name)))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#nodes", "nodeCount")
            .expression_attribute_values(":zero", n(0));
        if let Some(version) = expected_version {
            condition.push_str(" AND #version = :expected");
            request = request
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", n(version));
        }
        request
            .condition_expression(condition)
            .send()
            .await
            .map_err(|e| store_error("DeleteItem", &self.table, e))?;
        Ok(())
    }
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).expect("UTC timestamps format as RFC 3339")
}
