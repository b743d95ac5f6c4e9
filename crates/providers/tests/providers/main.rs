//! Integration tests for the providers: every remote provider against a wiremock server
//! answering with the real APIs' documented payloads, the local provider on a fixture tree.

mod local;
