//! Seats on the node item itself (`seatsTaken`, `seatsCarried`): the
//! heartbeat that records a report carries the old count and starts a new
//! one in the same write, so there is never a moment when a new report is
//! stored but an old count applies. A seat, or a lease's block of seats, is
//! one `UpdateItem` whose condition is `seats::admits`; refused, it returns the item as stored
//! (`ReturnValuesOnConditionCheckFailure`), so the caller learns why at no
//! extra read. A new stream's route and its origin's seat are one
//! transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use streamfleet_core::names::NodeId;
use streamfleet_core::node::{Node, NodeState};
use streamfleet_core::ports::{RouteClaim, SeatStore, SeatTake, StoreError, StoreResult};
use streamfleet_core::route::StreamRoute;
use streamfleet_core::seats::SeatAsk;
use time::OffsetDateTime;

use crate::attr::{decode, encode_value, epoch_millis, n, Item};
use crate::error::store_error;
use crate::nodes::{node_key, SEATS_TAKEN, SENT_MS};
use crate::routes::route_put;
use crate::DynamoStore;

const TAKE: &str = "ADD #seats :count";
/// `seats::admits`, as DynamoDB evaluates it on the stored item (which has
/// no arithmetic: the block fits when the count is at most the room less
/// the block).
const ADMITS: &str = "#sentMs = :report AND #state = :in_service AND #cordoned = :no \
                      AND (attribute_not_exists(#seats) OR #seats <= :most)";

/// `ask.count` seats on `node` at `report`: `TAKE` on condition `ADMITS`,
/// returning the item as stored when refused. Sent alone by `take_seat`,
/// inside the route's transaction by `claim_route`. The caller has checked
/// that the block fits in the room at all.
fn seat_update(table: &str, node: &Node, ask: &SeatAsk, report: OffsetDateTime) -> StoreResult<Update> {
    let names =
        [("#seats", SEATS_TAKEN), ("#sentMs", SENT_MS), ("#state", "state"), ("#cordoned", "cordoned")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    let values = HashMap::from([
        (":count".to_owned(), n(ask.count.max(1))),
        (":report".to_owned(), epoch_millis(report)),
        (":in_service".to_owned(), encode_value("state", &NodeState::InService)?),
        (":no".to_owned(), AttributeValue::Bool(false)),
        (":most".to_owned(), n(ask.room - ask.count.max(1))),
    ]);
    Ok(Update::builder()
        .table_name(table)
        .set_key(Some(node_key(&node.group, &node.node_id)))
        .update_expression(TAKE)
        .condition_expression(ADMITS)
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .expect("update is complete"))
}

fn stored_node(item: Option<&Item>) -> StoreResult<Option<Box<Node>>> {
    item.map(|item| decode("node", item.clone()).map(Box::new)).transpose()
}

#[async_trait]
impl SeatStore for DynamoStore {
    async fn take_seat(&self, node: &Node, ask: &SeatAsk) -> StoreResult<SeatTake> {
        let Some(report) = ask.report.filter(|_| ask.room >= ask.count.max(1)) else {
            // A node that never reported has no room to take from, and a
            // block larger than the room never fits.
            return Ok(SeatTake::Refused { stored: Some(Box::new(node.clone())) });
        };
        let seat = seat_update(&self.table, node, ask, report)?;
        let result = self
            .client
            .update_item()
            .table_name(seat.table_name)
            .set_key(Some(seat.key))
            .update_expression(seat.update_expression)
            .set_condition_expression(seat.condition_expression)
            .set_expression_attribute_names(seat.expression_attribute_names)
            .set_expression_attribute_values(seat.expression_attribute_values)
            .set_return_values_on_condition_check_failure(seat.return_values_on_condition_check_failure)
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let seats_taken = output
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(SEATS_TAKEN))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| StoreError::Corrupt("a seat write returned no count".into()))?;
                Ok(SeatTake::Taken { seats_taken })
            }
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    Ok(SeatTake::Refused { stored: stored_node(refused.item())? })
                }
                _ => Err(store_error("UpdateItem", &self.table, error)),
            },
        }
    }

    async fn claim_route(
        &self,
        route: &StreamRoute,
        from: Option<&NodeId>,
        expires_at: OffsetDateTime,
        origin: &Node,
        ask: &SeatAsk,
    ) -> StoreResult<RouteClaim> {
        let Some(report) = ask.report.filter(|_| ask.room >= ask.count.max(1)) else {
            return Ok(RouteClaim::SeatRefused { stored: Some(Box::new(origin.clone())) });
        };
        let seat = seat_update(&self.table, origin, ask, report)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder().put(route_put(&self.table, route, from, expires_at)?).build(),
            )
            .transact_items(TransactWriteItem::builder().update(seat).build())
            .send()
            .await;
        let Err(error) = result else { return Ok(RouteClaim::Claimed) };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = error.as_service_error()
        else {
            return Err(store_error("TransactWriteItems", &self.table, error));
        };
        let reasons = cancelled.cancellation_reasons();
        let code = |i: usize| reasons.get(i).and_then(|r| r.code()).unwrap_or("None");
        match (code(0), code(1)) {
            // The route is taken (or being written): whatever the seat said.
            ("ConditionalCheckFailed" | "TransactionConflict", _) => Ok(RouteClaim::RouteTaken),
            ("None", "ConditionalCheckFailed") => {
                Ok(RouteClaim::SeatRefused { stored: stored_node(reasons.get(1).and_then(|r| r.item()))? })
            }
            // The origin's item was in another transaction: try again.
            ("None", "TransactionConflict") => Ok(RouteClaim::RouteTaken),
            _ => Err(store_error("TransactWriteItems", &self.table, error)),
        }
    }
}
