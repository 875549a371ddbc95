//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::LazyLock;

use utoipa::openapi::schema::{AdditionalProperties, Object, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::{Modify, OpenApi};

use crate::routes::openapi::OpenApiJson;

#[derive(OpenApi)]
#[openapi(
    info(title = "streamfleet", description = "Serverless stream manager for live-streaming fleets."),
    modifiers(&AdminSecurity),
    tags(
        (name = "node groups", description = "Operators manage node groups: regions, launch settings, scale policies"),
        (name = "nodes", description = "The media nodes of a group: heartbeats, enrollment, cordon"),
        (name = "streams", description = "Where to publish or play a stream (public)"),
        (name = "scaler", description = "Scaling decisions and ticks on demand"),
        (name = "pool", description = "The simulated cloud's provision pool"),
        (name = "meta", description = "Health and this document"),
    )
)]
struct ApiDoc;

struct AdminSecurity;

impl Modify for AdminSecurity {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The deployment's admin token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "node",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A node's own token (sfn.…), or its group's enrollment key (sfe.…) to enroll",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole API's document.
pub fn api_doc() -> Document {
    let (_, paths) = crate::all_routes().split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    merge_flattened(&mut doc, "NodeGroupView");
    doc
}

/// A view that flattens a strict schema (`#[serde(flatten)]` of a spec that
/// denies unknown fields) is generated as `allOf: [spec, own fields]`, which
/// no answer can meet: the spec's `additionalProperties: false` refuses the
/// view's own fields. The view becomes one object of both property sets,
/// as strict as the spec.
fn merge_flattened(doc: &mut Document, view: &str) {
    let Some(components) = doc.components.as_mut() else { return };
    let Some(RefOr::T(Schema::AllOf(all))) = components.schemas.get(view).cloned() else { return };
    let mut merged = Object::new();
    for item in &all.items {
        let part = match item {
            RefOr::Ref(reference) => {
                let name = reference.ref_location.trim_start_matches("#/components/schemas/");
                match components.schemas.get(name) {
                    Some(RefOr::T(Schema::Object(object))) => object.clone(),
                    _ => return,
                }
            }
            RefOr::T(Schema::Object(object)) => object.clone(),
            _ => return,
        };
        merged.properties.extend(part.properties);
        merged.required.extend(part.required);
    }
    merged.schema_type = SchemaType::Type(Type::Object);
    merged.description = all.description.clone();
    merged.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
    components.schemas.insert(view.to_owned(), RefOr::T(Schema::Object(merged)));
}

static DOCUMENT_JSON: LazyLock<OpenApiJson> =
    LazyLock::new(|| OpenApiJson(api_doc().to_json().expect("the document serializes").into()));

pub(crate) fn document_json() -> OpenApiJson {
    DOCUMENT_JSON.clone()
}
