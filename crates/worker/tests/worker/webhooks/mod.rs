//! Webhooks end to end: edges written by the edge writer record events, dispatch matches
//! them against subscriptions, deliver jobs on a real queue POST them to a real HTTP
//! receiver (wiremock), and the receiver checks every signature with `standardwebhooks`,
//! the Standard Webhooks specification's own library — not our code.

mod delivery;
mod failures;

use std::{collections::BTreeSet, time::Duration};

use diesel_async::RunQueryDsl;
use secrecy::SecretString;
use uuid::Uuid;
use wump_core::{
    DependencyKind, Ecosystem, EventKind, OrganizationKind,
    jobs::{DispatchJob, Priority},
    settings::WebhookSettings,
    webhooks::{SecretCipher, SigningSecret},
};
use wump_db::{
    edges::{self, EdgeInput},
    queue::Queues,
    tables::{
        organizations::{self, OrganizationInput},
        packages,
        repositories::{self, RepositoryInput},
        webhook_deliveries::{self, Delivery},
        webhook_subscriptions::{self, NewSubscription, Scope, Subscription},
    },
    test_support::{TestDatabase, TestValkey},
};
use wump_manifests::matcher;
use wump_providers::ProviderRegistry;
use wump_worker::{
    jobs::{JobContext, register_all_webhooks},
    queue::Runner,
    webhooks::Webhooks,
};

use crate::queue::support::{Running, eventually, fast_settings, test_queues};

/// The key the tests' secrets are encrypted under.
pub(crate) const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Webhook settings for a receiver on this machine: http and loopback allowed, short
/// timeouts, three attempts about 1 s and 2 s apart.
pub(crate) fn local_settings() -> WebhookSettings {
    WebhookSettings {
        secret_key: Some(SecretString::from(KEY)),
        allowed_networks: vec!["127.0.0.0/8".into(), "::1/128".into()],
        allow_http: true,
        timeout_ms: 500,
        max_attempts: 3,
        backoff_base_ms: 1_000,
        backoff_max_ms: 2_000,
        disable_after_failures: 2,
        ..WebhookSettings::default()
    }
}

/// A database with one organization (`acme`, two repositories: `acme/web` with 500 stars
/// and `acme/tiny` with 3), two packages (`left-pad`, whose repository is
/// `https://github.com/Pad-Org/left-pad`, and `react`), an API key owning subscriptions,
/// and a runner of dispatch and deliver on queues of its own.
pub(crate) struct World {
    pub(crate) db: TestDatabase,
    pub(crate) _valkey: TestValkey,
    pub(crate) queues: Queues,
    pub(crate) running: Option<Running>,
    pub(crate) cipher: SecretCipher,
    pub(crate) key_id: Uuid,
    pub(crate) left_pad: Uuid,
    pub(crate) react: Uuid,
    pub(crate) web: Uuid,
    pub(crate) tiny: Uuid,
}

impl World {
    pub(crate) async fn new(settings: WebhookSettings) -> Self {
        let db = TestDatabase::new().await;
        let (valkey, queues) = test_queues(fast_settings()).await;
        let mut conn = db.connection().await;
        let org = organizations::upsert(
            &mut conn,
            &[OrganizationInput {
                host: "github.com".into(),
                login: "acme".into(),
                kind: OrganizationKind::Organization,
            }],
        )
        .await
        .unwrap()[0];
        let repo = |full_name: &str, stars: i32| RepositoryInput {
            host: "github.com".into(),
            full_name: full_name.into(),
            organization_id: org,
            description: None,
            language: None,
            default_branch: None,
            stars,
            forks: 0,
            archived: false,
            fork: false,
            pushed_at: None,
            change_token: None,
        };
        let repos = repositories::upsert(&mut conn, &[repo("acme/web", 500), repo("acme/tiny", 3)])
            .await
            .unwrap();
        let ids = packages::upsert(
            &mut conn,
            &[(Ecosystem::Npm, "left-pad"), (Ecosystem::Npm, "react")],
        )
        .await
        .unwrap();
        diesel::sql_query(
            "UPDATE packages SET repository_url = 'https://github.com/Pad-Org/left-pad'
              WHERE name = 'left-pad'",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let key_id = Uuid::now_v7();
        diesel::sql_query(
            "INSERT INTO api_keys (id, name, key_hash, prefix, tier)
             VALUES ($1, 'webhooks test', sha256($2::bytea), $2, 'free')",
        )
        .bind::<diesel::sql_types::Uuid, _>(key_id)
        .bind::<diesel::sql_types::Text, _>(format!("wump_test_{}", key_id.simple()))
        .execute(&mut conn)
        .await
        .unwrap();

        let webhooks = Webhooks::new(&settings, "https://wump.example").unwrap();
        let ctx = JobContext::new(
            db.pool().clone(),
            valkey.pool().clone(),
            ProviderRegistry::new(),
            matcher::Limits::default(),
        )
        .with_key_prefix(valkey.prefix())
        .with_webhooks(webhooks)
        .with_follow_ups_onto(queues.clone());
        let runner = register_all_webhooks(
            Runner::new(queues.clone(), Duration::from_secs(2)).record_runs(db.pool().clone()),
            &ctx,
        );
        Self {
            db,
            _valkey: valkey,
            queues,
            running: Some(Running::start(runner)),
            cipher: SecretCipher::from_base64(KEY).unwrap(),
            key_id,
            left_pad: ids[0],
            react: ids[1],
            web: repos[0].id,
            tiny: repos[1].id,
        }
    }

    /// Stores a subscription of the test key; returns it and its secret as shown once.
    pub(crate) async fn subscribe(
        &self,
        url: &str,
        events: &[EventKind],
        min_stars: i64,
        scope: Scope,
    ) -> (Subscription, String) {
        let secret = SigningSecret::generate();
        let mut conn = self.db.connection().await;
        let subscription = webhook_subscriptions::create(
            &mut conn,
            &NewSubscription {
                id: Uuid::now_v7(),
                api_key_id: self.key_id,
                url: url.into(),
                description: None,
                events: events.to_vec(),
                min_stars,
                scope,
                secret_ciphertext: self.cipher.encrypt(&secret),
            },
            25,
        )
        .await
        .unwrap()
        .unwrap();
        (subscription, secret.reveal())
    }

    /// Makes `repository` depend on `packages` (runtime) through the edge writer, then
    /// asks for a dispatch, as a parse that recorded events does.
    pub(crate) async fn depend(&self, repository: Uuid, packages: &[Uuid]) {
        let mut conn = self.db.connection().await;
        let wanted: Vec<EdgeInput> = packages
            .iter()
            .map(|&package_id| EdgeInput {
                package_id,
                kinds: BTreeSet::from([DependencyKind::Runtime]),
                requirement: "^1.0.0".into(),
                resolved_version: None,
                direct: Some(true),
                manifest_paths: vec!["package.json".into()],
            })
            .collect();
        let changes = edges::replace_repository_edges(&mut conn, repository, &wanted)
            .await
            .unwrap();
        assert!(changes.events > 0, "the write recorded events");
        self.queues
            .enqueue(&DispatchJob {}, Priority::Normal)
            .await
            .unwrap();
    }

    /// Every delivery of `subscription`, newest first.
    pub(crate) async fn deliveries(&self, subscription: Uuid) -> Vec<Delivery> {
        let mut conn = self.db.connection().await;
        webhook_deliveries::of_subscription(&mut conn, subscription, None, 100)
            .await
            .unwrap()
    }

    /// The subscription as stored now.
    pub(crate) async fn subscription(&self, id: Uuid) -> Subscription {
        let mut conn = self.db.connection().await;
        webhook_subscriptions::by_id(&mut conn, id)
            .await
            .unwrap()
            .unwrap()
    }

    /// Waits until `subscription` has `n` deliveries none of which is pending.
    pub(crate) async fn settled(
        &self,
        subscription: Uuid,
        n: usize,
        within: Duration,
    ) -> Vec<Delivery> {
        eventually("the deliveries to finish", within, || async {
            let deliveries = self.deliveries(subscription).await;
            (deliveries.len() == n
                && deliveries
                    .iter()
                    .all(|d| d.status() != webhook_deliveries::DeliveryStatus::Pending))
            .then_some(deliveries)
        })
        .await
    }

    pub(crate) async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

/// Checks `request`'s signature with the Standard Webhooks library and `secret`; returns
/// the body as JSON.
pub(crate) fn verified(request: &wiremock::Request, secret: &str) -> serde_json::Value {
    let webhook = standardwebhooks::Webhook::new(secret).expect("a whsec_ secret");
    webhook
        .verify(&request.body, &request.headers)
        .unwrap_or_else(|e| panic!("the signature does not verify: {e}"));
    serde_json::from_slice(&request.body).unwrap()
}
