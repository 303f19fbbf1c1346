//! The API page (`GET /api`): the `OpenAPI` document of [`super::openapi`] rendered as HTML, for
//! people who read rather than generate clients. It reads only that document, never the route
//! table or the handlers, so the page shows exactly what `/api/v1/openapi.json` says. No
//! JavaScript, nothing fetched from elsewhere.

use std::sync::OnceLock;

use askama::Template;
use askama_web::WebTemplate;
use serde_json::Value;

use super::extract::Acting;
use super::nav::Nav;
use super::zone::Zone;

/// One operation as the page shows it.
pub struct OperationView {
    /// Fragment id, from the operation id.
    pub anchor: String,
    pub method: String,
    pub path: String,
    /// The path cut after each `/`, so a heading can wrap there at phone width.
    pub path_parts: Vec<String>,
    pub summary: String,
    pub description: Vec<Prose>,
    /// The role needed, or "public".
    pub role: String,
    pub parameters: Vec<ParameterView>,
    /// The request body's fields; empty when it takes no body.
    pub body: Vec<FieldView>,
    /// The body's shape name (links to its section).
    pub body_shape: String,
    pub responses: Vec<ResponseView>,
}

/// A run of description text: `code` (between backticks in the document) or plain.
pub struct Prose {
    pub code: bool,
    pub text: String,
}

/// The document's descriptions are Markdown; the page shows their code spans as code and
/// everything else as plain (escaped) text.
fn prose(markdown: &str) -> Vec<Prose> {
    markdown
        .split('`')
        .enumerate()
        .filter(|(_, text)| !text.is_empty())
        .map(|(i, text)| Prose {
            code: i % 2 == 1,
            text: text.to_owned(),
        })
        .collect()
}

/// A path, query or header parameter.
pub struct ParameterView {
    pub name: String,
    pub location: String,
    pub kind: TypeView,
    pub required: bool,
    pub description: String,
}

/// A field of a body or an answer.
pub struct FieldView {
    pub name: String,
    pub kind: TypeView,
    pub required: bool,
    pub description: String,
}

/// A type in words, and the shape it names (for a link), if any.
pub struct TypeView {
    pub text: String,
    pub shape: String,
}

/// One documented answer.
pub struct ResponseView {
    pub status: String,
    pub description: String,
    /// The body's shape name.
    pub shape: String,
    /// The error codes this status carries (empty for a success).
    pub codes: Vec<String>,
}

/// A named shape of `components/schemas`.
pub struct ShapeView {
    pub name: String,
    pub fields: Vec<FieldView>,
    pub description: String,
}

/// The page's content, read from the document once.
struct Contents {
    version: String,
    operations: Vec<OperationView>,
    shapes: Vec<ShapeView>,
}

/// Read from the document on the first request (there is only ever one document).
static CONTENTS: OnceLock<Contents> = OnceLock::new();

#[derive(Template, WebTemplate)]
#[template(path = "api_docs.html")]
pub struct ApiDocsPage {
    nav: Nav,
    version: &'static str,
    operations: &'static [OperationView],
    shapes: &'static [ShapeView],
}

/// `GET /api`: `document` is the served `OpenAPI` document; times in `zone`.
pub fn page(Acting(principal): Acting, zone: &Zone, document: &'static Value) -> ApiDocsPage {
    let contents = CONTENTS.get_or_init(|| contents(document));
    ApiDocsPage {
        nav: Nav::of(&principal, zone),
        version: &contents.version,
        operations: &contents.operations,
        shapes: &contents.shapes,
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn shape_name(reference: &Value) -> Option<String> {
    reference
        .as_str()?
        .strip_prefix("#/components/schemas/")
        .map(str::to_owned)
}

/// A schema in words: `string (date-time) or null`, `array of Event`, `one of open, closed`.
fn type_of(schema: &Value) -> TypeView {
    if let Some(name) = shape_name(&schema["$ref"]) {
        return TypeView {
            text: name.clone(),
            shape: name,
        };
    }
    let kinds: Vec<String> = match &schema["type"] {
        Value::String(kind) => vec![kind.clone()],
        Value::Array(kinds) => kinds.iter().map(text).collect(),
        _ => vec![],
    };
    let mut shape = String::new();
    let mut words: Vec<String> = kinds
        .iter()
        .map(|kind| match kind.as_str() {
            "array" => {
                let items = type_of(&schema["items"]);
                shape = items.shape;
                format!("array of {}", items.text)
            }
            "string" if schema["format"].is_string() => {
                format!("string ({})", text(&schema["format"]))
            }
            other => other.to_owned(),
        })
        .collect();
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(text).collect();
        let one_of = format!("one of {}", values.join(", "));
        match words.first_mut() {
            Some(first) => *first = one_of,
            None => words.push(one_of),
        }
    }
    let mut out = words.join(" or ");
    let bound = |key: &str| schema[key].as_u64();
    match (bound("minimum"), bound("maximum")) {
        (Some(min), Some(max)) => out = format!("{out}, {min} to {max}"),
        (Some(min), None) if min > 0 => out = format!("{out}, at least {min}"),
        _ => {}
    }
    if let Some(default) = schema.get("default") {
        let default = default
            .as_str()
            .map_or_else(|| default.to_string(), str::to_owned);
        out = format!("{out}, default {default}");
    }
    TypeView { text: out, shape }
}

fn fields(doc: &Value, schema: &Value) -> Vec<FieldView> {
    let schema =
        shape_name(&schema["$ref"]).map_or(schema, |name| &doc["components"]["schemas"][name]);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| FieldView {
                    name: name.clone(),
                    kind: type_of(property),
                    required: required.contains(&name.as_str()),
                    description: text(&property["description"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn json_schema(content: &Value) -> &Value {
    &content["content"]["application/json"]["schema"]
}

fn operation(doc: &Value, method: &str, path: &str, op: &Value) -> OperationView {
    let parameters = op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| ParameterView {
                    name: text(&p["name"]),
                    location: text(&p["in"]),
                    kind: type_of(&p["schema"]),
                    required: p["required"].as_bool().unwrap_or(false),
                    description: text(&p["description"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let body_schema = json_schema(&op["requestBody"]);
    let responses = op["responses"]
        .as_object()
        .map(|rs| {
            rs.iter()
                .map(|(status, response)| ResponseView {
                    status: status.clone(),
                    description: text(&response["description"]),
                    shape: shape_name(&json_schema(response)["$ref"]).unwrap_or_default(),
                    codes: response["x-error-codes"]
                        .as_array()
                        .map(|c| c.iter().map(text).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    OperationView {
        anchor: text(&op["operationId"]),
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        path_parts: path.split_inclusive('/').map(str::to_owned).collect(),
        summary: text(&op["summary"]),
        description: prose(&text(&op["description"])),
        role: op["x-required-role"]
            .as_str()
            .unwrap_or("public (no token)")
            .to_owned(),
        parameters,
        body: fields(doc, body_schema),
        body_shape: shape_name(&body_schema["$ref"]).unwrap_or_default(),
        responses,
    }
}

fn contents(doc: &Value) -> Contents {
    let mut operations = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                operations.push(operation(doc, method, path, op));
            }
        }
    }
    let shapes = doc["components"]["schemas"]
        .as_object()
        .map(|schemas| {
            schemas
                .iter()
                .map(|(name, schema)| ShapeView {
                    name: name.clone(),
                    fields: fields(doc, schema),
                    description: text(&schema["description"]),
                })
                .collect()
        })
        .unwrap_or_default();
    Contents {
        version: text(&doc["openapi"]),
        operations,
        shapes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_the_document_is_on_the_page() {
        let doc = crate::web::routes::document();
        let contents = contents(doc);
        let count: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(contents.operations.len(), count);
        let enroll = contents
            .operations
            .iter()
            .find(|o| o.anchor == "enroll")
            .unwrap();
        assert_eq!(enroll.role, "staff");
        assert!(
            enroll
                .body
                .iter()
                .any(|f| f.name == "learner" && f.required)
        );
        assert!(enroll.parameters.iter().any(|p| p.name == "If-Match"));
        assert!(
            enroll
                .responses
                .iter()
                .any(|r| r.status == "422" && r.codes.iter().any(|c| c == "already_enrolled"))
        );
    }

    #[test]
    fn code_spans_become_code() {
        let spans: Vec<(bool, String)> = prose("Needs the `staff` role.")
            .into_iter()
            .map(|p| (p.code, p.text))
            .collect();
        assert_eq!(
            spans,
            [
                (false, "Needs the ".to_owned()),
                (true, "staff".to_owned()),
                (false, " role.".to_owned())
            ]
        );
    }

    #[test]
    fn types_read_as_words() {
        let t = type_of(&serde_json::json!({"type": ["string", "null"], "format": "date-time"}));
        assert_eq!(t.text, "string (date-time) or null");
        let t = type_of(
            &serde_json::json!({"type": "array", "items": {"$ref": "#/components/schemas/Event"}}),
        );
        assert_eq!(
            (t.text.as_str(), t.shape.as_str()),
            ("array of Event", "Event")
        );
        let t = type_of(&serde_json::json!({"type": "string", "enum": ["open", "closed"]}));
        assert_eq!(t.text, "one of open, closed");
    }
}
