//! `wump-worker parse`: the JSON contract, exit statuses and that it needs no configuration.

use std::{
    fs,
    path::Path,
    process::{Command, Output},
};

use serde_json::{Value, json};

const PACKAGE_JSON: &str = r#"{
  "name": "demo",
  "dependencies": { "react": "^18.2.0", "utils": "file:../utils" },
  "devDependencies": { "jest": "29.7.0" },
  "funding": "https://github.com/sponsors/demo"
}"#;

/// Files the tests read, written to a fresh directory that is the command's working directory.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, content: &str| fs::write(dir.path().join(name), content).unwrap();
    write("package.json", PACKAGE_JSON);
    write("Cargo.toml", "[package\nname = \"broken\"\n");
    write("notes.txt", "not a manifest\n");
    write(
        "deps.json",
        r#"{ "dependencies": { "left-pad": "1.3.0" } }"#,
    );
    dir
}

/// Runs the binary in `dir` with configuration that would make loading settings fail, so a
/// passing test also shows that `parse` never loads them.
fn wump_worker(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wump-worker"))
        .current_dir(dir)
        .env("WUMP__API__BIND", "not-an-address")
        .env("WUMP__NOT_A_SECTION__KEY", "x")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
        .args(args)
        .output()
        .unwrap()
}

fn json_of(output: &Output) -> Vec<Value> {
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    serde_json::from_str::<Value>(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"))
        .as_array()
        .expect("a JSON array")
        .clone()
}

fn assert_keys(object: &Value, keys: &[&str]) {
    let mut got: Vec<&str> = object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    got.sort_unstable();
    let mut want = keys.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{object}");
}

#[test]
fn a_good_manifest_prints_every_field_and_exits_0() {
    let dir = workspace();
    let output = wump_worker(dir.path(), &["parse", "--json", "package.json"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let files = json_of(&output);
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_keys(
        file,
        &[
            "path",
            "ecosystem",
            "format",
            "dependencies",
            "funding",
            "error",
        ],
    );
    assert_eq!(file["path"], "package.json");
    assert_eq!(file["ecosystem"], "npm");
    assert_eq!(file["format"], "package.json");
    assert_eq!(file["error"], Value::Null);
    for dep in file["dependencies"].as_array().unwrap() {
        assert_keys(
            dep,
            &[
                "name",
                "normalized_name",
                "requirement",
                "kind",
                "resolved_version",
                "direct",
                "local",
                "replaces",
            ],
        );
    }
    let find = |name: &str| {
        file["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {file}"))
            .clone()
    };
    assert_eq!(
        find("react"),
        json!({
            "name": "react", "normalized_name": "react", "requirement": "^18.2.0",
            "kind": "runtime", "resolved_version": null, "direct": null, "local": false,
            "replaces": null
        })
    );
    assert_eq!(find("jest")["kind"], "development");
    assert_eq!(find("jest")["requirement"], "29.7.0");
    assert_eq!(find("utils")["local"], true);
    assert_eq!(file["dependencies"].as_array().unwrap().len(), 3);
    assert_eq!(
        file["funding"],
        json!([{ "platform": "github", "url": "https://github.com/sponsors/demo" }])
    );
}

#[test]
fn failures_are_entries_in_order_the_rest_still_print_and_exit_1() {
    let dir = workspace();
    let output = wump_worker(
        dir.path(),
        &[
            "parse",
            "--json",
            "Cargo.toml",
            "package.json",
            "notes.txt",
            "missing/go.mod",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let files = json_of(&output);
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        ["Cargo.toml", "package.json", "notes.txt", "missing/go.mod"]
    );

    let cargo = &files[0];
    assert_eq!(cargo["ecosystem"], "cargo");
    assert_eq!(cargo["format"], "Cargo.toml");
    assert_eq!(cargo["dependencies"], json!([]));
    let error = cargo["error"].as_str().unwrap();
    assert!(error.contains("malformed Cargo.toml"), "{error}");

    assert_eq!(files[1]["error"], Value::Null);
    assert_eq!(files[1]["dependencies"].as_array().unwrap().len(), 3);

    let unknown = &files[2];
    assert_eq!(unknown["ecosystem"], Value::Null);
    assert_eq!(unknown["format"], Value::Null);
    assert!(
        unknown["error"]
            .as_str()
            .unwrap()
            .contains("matches no format")
    );

    let missing = &files[3];
    assert_eq!(missing["format"], "go.mod");
    assert!(
        missing["error"]
            .as_str()
            .unwrap()
            .contains("cannot read the file")
    );
    for file in &files {
        assert_keys(
            file,
            &[
                "path",
                "ecosystem",
                "format",
                "dependencies",
                "funding",
                "error",
            ],
        );
    }
}

#[test]
fn a_forced_format_reads_a_file_of_another_name() {
    let dir = workspace();
    let output = wump_worker(
        dir.path(),
        &["parse", "--json", "--format", "package.json", "deps.json"],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let files = json_of(&output);
    assert_eq!(files[0]["path"], "deps.json");
    assert_eq!(files[0]["format"], "package.json");
    assert_eq!(files[0]["ecosystem"], "npm");
    assert_eq!(files[0]["dependencies"][0]["name"], "left-pad");
    assert_eq!(files[0]["dependencies"][0]["requirement"], "1.3.0");
}

#[test]
fn usage_errors_exit_2() {
    let dir = workspace();
    for args in [
        &["parse", "--format", "package.jsn", "deps.json"][..],
        &["parse", "--json"],
        &["parse", "--no-such-flag", "package.json"],
    ] {
        let output = wump_worker(dir.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    let output = wump_worker(dir.path(), &["parse", "--format", "nope", "deps.json"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown format `nope`"), "{stderr}");
}

#[test]
fn text_output_prints_blocks_and_names_failed_files_on_stderr() {
    let dir = workspace();
    let output = wump_worker(dir.path(), &["parse", "package.json", "Cargo.toml"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stdout.starts_with("package.json\n"), "{stdout}");
    assert!(stdout.contains("ecosystem: npm"), "{stdout}");
    assert!(stdout.contains("^18.2.0"), "{stdout}");
    assert!(
        stdout.contains("https://github.com/sponsors/demo"),
        "{stdout}"
    );
    assert!(!stdout.contains("Cargo.toml"), "{stdout}");
    assert!(
        stderr.starts_with("error: Cargo.toml: malformed Cargo.toml"),
        "{stderr}"
    );
}
