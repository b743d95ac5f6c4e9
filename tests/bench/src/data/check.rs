//! A generated dataset is only worth measuring if wump would have written it: a sample of
//! packages is walked through the API's own listing queries, page by page, and what the
//! listings return must equal the counts stored beside them.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;
use wump_db::{
    tables::packages,
    views::{self, DependentsQuery, DependentsSort, OrganizationsSort},
};

use super::shape::Dataset;

/// Rows per listing page, the API's largest page.
const PAGE: i64 = 100;

/// One sampled package: its stored counts and what the listings returned.
#[derive(Debug)]
pub struct Checked {
    pub package: String,
    pub stored_dependents: i32,
    pub listed_dependents: u64,
    pub stored_organizations: i32,
    pub listed_organizations: u64,
}

impl Checked {
    /// Whether the listings agree with the stored counts.
    pub fn agrees(&self) -> bool {
        u64::try_from(self.stored_dependents) == Ok(self.listed_dependents)
            && u64::try_from(self.stored_organizations) == Ok(self.listed_organizations)
    }
}

/// The sample: the head, the middle and the tail of the two largest ecosystems, and one
/// package of every other ecosystem.
pub fn sample(dataset: &Dataset) -> Vec<usize> {
    let mut picked = Vec::new();
    for (n, (ecosystem, _)) in super::shape::ECOSYSTEM_SHARES.iter().enumerate() {
        let packages = &dataset.ecosystem_packages(*ecosystem).packages;
        let ranks: &[usize] = if n < 2 {
            &[0, 1, packages.len() / 100, packages.len() / 2]
        } else {
            &[n % 5]
        };
        for &rank in ranks {
            let package = packages[rank] as usize;
            if !picked.contains(&package) {
                picked.push(package);
            }
        }
    }
    picked
}

/// Walks the listings of each sampled package.
pub async fn check(
    conn: &mut AsyncPgConnection,
    dataset: &Dataset,
) -> anyhow::Result<Vec<Checked>> {
    let mut checked = Vec::new();
    for index in sample(dataset) {
        let package = &dataset.packages[index];
        let stored = packages::by_name(conn, package.ecosystem, &package.name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("package {} not found by name", package.name))?;
        checked.push(Checked {
            package: format!("{}/{}", package.ecosystem.as_str(), package.name),
            stored_dependents: stored.dependents_count,
            listed_dependents: count_dependents(conn, stored.id).await?,
            stored_organizations: stored.organizations_count,
            listed_organizations: count_organizations(conn, stored.id).await?,
        });
    }
    Ok(checked)
}

async fn count_dependents(conn: &mut AsyncPgConnection, package: Uuid) -> anyhow::Result<u64> {
    let mut query = DependentsQuery {
        sort: DependentsSort::Stars,
        limit: PAGE,
        ..DependentsQuery::default()
    };
    let mut total = 0;
    loop {
        let page = views::dependents(conn, package, &query).await?;
        total += page.len() as u64;
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => {
                query.after = Some(last.cursor(DependentsSort::Stars));
            }
            _ => return Ok(total),
        }
    }
}

async fn count_organizations(conn: &mut AsyncPgConnection, package: Uuid) -> anyhow::Result<u64> {
    let sort = OrganizationsSort::Stars;
    let mut after = None;
    let mut total = 0;
    loop {
        let page =
            views::organizations_using(conn, package, sort, &Default::default(), after, PAGE)
                .await?;
        total += page.len() as u64;
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => {
                after = Some((last.sort_value(sort), last.organization.id));
            }
            _ => return Ok(total),
        }
    }
}
