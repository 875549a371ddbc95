//! The provision pool: `pk = POOL, sk = HOST#<id>`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use streamfleet_core::group::Role;
use streamfleet_core::names::{GroupName, NodeId};
use streamfleet_core::pool::{HostState, PoolHost};
use streamfleet_core::ports::{PoolStore, StoreResult};

use crate::attr::{decode, encode, encode_value, key, s, Item};
use crate::error::store_error;
use crate::keys::{host_sk, HOST_SK_PREFIX, POOL_PK};
use crate::schema::{PK, SK};
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
        let mut hosts = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pool AND begins_with(#sk, :host)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pool", s(POOL_PK))
                .expression_attribute_values(":host", s(HOST_SK_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error("Query", &self.table, e))?;
            for item in output.items.unwrap_or_default() {
                hosts.push(decode("pool host", item)?);
            }
            match output.last_evaluated_key {
                Some(next) => start = Some(next),
                None => return Ok(hosts),
            }
        }
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
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(host_key(id)))
            .condition_expression("#state = :from")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#group", "group")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":from", encode_value("host state", &from)?)
            .expression_attribute_values(":to", encode_value("host state", &to)?)
            .return_values(ReturnValue::AllNew);
        let request = match user {
            Some((group, role)) => request
                .update_expression("SET #state = :to, #group = :group, #role = :role")
                .expression_attribute_values(":group", s(group.as_str()))
                .expression_attribute_values(":role", encode_value("role", &role)?),
            None => request.update_expression("SET #state = :to REMOVE #group, #role"),
        };
        let output = request.send().await.map_err(|e| store_error("UpdateItem", &self.table, e))?;
        decode("pool host", output.attributes.unwrap_or_default())
    }
}
