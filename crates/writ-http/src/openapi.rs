//! The OpenAPI documents. Each service's routes are collected from its registration (never listed
//! by hand); every document then gets the same security schemes, and an example on every request
//! and response body, built from the schemas' own examples. [`gaps`] lists what an operation
//! lacks, so a test can hold every operation to the bar: a summary, its security (scopes for bearer
//! routes), its error answers, and examples.

use serde_json::{Map, Value, json};
use utoipa::openapi::InfoBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers a service's documented routes.
pub type Register = fn(&mut ServiceConfig);

/// The API reference page: plain HTML and JavaScript that read the served documents, with nothing
/// fetched from elsewhere (at build time or in the browser).
const DOCS_PAGE: &str = include_str!("assets/docs.html");

/// Serves `doc` at `/openapi/{name}.json`, and the reference page at `/docs`.
pub fn serve(cfg: &mut actix_web::web::ServiceConfig, name: &'static str, doc: fn() -> Value) {
    use actix_web::{HttpResponse, web};
    // Built once per process, not once per worker and app.
    static BUILT: std::sync::Mutex<Vec<(&str, web::Bytes)>> = std::sync::Mutex::new(Vec::new());
    let json = {
        let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
        match built.iter().find(|(n, _)| *n == name) {
            Some((_, json)) => json.clone(),
            None => {
                let json = web::Bytes::from(serde_json::to_vec(&doc()).unwrap_or_default());
                built.push((name, json.clone()));
                json
            }
        }
    };
    cfg.service(web::resource(format!("/openapi/{name}.json")).guard(actix_web::guard::Get()).to(
        move || {
            let json = json.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .insert_header(("Cache-Control", "public, max-age=300"))
                    .insert_header(("Access-Control-Allow-Origin", "*"))
                    .body(json)
            }
        },
    ))
    .service(web::resource("/docs").guard(actix_web::guard::Get()).to(|| async {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((
                "Content-Security-Policy",
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            ))
            .body(DOCS_PAGE)
    }));
}

/// Each path of `doc` with the methods it has, as `Allow` lists them (`HEAD` wherever `GET` is).
pub(crate) fn allowed_methods(doc: &Value) -> Vec<(String, String)> {
    let Some(paths) = doc["paths"].as_object() else { return Vec::new() };
    paths
        .iter()
        .map(|(path, item)| {
            let mut allow: Vec<String> =
                METHODS.iter().filter(|m| item.get(**m).is_some()).map(|m| m.to_uppercase()).collect();
            if item.get("get").is_some() {
                allow.push("HEAD".into());
            }
            (path.clone(), allow.join(", "))
        })
        .collect()
}

/// The document of the routes `register` adds, with examples filled in.
pub fn document(register: Register, title: &str, description: &str) -> Value {
    let (_, mut api) = actix_web::App::new().into_utoipa_app().configure(register).split_for_parts();
    api.info = InfoBuilder::new()
        .title(title)
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(description))
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    components.add_security_scheme(
        "client_basic",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Basic)
                .description(Some("client_secret_basic: the client id and secret (RFC 6749 §2.3.1)"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "registration_bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An initial access token (RFC 7591 §3) or a registration access token (RFC 7592)",
                ))
                .build(),
        ),
    );
    let mut doc = serde_json::to_value(&api).unwrap_or_default();
    add_bearer_refusals(&mut doc);
    add_input_refusals(&mut doc);
    add_examples(&mut doc);
    optional_parameters_are_not_null(&mut doc);
    doc
}

/// An optional parameter is absent, never `null`: `Option<String>` parameters are plain strings
/// that need not be sent (generators otherwise make them doubly optional).
fn optional_parameters_are_not_null(doc: &mut Value) {
    for_each_operation(doc, |_, op| {
        for p in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(Value::Array(types)) = p.pointer_mut("/schema/type") {
                types.retain(|t| t != "null");
                if let [one] = types.as_slice() {
                    let one = one.clone();
                    p["schema"]["type"] = one;
                }
            }
        }
    });
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Calls `f` with the method and the body of every operation of `doc`.
pub fn for_each_operation(doc: &mut Value, mut f: impl FnMut(&str, &mut Value)) {
    for item in doc["paths"].as_object_mut().into_iter().flat_map(|p| p.values_mut()) {
        for method in METHODS {
            if let Some(op) = item.get_mut(method) {
                f(method, op);
            }
        }
    }
}

/// Every operation of `doc`: (method, path, operation).
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method, path.as_str(), op));
            }
        }
    }
    out
}

/// Every bearer route can answer `401` (no token, or a bad, expired or revoked one) and `403` (a
/// token without the route's scope) in the same way, so the document says so for each of them
/// here; a route with more to say about a `403` declares its own.
fn add_bearer_refusals(doc: &mut Value) {
    let problem = |status: u16, title: &str, code: &str, detail: &str| {
        json!({
            "schema": {"$ref": "#/components/schemas/Problem"},
            "example": {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code}
        })
    };
    for_each_operation(doc, |_, op| {
        let scope = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|r| r.get("bearer")?.as_array()?.first()?.as_str().map(str::to_owned));
        let Some(scope) = scope else { return };
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { return };
        responses.entry("401").or_insert_with(|| json!({
            "description": "No bearer token, or one that is malformed, expired, revoked or for another audience",
            "content": {"application/problem+json": problem(401, "Unauthorized", "unauthorized", "the token was revoked")}
        }));
        responses.entry("403").or_insert_with(|| json!({
            "description": "The token lacks the scope this operation requires",
            "content": {"application/problem+json": problem(403, "Forbidden", "insufficient_scope", &format!("this call requires the scope {scope}"))}
        }));
    });
}

/// What every problem+json route answers for input it cannot read, so the document says so for
/// each of them here: `400` for a malformed query, path or JSON body, `422` for a value out of its
/// rules; with a body, `413` past 64 KiB and `415` for anything but JSON.
fn add_input_refusals(doc: &mut Value) {
    let problem = |description: &str| {
        json!({
            "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        })
    };
    for_each_operation(doc, |_, op| {
        let bearer = op["security"].as_array().into_iter().flatten().any(|r| r.get("bearer").is_some());
        let takes_parameters = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
        let takes_body = op.get("requestBody").is_some();
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { return };
        if !bearer || !(takes_parameters || takes_body) {
            return;
        }
        responses.entry("400").or_insert_with(|| {
            problem("`invalid_query`, `malformed_json` or `bad_request`: a query, path or body that cannot be read")
        });
        responses
            .entry("422")
            .or_insert_with(|| problem("`validation_failed`: a value breaks its rules; `field` names it"));
        if takes_body {
            responses.entry("413").or_insert_with(|| problem("`payload_too_large`: the body exceeds 64 KiB"));
            responses
                .entry("415")
                .or_insert_with(|| problem("`unsupported_media_type`: the body is not `application/json`"));
        }
    });
}

/// Gives every request and response body without an example the one its schema implies; a
/// problem+json error answer gets a problem of its own status, with the code its description names
/// (`` `operator_protected` ``) or the first code of that status, and the description as `detail`.
fn add_examples(doc: &mut Value) {
    let components = doc["components"]["schemas"].clone();
    for_each_operation(doc, |_, op| {
        let Some(op) = op.as_object_mut() else { return };
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            for (status, response) in responses.iter_mut() {
                let Ok(status) = status.parse::<u16>() else { continue };
                let description = response["description"].as_str().unwrap_or_default().to_owned();
                let problem = response.get_mut("content").and_then(|c| c.get_mut(crate::error::PROBLEM_JSON));
                if let Some(problem) = problem.filter(|p| p.get("example").is_none())
                    && let Some(example) = problem_example(status, &description)
                {
                    problem["example"] = example;
                }
            }
        }
        let mut bodies: Vec<&mut Value> = Vec::new();
        for (part, value) in op.iter_mut() {
            let contents: Vec<&mut Value> = match part.as_str() {
                "requestBody" => vec![value],
                "responses" => value.as_object_mut().into_iter().flat_map(|r| r.values_mut()).collect(),
                _ => continue,
            };
            for holder in contents {
                if let Some(content) = holder.get_mut("content").and_then(Value::as_object_mut) {
                    bodies.extend(content.values_mut());
                }
            }
        }
        for media in bodies {
            if media.get("example").is_none()
                && let Some(example) = example_of(&media["schema"], &components, 0)
            {
                media["example"] = example;
            }
        }
    });
}

/// The problem an error answer of `status` described as `description` would carry.
fn problem_example(status: u16, description: &str) -> Option<Value> {
    let mut of_status = writ_app::ErrorCode::ALL.iter().filter(|c| c.status() == status);
    let named = of_status.clone().find(|c| description.contains(&format!("`{}`", c.as_str())));
    let code = named.or_else(|| of_status.next())?;
    Some(json!({
        "type": "about:blank", "title": code.title(), "status": status, "detail": description, "code": code.as_str()
    }))
}

/// An example for `schema`: its own, its referent's, or one assembled from its parts. `None` when
/// a required part has none.
fn example_of(schema: &Value, components: &Value, depth: u8) -> Option<Value> {
    if depth > 8 {
        return None;
    }
    if let Some(example) = schema.get("example") {
        return Some(example.clone());
    }
    if let Some(examples) = schema.get("examples").and_then(Value::as_array).and_then(|e| e.first()) {
        return Some(examples.clone());
    }
    if let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()) {
        return example_of(&components[name], components, depth + 1);
    }
    if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
        return variants.iter().find_map(|v| example_of(v, components, depth + 1));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"array") {
        let item = example_of(&schema["items"], components, depth + 1);
        return Some(Value::Array(item.into_iter().collect()));
    }
    if types.contains(&"object") {
        let required: Vec<&str> =
            schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let mut out = Map::new();
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            match example_of(property, components, depth + 1) {
                Some(v) => {
                    out.insert(name.clone(), v);
                }
                None if required.contains(&name.as_str()) => return None,
                None => {}
            }
        }
        return Some(Value::Object(out));
    }
    types.contains(&"null").then_some(Value::Null)
}

/// What each operation of `doc` lacks: a one-line summary, a security declaration (bearer routes naming
/// their scope), an error answer, an example on each body.
pub fn gaps(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (method, path, op) in operations(doc) {
        let at = format!("{} {path}", method.to_uppercase());
        match op["summary"].as_str() {
            None | Some("") => out.push(format!("{at}: no summary")),
            // utoipa takes the doc comment's first paragraph: a paragraph above the title would
            // become the summary.
            Some(s) if s.contains('\n') || s.len() > 80 => {
                out.push(format!("{at}: the summary is not one short line"))
            }
            Some(_) => {}
        }
        match op["security"].as_array() {
            None => out.push(format!("{at}: no security declared (use `security(())` for public routes)")),
            Some(reqs) => {
                for req in reqs {
                    if req.get("bearer").and_then(Value::as_array).is_some_and(Vec::is_empty) {
                        out.push(format!("{at}: a bearer route must name its scope"));
                    }
                }
            }
        }
        let responses = op["responses"].as_object();
        let has_error = responses.is_some_and(|r| r.keys().any(|code| code.starts_with('4')));
        let public_read = method == "get" && op["security"] == json!([{}]);
        if !has_error && !public_read {
            out.push(format!("{at}: no error answers"));
        }
        let mut bodies: Vec<(String, &Value)> = Vec::new();
        for (ct, media) in op["requestBody"]["content"].as_object().into_iter().flatten() {
            bodies.push((format!("request {ct}"), media));
        }
        for (code, response) in responses.into_iter().flatten() {
            for (ct, media) in response["content"].as_object().into_iter().flatten() {
                bodies.push((format!("{code} {ct}"), media));
            }
        }
        for (what, media) in bodies {
            if media.get("example").is_none() {
                out.push(format!("{at}: no example for {what}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_are_assembled_from_parts_and_refs() {
        let components = json!({
            "Item": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string", "example": "x_1"},
                "note": {"type": ["string", "null"]},
                "free": {"type": "string"}
            }},
            "Bare": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
        });
        let list = json!({"type": "object", "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
            "next_cursor": {"type": ["string", "null"]}
        }});
        assert_eq!(
            example_of(&list, &components, 0),
            Some(json!({"data": [{"id": "x_1", "note": null}], "next_cursor": null}))
        );
        assert_eq!(example_of(&json!({"$ref": "#/components/schemas/Bare"}), &components, 0), None);
    }

    #[test]
    fn bearer_routes_get_their_refusals_unless_they_say_more() {
        let mut doc = json!({"paths": {"/x": {
            "get": {"security": [{"bearer": ["x:read"]}], "responses": {"200": {}}},
            "post": {"security": [{"bearer": ["x:write"]}], "responses": {"403": {"description": "own"}}},
            "put": {"security": [{}], "responses": {"200": {}}}
        }}});
        add_bearer_refusals(&mut doc);
        let x = &doc["paths"]["/x"];
        let example = |m: &str, code: &str| {
            x[m]["responses"][code]["content"]["application/problem+json"]["example"].clone()
        };
        assert_eq!(example("get", "401")["code"], "unauthorized");
        assert_eq!(example("get", "403")["detail"], "this call requires the scope x:read");
        assert_eq!(x["post"]["responses"]["403"]["description"], "own");
        assert!(x["put"]["responses"].get("401").is_none(), "public routes are left alone");
    }

    #[test]
    fn gaps_name_what_is_missing() {
        let doc = json!({"paths": {"/x": {"post": {
            "summary": "",
            "security": [{"bearer": []}],
            "requestBody": {"content": {"application/json": {"schema": {}}}},
            "responses": {"200": {"description": "ok"}}
        }}}});
        let gaps = gaps(&doc);
        assert_eq!(gaps.len(), 4, "{gaps:?}");
        assert!(gaps.iter().any(|g| g.contains("no summary")));
        let two_lines = json!({"paths": {"/y": {"get": {
            "summary": "A paragraph before\nthe title", "security": [], "responses": {"400": {"description": "x"}}
        }}}});
        assert_eq!(super::gaps(&two_lines), ["GET /y: the summary is not one short line"]);
        assert!(gaps.iter().any(|g| g.contains("name its scope")));
        assert!(gaps.iter().any(|g| g.contains("no error answers")));
        assert!(gaps.iter().any(|g| g.contains("no example for request")));
    }
}
