//! Stream routes: `pk = STREAM#<group>#<app>/<stream>, sk = ROUTE`, one
//! partition per stream. The first publish lookup creates it with a
//! conditional put; moving a stream is conditional on its old origin.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::Put;
use serde::{Deserialize, Serialize};
use streamfleet_core::names::{GroupName, NodeId, StreamKey};
use streamfleet_core::ports::{RouteStore, StoreResult};
use streamfleet_core::route::StreamRoute;
use time::OffsetDateTime;

use crate::attr::{decode, encode, epoch_secs, key, s, Item};
use crate::error::store_error;
use crate::keys::{route_pk, ROUTE_SK};
use crate::schema::{PK, TTL};
use crate::DynamoStore;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteItem {
    group: GroupName,
    stream: StreamKey,
    origin: NodeId,
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
}

/// The route's item and the condition of writing it: a new route only where
/// none is (`from` is `None`), a moved one only off `from`.
pub(crate) fn route_put(
    table: &str,
    route: &StreamRoute,
    from: Option<&NodeId>,
    expires_at: OffsetDateTime,
) -> StoreResult<Put> {
    let put = Put::builder().table_name(table).set_item(Some(to_item(route, expires_at)?));
    let put = match from {
        None => put.condition_expression("attribute_not_exists(#pk)").expression_attribute_names("#pk", PK),
        Some(from) => put
            .condition_expression("#origin = :from")
            .expression_attribute_names("#origin", "origin")
            .expression_attribute_values(":from", s(from.as_str())),
    };
    Ok(put.build().expect("put is complete"))
}

impl DynamoStore {
    async fn put_route(
        &self,
        route: &StreamRoute,
        from: Option<&NodeId>,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let put = route_put(&self.table, route, from, expires_at)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await
            .map_err(|e| store_error("PutItem", &self.table, e))?;
        Ok(())
    }
}

fn to_item(route: &StreamRoute, expires_at: OffsetDateTime) -> StoreResult<Item> {
    let record = RouteItem {
        group: route.group.clone(),
        stream: route.stream.clone(),
        origin: route.origin.clone(),
        since: route.since,
    };
    let mut item = encode("route", &record)?;
    item.extend(key(route_pk(&route.group, &route.stream), ROUTE_SK));
    item.insert(TTL.to_owned(), epoch_secs(expires_at));
    Ok(item)
}

#[async_trait]
impl RouteStore for DynamoStore {
    async fn get_route(
        &self,
        group: &GroupName,
        stream: &StreamKey,
        consistent: bool,
    ) -> StoreResult<Option<StreamRoute>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(route_pk(group, stream), ROUTE_SK)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| store_error("GetItem", &self.table, e))?;
        let Some(item) = output.item else { return Ok(None) };
        let expires_at = item
            .get(TTL)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
            .ok_or_else(|| {
                streamfleet_core::ports::StoreError::Corrupt("a route without expiresAt".into())
            })?;
        let record: RouteItem = decode("route", item)?;
        Ok(Some(StreamRoute {
            group: record.group,
            stream: record.stream,
            origin: record.origin,
            since: record.since,
            expires_at,
        }))
    }

    async fn create_route(&self, route: &StreamRoute, expires_at: OffsetDateTime) -> StoreResult<()> {
        self.put_route(route, None, expires_at).await
    }

    async fn move_route(
        &self,
        route: &StreamRoute,
        from: &NodeId,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.put_route(route, Some(from), expires_at).await
    }
}
