// Every model attribute, with nothing imported: the expansion names everything by its full path.

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Amount {
    value: String,
    currency: String,
}

#[derive(hamstr::Model, serde::Deserialize)]
#[hamstr(name = "payments")]
struct Payment {
    #[hamstr(primary_key)]
    id: String,
    #[hamstr(primary_key)]
    line: u32,
    #[serde(rename = "createdAt")]
    created_at: chrono::DateTime<chrono::Utc>,
    paid_on: Option<chrono::NaiveDate>,
    amount: Amount,
    refunds: Vec<Amount>,
    #[hamstr(rename = "note")]
    description: Option<String>,
    metadata: serde_json::Value,
    is_test: bool,
    fee: f64,
    #[hamstr(skip)]
    #[serde(default)]
    _local: u8,
}

/// A field named `id` is the key when none is marked.
#[derive(hamstr::Model, serde::Deserialize)]
struct Customer {
    id: i64,
    name: String,
}

fn main() {
    let schema = <Payment as hamstr::Model>::schema();
    assert_eq!(schema.name(), "payments");
    let columns: Vec<(&str, &str, bool)> = schema
        .fields()
        .iter()
        .map(|field| (field.name(), field.field_type().as_str(), field.is_nullable()))
        .collect();
    assert_eq!(
        columns,
        [
            ("id", "string", false),
            ("line", "integer", false),
            ("created_at", "datetime", false),
            ("paid_on", "date", true),
            ("amount", "json", false),
            ("refunds", "json", false),
            ("note", "string", true),
            ("metadata", "json", true),
            ("is_test", "bool", false),
            ("fee", "float", false),
        ]
    );
    let key: Vec<&str> = schema.primary_key().map(|field| field.name()).collect();
    assert_eq!(key, ["id", "line"]);
    let customers = <Customer as hamstr::Model>::schema();
    assert_eq!(customers.name(), "customer");
    assert_eq!(customers.primary_key().next().unwrap().name(), "id");
}
