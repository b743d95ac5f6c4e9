//! Integration tests for the providers: every remote provider against a wiremock server
//! answering with the real APIs' documented payloads, the local provider on a fixture tree.

// The documented payloads are large `json!` literals.
#![recursion_limit = "256"]

mod aggregators;
mod bitbucket;
mod config;
mod forge_support;
mod gitea;
mod github;
mod gitlab;
mod helpers;
mod http;
mod local;
mod registries;
