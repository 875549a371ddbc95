//! The provision pool: `pk = POOL, sk = HOST#<id>`; a host in use also has
//! a copy in its group's partition (`sk = HOSTUSE#<id>`).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use streamfleet_core::group::Role;
use streamfleet_core::names::{GroupName, NodeId};
use streamfleet_core::pool::{HostState, PoolHost};
use streamfleet_core::ports::{PoolStore, StoreError, StoreResult};

use crate::attr::{decode, encode, encode_value, key, s, Item};
use crate::error::store_error;
use crate::keys::{group_pk, host_sk, host_use_sk, HOST_SK_PREFIX, HOST_USE_SK_PREFIX, POOL_PK};
use crate::schema::PK;
use crate::DynamoStore;

fn host_key(id: &NodeId) -> Item {
    key(POOL_PK.to_owned(), &host_sk(id))
}

#[async_trait]
impl PoolStore for DynamoStore {
    async fn add_host(&self, host: &PoolHost) -> StoreResult<()> {
        let mut item = encode("pool host", host)?;
        item.extend(host_key(&host.host_id));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map_err(|e| store_error("PutItem", &self.table, e))?;
        Ok(())
    }

    async fn list_hosts(&self) -> StoreResult<Vec<PoolHost>> {
        self.query_all(
            "pool host",
            self.query_prefix(POOL_PK.to_owned(), HOST_SK_PREFIX).consistent_read(true),
        )
        .await
    }

    async fn hosts_of(&self, group: &GroupName) -> StoreResult<Vec<PoolHost>> {
        self.query_all(
            "pool host",
            self.query_prefix(group_pk(group), HOST_USE_SK_PREFIX).consistent_read(true),
        )
        .await
    }

    async fn get_host(&self, id: &NodeId) -> StoreResult<Option<PoolHost>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(host_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", &self.table, e))?;
        output.item.map(|item| decode("pool host", item)).transpose()
    }

    async fn set_host_state(
        &self,
        id: &NodeId,
        from: HostState,
        to: HostState,
        user: Option<(&GroupName, Role)>,
    ) -> StoreResult<PoolHost> {
        // A host in use also has a marker in its group's partition, written
        // in the same transaction, so that a group lists its hosts with one
        // consistent query, whatever the pool's size.
        let current = self.get_host(id).await?.ok_or(StoreError::Conflict)?;
        if current.state != from {
            return Err(StoreError::Conflict);
        }
        let next = PoolHost {
            state: to,
            group: user.map(|(g, _)| g.clone()),
            role: user.map(|(_, r)| r),
            ..current.clone()
        };
        let mut item = encode("pool host", &next)?;
        item.extend(host_key(id));
        // Also the same user as read: a host freed and taken by another group
        // between the read and this write must not be freed from under it.
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#group", "group")
            .expression_attribute_values(":from", encode_value("host state", &from)?);
        let put = match &current.group {
            Some(group) => put
                .condition_expression("#state = :from AND #group = :user")
                .expression_attribute_values(":user", s(group.as_str())),
            None => put.condition_expression("#state = :from AND attribute_not_exists(#group)"),
        }
        .build()
        .expect("put is complete");
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        // A host that stays with its group (held on its way out) has its
        // marker overwritten, not deleted and written again.
        if let Some(group) = current.group.as_ref().filter(|g| next.group.as_ref() != Some(*g)) {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(group_pk(group), &host_use_sk(id))))
                .build()
                .expect("delete is complete");
            items.push(TransactWriteItem::builder().delete(delete).build());
        }
        if let Some(group) = &next.group {
            let mut marker = encode("pool host", &next)?;
            marker.extend(key(group_pk(group), &host_use_sk(id)));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(marker))
                .build()
                .expect("put is complete");
            items.push(TransactWriteItem::builder().put(put).build());
        }
        self.transact(items).await?;
        Ok(next)
    }
}
