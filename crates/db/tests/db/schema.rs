//! Schema drift: `crates/db/src/schema.rs` must be what `diesel print-schema` (with
//! diesel.toml's patch) prints for a database the migrations just built.
//!
//! diesel_cli needs libpq and a separate install, so this renders the same text from the
//! catalog itself, following print-schema's layout: tables by name with their primary key,
//! columns in table order as diesel's SQL types (`Nullable<…>` unless NOT NULL, arrays as
//! `Array<Nullable<…>>`), one `joinable!` per single-column foreign key, then every table
//! in `allow_tables_to_appear_in_same_query!`. diesel.toml's `patch_file` is applied with
//! diffy, the library diesel_cli applies it with. A type this does not know fails the test
//! by name: teach `sql_type` or regenerate schema.rs with diesel_cli and compare.
//!
//! `just schema-check` (part of `just lint`) runs this test alone.

use std::fmt::Write;

use diesel::{
    QueryableByName,
    sql_types::{Bool, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use wump_db::test_support::TestDatabase;

const SCHEMA_RS: &str = include_str!("../../src/schema.rs");
const SCHEMA_PATCH: &str = include_str!("../../src/schema.patch");

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    udt_name: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName)]
struct KeyColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[derive(QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// diesel's SQL type for a PostgreSQL type name (`udt_name`; arrays start with `_`).
fn sql_type(udt_name: &str) -> Result<String, String> {
    if let Some(element) = udt_name.strip_prefix('_') {
        return Ok(format!("Array<Nullable<{}>>", sql_type(element)?));
    }
    let name = match udt_name {
        "bool" => "Bool",
        "bytea" => "Bytea",
        "date" => "Date",
        "float4" => "Float4",
        "float8" => "Float8",
        "int2" => "Int2",
        "int4" => "Int4",
        "int8" => "Int8",
        "jsonb" => "Jsonb",
        "json" => "Json",
        "numeric" => "Numeric",
        "text" => "Text",
        "timestamp" => "Timestamp",
        "timestamptz" => "Timestamptz",
        "uuid" => "Uuid",
        "varchar" => "Varchar",
        other => return Err(other.to_owned()),
    };
    Ok(name.to_owned())
}

/// What `diesel print-schema` prints for the database behind `conn` (before the patch).
async fn print_schema(conn: &mut AsyncPgConnection) -> String {
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT c.table_name::text, c.column_name::text, c.udt_name::text,
                c.is_nullable = 'YES' AS nullable
           FROM information_schema.columns c
           JOIN information_schema.tables t
             ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
            AND c.table_name NOT LIKE '\\_\\_diesel%'
          ORDER BY c.table_name, c.ordinal_position",
    )
    .load(conn)
    .await
    .unwrap();
    let keys: Vec<KeyColumn> = diesel::sql_query(
        "SELECT k.table_name::text, k.column_name::text
           FROM information_schema.table_constraints tc
           JOIN information_schema.key_column_usage k
             ON k.constraint_schema = tc.constraint_schema
            AND k.constraint_name = tc.constraint_name
          WHERE tc.table_schema = 'public' AND tc.constraint_type = 'PRIMARY KEY'
          ORDER BY k.table_name, k.ordinal_position",
    )
    .load(conn)
    .await
    .unwrap();
    let foreign_keys: Vec<ForeignKey> = diesel::sql_query(
        "SELECT child.relname::text AS child, parent.relname::text AS parent,
                a.attname::text AS column_name
           FROM pg_constraint c
           JOIN pg_class child ON child.oid = c.conrelid
           JOIN pg_class parent ON parent.oid = c.confrelid
           JOIN pg_namespace n ON n.oid = child.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
          WHERE c.contype = 'f' AND n.nspname = 'public' AND cardinality(c.conkey) = 1
          ORDER BY child.relname, parent.relname",
    )
    .load(conn)
    .await
    .unwrap();

    let mut tables: Vec<&str> = columns.iter().map(|c| c.table_name.as_str()).collect();
    tables.dedup();
    let mut out = String::from("// @generated automatically by Diesel CLI.\n");
    let mut unknown = Vec::new();
    for table in &tables {
        let key: Vec<&str> = keys
            .iter()
            .filter(|k| k.table_name == *table)
            .map(|k| k.column_name.as_str())
            .collect();
        write!(
            out,
            "\ndiesel::table! {{\n    {table} ({}) {{\n",
            key.join(", ")
        )
        .unwrap();
        for column in columns.iter().filter(|c| c.table_name == *table) {
            let ty = sql_type(&column.udt_name).unwrap_or_else(|name| {
                unknown.push(format!("{table}.{}: {name}", column.column_name));
                name
            });
            let ty = if column.nullable {
                format!("Nullable<{ty}>")
            } else {
                ty
            };
            writeln!(out, "        {} -> {ty},", column.column_name).unwrap();
        }
        out.push_str("    }\n}\n");
    }
    assert!(
        unknown.is_empty(),
        "column types this check cannot render: {unknown:?}"
    );
    if !foreign_keys.is_empty() {
        out.push('\n');
    }
    for fk in &foreign_keys {
        writeln!(
            out,
            "diesel::joinable!({} -> {} ({}));",
            fk.child, fk.parent, fk.column_name
        )
        .unwrap();
    }
    out.push_str("\ndiesel::allow_tables_to_appear_in_same_query!(\n");
    for table in &tables {
        writeln!(out, "    {table},").unwrap();
    }
    out.push_str(");\n");
    out
}

/// The lines where `expected` and `actual` differ, numbered, for the failure message.
fn differences(expected: &str, actual: &str) -> String {
    diffy::create_patch(expected, actual).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_rs_matches_what_the_migrations_create() {
    let db = TestDatabase::new().await;
    let mut conn = db.connection().await;
    let printed = print_schema(&mut conn).await;
    let patch = diffy::Patch::from_str(SCHEMA_PATCH).expect("crates/db/src/schema.patch parses");
    let expected = diffy::apply(&printed, &patch).unwrap_or_else(|e| {
        panic!("crates/db/src/schema.patch no longer applies ({e}); what print-schema prints:\n{printed}")
    });
    assert!(
        expected == SCHEMA_RS,
        "crates/db/src/schema.rs has drifted from the migrations: regenerate it with \
         `diesel print-schema` (diesel.toml) or apply this diff (- schema.rs, + migrations):\n{}",
        differences(SCHEMA_RS, &expected)
    );
}
