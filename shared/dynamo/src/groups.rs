//! Group items (`pk = GROUP#<name>, sk = GROUP`, listed through `gsi1`:
//! `gsi1pk = GROUPS, gsi1sk = <name>`) and their claims
//! (`pk = CLAIM#APP#<app>` or `CLAIM#DEFAULT`, `sk = CLAIM`), written in one
//! transaction whenever the claims change.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use streamfleet_core::group::{Claim, NodeGroup, Role};
use streamfleet_core::names::{GroupName, Region};
use streamfleet_core::page::{Page, PageSize};
use streamfleet_core::ports::{GroupStore, StoreError, StoreResult};

use crate::attr::{decode, encode, encode_value, key, n, rfc3339, s, Item};
use crate::error::store_error;
use crate::keys::{claim_pk, group_pk, CLAIM_SK, GROUPS_INDEX_PK, GROUP_SK, SCALER_SK};
use crate::schema::{GSI1, GSI1_PK, GSI1_SK, PK};
use crate::DynamoStore;

fn group_key(name: &GroupName) -> Item {
    key(group_pk(name), GROUP_SK)
}

fn index_key(name: &GroupName) -> Item {
    let mut key = group_key(name);
    key.insert(GSI1_PK.to_owned(), s(GROUPS_INDEX_PK));
    key.insert(GSI1_SK.to_owned(), s(name.as_str()));
    key
}

fn to_item(group: &NodeGroup) -> StoreResult<Item> {
    let mut item = encode("group", group)?;
    item.extend(index_key(group.name()));
    Ok(item)
}

fn claim_put(table: &str, claim: &Claim, owner: &GroupName) -> TransactWriteItem {
    let mut item = key(claim_pk(claim), CLAIM_SK);
    item.insert("group".to_owned(), s(owner.as_str()));
    let put = Put::builder()
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk) OR #group = :me")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#group", "group")
        .expression_attribute_values(":me", s(owner.as_str()));
    TransactWriteItem::builder().put(put.table_name(table).build().expect("put is complete")).build()
}

/// Deleting a claim that is already gone is fine; one held by another group is not.
fn claim_delete(table: &str, claim: &Claim, owner: &GroupName) -> TransactWriteItem {
    let delete = Delete::builder()
        .set_key(Some(key(claim_pk(claim), CLAIM_SK)))
        .condition_expression("attribute_not_exists(#pk) OR #group = :me")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#group", "group")
        .expression_attribute_values(":me", s(owner.as_str()));
    TransactWriteItem::builder().delete(delete.table_name(table).build().expect("delete is complete")).build()
}

/// The claims `group` takes and releases going from `before` to `after`.
fn claim_changes(before: &[Claim], after: &[Claim]) -> (Vec<Claim>, Vec<Claim>) {
    let before: BTreeSet<_> = before.iter().collect();
    let after: BTreeSet<_> = after.iter().collect();
    (
        after.difference(&before).map(|c| (*c).clone()).collect(),
        before.difference(&after).map(|c| (*c).clone()).collect(),
    )
}

impl DynamoStore {
    /// Writes many groups at once, unconditionally and without their claims:
    /// for bulk loads (benchmarks, imports) of groups that declare no apps.
    pub async fn import_groups(&self, groups: &[NodeGroup]) -> StoreResult<()> {
        let items = groups.iter().map(to_item).collect::<StoreResult<Vec<_>>>()?;
        self.batch_put(items).await
    }

    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> StoreResult<()> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| store_error("TransactWriteItems", &self.table, e))?;
        Ok(())
    }
}

#[async_trait]
impl GroupStore for DynamoStore {
    async fn insert_group(&self, group: &NodeGroup) -> StoreResult<()> {
        let put = Put::builder()
            .set_item(Some(to_item(group)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .table_name(&self.table)
            .build()
            .expect("put is complete");
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(group.spec.claims().iter().map(|claim| claim_put(&self.table, claim, group.name())));
        self.transact(items).await
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
        output.item.map(|item| decode("group", item)).transpose()
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
        let items: Vec<NodeGroup> = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| decode("group", item))
            .collect::<StoreResult<_>>()?;
        let next = output.last_evaluated_key.and(items.last().map(|g| g.name().clone()));
        Ok(Page { items, next })
    }

    async fn update_group(&self, group: &NodeGroup, previous: &NodeGroup) -> StoreResult<()> {
        // node_count and the enrollment generation are left alone: other
        // writers change them without a version bump.
        let update = Update::builder()
            .set_key(Some(group_key(group.name())))
            .update_expression(
                "SET #spec = :spec, #version = :version, #status = :status, #updated = :updated",
            )
            .condition_expression("attribute_exists(#pk) AND #version = :expected")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#spec", "spec")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#updated", "updatedAt")
            .expression_attribute_values(":spec", encode_value("group spec", &group.spec)?)
            .expression_attribute_values(":version", n(group.version))
            .expression_attribute_values(":status", encode_value("group status", &group.status)?)
            .expression_attribute_values(":updated", rfc3339(group.updated_at))
            .expression_attribute_values(":expected", n(previous.version))
            .table_name(&self.table)
            .build()
            .expect("update is complete");
        let (taken, released) = claim_changes(&previous.spec.claims(), &group.spec.claims());
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        items.extend(taken.iter().map(|claim| claim_put(&self.table, claim, group.name())));
        items.extend(released.iter().map(|claim| claim_delete(&self.table, claim, group.name())));
        self.transact(items).await
    }

    async fn delete_group(&self, group: &NodeGroup) -> StoreResult<()> {
        let delete = Delete::builder()
            .set_key(Some(group_key(group.name())))
            .condition_expression("attribute_exists(#pk) AND #nodes = :zero AND #version = :expected")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#nodes", "nodeCount")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":expected", n(group.version))
            .table_name(&self.table)
            .build()
            .expect("delete is complete");
        let scaler = Delete::builder()
            .set_key(Some(key(group_pk(group.name()), SCALER_SK)))
            .table_name(&self.table)
            .build()
            .expect("delete is complete");
        let mut items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().delete(scaler).build(),
        ];
        items.extend(group.spec.claims().iter().map(|claim| claim_delete(&self.table, claim, group.name())));
        self.transact(items).await
    }

    async fn claim_owner(&self, claim: &Claim) -> StoreResult<Option<GroupName>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(claim_pk(claim), CLAIM_SK)))
            .send()
            .await
            .map_err(|e| store_error("GetItem", &self.table, e))?;
        let owner =
            output.item.and_then(|mut item| item.remove("group")).and_then(|v| v.as_s().ok().cloned());
        owner
            .map(|name| GroupName::parse(name).map_err(|e| StoreError::Corrupt(format!("claim: {e}"))))
            .transpose()
    }

    async fn rotate_enrollment(&self, name: &GroupName) -> StoreResult<u32> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(group_key(name)))
            .update_expression("ADD #generation :one")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#generation", "enrollGeneration")
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.table, e))?;
        output
            .attributes
            .and_then(|a| a.get("enrollGeneration").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()))
            .ok_or_else(|| StoreError::Corrupt("enrollGeneration is not a number".into()))
    }

    async fn add_pressure(
        &self,
        name: &GroupName,
        role: Role,
        region: &Region,
        lookups: u32,
    ) -> StoreResult<()> {
        self.add_scaler_pressure(name, role, region, lookups).await
    }
}
