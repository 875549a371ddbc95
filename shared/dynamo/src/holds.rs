//! Held lifecycle actions, stored on the node's row (`hold`): every write
//! is one conditional `UpdateItem` keyed on the action's token, so that
//! repeated and late events change nothing.

use aws_sdk_dynamodb::types::AttributeValue;
use streamfleet_core::names::{GroupName, NodeId};
use streamfleet_core::ports::{HoldWrite, StoreResult};
use time::OffsetDateTime;

use crate::attr::{encode_value, key, rfc3339, s};
use crate::error::store_error;
use crate::keys::{group_pk, node_sk};
use crate::schema::PK;
use crate::DynamoStore;

/// `hold.action.token` is this write's token.
const SAME_TOKEN: &str = "#hold.#action.#token = :token";
const OPEN: &str = "attribute_not_exists(#hold.#result)";

impl DynamoStore {
    pub(crate) async fn write_hold_item(
        &self,
        group: &GroupName,
        node: &NodeId,
        write: HoldWrite<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(group), &node_sk(node))))
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#hold", "hold")
            .expression_attribute_names("#action", "action")
            .expression_attribute_names("#token", "token");
        let mut sets: Vec<&str> = Vec::new();
        let mut removes: Vec<&str> = Vec::new();
        let mut conditions = vec!["attribute_exists(#pk)"];
        let mut moves_to = None;
        match write {
            HoldWrite::Begin { hold, seen, to, cause, cordon } => {
                request = request
                    .expression_attribute_values(":hold", encode_value("hold", hold)?)
                    .expression_attribute_values(":token", s(&hold.action.token))
                    .expression_attribute_values(":seen", encode_value("state", &seen)?)
                    .expression_attribute_names("#state", "state");
                sets.push("#hold = :hold");
                conditions.push("#state = :seen");
                conditions.push("(attribute_not_exists(#hold) OR #hold.#action.#token <> :token)");
                if cordon {
                    request = request
                        .expression_attribute_names("#cordoned", "cordoned")
                        .expression_attribute_values(":true", AttributeValue::Bool(true));
                    sets.push("#cordoned = :true");
                }
                if let Some(cause) = cause {
                    request = request
                        .expression_attribute_names("#cause", "drainCause")
                        .expression_attribute_values(":cause", encode_value("drain cause", &cause)?);
                    sets.push("#cause = :cause");
                }
                if seen != to {
                    moves_to = Some(to);
                }
            }
            HoldWrite::KeptAlive { token } => {
                request = request
                    .expression_attribute_names("#kept", "keptAt")
                    .expression_attribute_names("#result", "result")
                    .expression_attribute_values(":token", s(token))
                    .expression_attribute_values(":now", rfc3339(now));
                sets.push("#hold.#kept = :now");
                conditions.extend([SAME_TOKEN, OPEN]);
            }
            HoldWrite::Claim { token, result, forced, to } => {
                request = request
                    .expression_attribute_names("#result", "result")
                    .expression_attribute_names("#forced", "forced")
                    .expression_attribute_names("#claimed", "claimedAt")
                    .expression_attribute_values(":token", s(token))
                    .expression_attribute_values(":result", encode_value("hook result", &result)?)
                    .expression_attribute_values(":forced", AttributeValue::Bool(forced))
                    .expression_attribute_values(":claimed", rfc3339(now));
                sets.extend([
                    "#hold.#result = :result",
                    "#hold.#forced = :forced",
                    "#hold.#claimed = :claimed",
                ]);
                conditions.extend([SAME_TOKEN, OPEN]);
                moves_to = to;
            }
            HoldWrite::Completed { token } => {
                request = request
                    .expression_attribute_names("#completed", "completedAt")
                    .expression_attribute_values(":token", s(token))
                    .expression_attribute_values(":now", rfc3339(now));
                sets.push("#hold.#completed = :now");
                conditions.push(SAME_TOKEN);
            }
            HoldWrite::Release { token } => {
                request = request.expression_attribute_values(":token", s(token));
                removes.push("#hold");
                conditions.push(SAME_TOKEN);
            }
        }
        if let Some(to) = moves_to {
            request = request
                .expression_attribute_names("#state", "state")
                .expression_attribute_names("#since", "stateSince")
                .expression_attribute_values(":to", encode_value("state", &to)?)
                .expression_attribute_values(":since", rfc3339(now));
            sets.extend(["#state = :to", "#since = :since"]);
        }
        let mut expression = String::new();
        if !sets.is_empty() {
            expression = format!("SET {}", sets.join(", "));
        }
        if !removes.is_empty() {
            expression = format!("{expression} REMOVE {}", removes.join(", ")).trim().to_owned();
        }
        request
            .update_expression(expression)
            .condition_expression(conditions.join(" AND "))
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", &self.table, e))?;
        Ok(())
    }
}
