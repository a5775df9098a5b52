//! Generates the clients from the committed OpenAPI documents (`openapi/*.json`). Writ publishes
//! OpenAPI 3.1; progenitor reads 3.0, so each document is first rewritten to the 3.0 dialect it
//! understands: nullable type arrays, `{"type": "null"}`, `const`, numeric exclusive bounds, and
//! problem+json answers read as JSON.

use std::path::Path;

use serde_json::{Value, json};

fn main() {
    let out = std::env::var("OUT_DIR").unwrap_or_default();
    for name in ["admin", "issuer"] {
        let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../openapi/{name}.json"));
        println!("cargo:rerun-if-changed={}", spec.display());
        let text = std::fs::read_to_string(&spec).unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
        let mut doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        to_openapi_30(&mut doc);
        let doc: openapiv3::OpenAPI = serde_json::from_value(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut settings = progenitor::GenerationSettings::default();
        settings.with_interface(progenitor::InterfaceStyle::Builder);
        let tokens = progenitor::Generator::new(&settings)
            .generate_tokens(&doc)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let file = syn::parse2(tokens).unwrap_or_else(|e| panic!("{name}: {e}"));
        std::fs::write(Path::new(&out).join(format!("{name}.rs")), prettyplease::unparse(&file))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

fn to_openapi_30(doc: &mut Value) {
    doc["openapi"] = json!("3.0.3");
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.values_mut().for_each(schema);
    }
    for item in doc["paths"].as_object_mut().into_iter().flat_map(|p| p.values_mut()) {
        for op in item.as_object_mut().into_iter().flat_map(|i| i.values_mut()) {
            for p in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                if let Some(s) = p.get_mut("schema") {
                    schema(s);
                }
            }
            if let Some(content) = op.pointer_mut("/requestBody/content") {
                media(content);
            }
            for r in op
                .get_mut("responses")
                .and_then(Value::as_object_mut)
                .into_iter()
                .flat_map(|r| r.values_mut())
            {
                if let Some(content) = r.get_mut("content") {
                    media(content);
                }
            }
        }
    }
}

fn media(content: &mut Value) {
    let Some(map) = content.as_object_mut() else { return };
    if let Some(problem) = map.remove("application/problem+json") {
        map.insert("application/json".into(), problem);
    }
    for m in map.values_mut() {
        if let Some(s) = m.get_mut("schema") {
            schema(s);
        }
    }
}

fn schema(s: &mut Value) {
    let Some(obj) = s.as_object_mut() else { return };
    obj.remove("examples");
    if let Some(Value::Array(types)) = obj.get("type").cloned() {
        let nullable = types.iter().any(|t| t == "null");
        let rest: Vec<Value> = types.into_iter().filter(|t| t != "null").collect();
        match rest.as_slice() {
            [one] => {
                obj.insert("type".into(), one.clone());
            }
            _ => {
                obj.remove("type");
            }
        }
        if nullable {
            obj.insert("nullable".into(), json!(true));
        }
    }
    if obj.get("type") == Some(&json!("null")) {
        obj.remove("type");
        obj.insert("enum".into(), json!([null]));
    }
    if let Some(c) = obj.remove("const") {
        obj.insert("enum".into(), json!([c]));
    }
    for (bound, plain) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(n) = obj.get(bound).filter(|v| v.is_number()).cloned() {
            obj.insert(plain.into(), n);
            obj.insert(bound.into(), json!(true));
        }
    }
    // `oneOf: [{"type": "null"}, X]` (an optional reference) becomes a nullable X.
    if let Some(Value::Array(variants)) = obj.get("oneOf").cloned()
        && variants.len() == 2
        && let Some(null_at) = variants.iter().position(|v| v.get("type") == Some(&json!("null")))
    {
        let other = variants[1 - null_at].clone();
        obj.remove("oneOf");
        obj.insert("allOf".into(), json!([other]));
        obj.insert("nullable".into(), json!(true));
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(v) = obj.get_mut(key) {
            schema(v);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        obj.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten().for_each(schema);
    }
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        props.values_mut().for_each(schema);
    }
}
