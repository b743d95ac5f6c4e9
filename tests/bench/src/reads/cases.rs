//! What is measured: for a package, its dependents listing in every sort and filter the
//! API supports, a deep page by cursor, the organizations roll-up; and searches. Each case
//! is the HTTP request and the database statement the API runs for it.

use uuid::Uuid;
use wump_core::DependencyKind;
use wump_db::views::{DependentsQuery, DependentsSort, OrganizationsSort, SearchTarget};

/// Rows per page of the first pages: the API's default.
pub const PAGE: i64 = 30;
/// Rows per page of the deep page, so page [`DEEP_PAGE`] exists at 1 M edges too.
pub const DEEP_PER_PAGE: i64 = 10;
/// The deep page's number.
pub const DEEP_PAGE: i64 = 1_000;
/// The `min_stars` filter's threshold.
pub const MIN_STARS: i32 = 100;

/// The goal a case is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Dependents,
    Organizations,
    Search,
}

impl Group {
    /// The p99 goal, in milliseconds.
    pub fn goal_ms(self) -> f64 {
        match self {
            Group::Dependents => 20.0,
            Group::Organizations | Group::Search => 50.0,
        }
    }
}

/// The statement a case's request runs (besides the package lookup by name).
#[derive(Debug, Clone)]
pub enum Statement {
    Dependents {
        package_id: Uuid,
        query: DependentsQuery,
        /// Walk this many pages first (the deep page's cursor comes from them).
        skip_pages: i64,
    },
    Organizations {
        package_id: Uuid,
        sort: OrganizationsSort,
        has_funding: bool,
    },
    Search {
        target: SearchTarget,
        text: String,
    },
}

/// One measured request.
#[derive(Debug, Clone)]
pub struct Case {
    pub group: Group,
    /// Which package (`top`, `median`) or `search`.
    pub subject: String,
    /// What varies, e.g. `sort=pushed_at`.
    pub name: String,
    /// The path and query of the first request (the deep page's cursor is added later).
    pub path: String,
    pub statement: Statement,
}

/// A package measured, and the organization its filter case names.
#[derive(Debug, Clone)]
pub struct Subject {
    /// `top` or `median`.
    pub role: &'static str,
    pub id: Uuid,
    pub ecosystem: String,
    pub name: String,
    pub dependents: i32,
    /// The organization with the most repositories using it (the filter's heaviest case).
    pub organization: Option<(Uuid, String)>,
}

/// The cases of one package.
pub fn package_cases(subject: &Subject) -> Vec<Case> {
    let base = format!(
        "/api/v1/packages/{}/{}",
        subject.ecosystem,
        percent_encode(&subject.name)
    );
    let mut cases = Vec::new();
    let mut dependents = |name: &str, params: &str, query: DependentsQuery, skip_pages: i64| {
        let per_page = if skip_pages > 0 { DEEP_PER_PAGE } else { PAGE };
        let separator = if params.is_empty() { "" } else { "&" };
        cases.push(Case {
            group: Group::Dependents,
            subject: subject.role.to_owned(),
            name: name.to_owned(),
            path: format!("{base}/dependents?{params}{separator}per_page={per_page}"),
            statement: Statement::Dependents {
                package_id: subject.id,
                query: DependentsQuery {
                    limit: per_page + 1,
                    ..query
                },
                skip_pages,
            },
        });
    };
    let plain = DependentsQuery::default();
    dependents("sort=stars (default)", "", plain.clone(), 0);
    let pushed = DependentsQuery {
        sort: DependentsSort::PushedAt,
        ..plain
    };
    dependents("sort=pushed_at", "sort=pushed_at", pushed.clone(), 0);
    dependents(
        &format!("min_stars={MIN_STARS}"),
        &format!("min_stars={MIN_STARS}"),
        DependentsQuery {
            min_stars: Some(MIN_STARS),
            ..plain
        },
        0,
    );
    for kind in [DependencyKind::Development, DependencyKind::Peer] {
        dependents(
            &format!("kind={}", kind.as_str()),
            &format!("kind={}", kind.as_str()),
            DependentsQuery {
                kind: Some(kind),
                ..plain
            },
            0,
        );
    }
    if let Some((id, login)) = &subject.organization {
        dependents(
            "organization=(its largest user)",
            &format!("organization={login}"),
            DependentsQuery {
                organization_id: Some(*id),
                ..plain
            },
            0,
        );
    }
    dependents(
        "include_archived=true",
        "include_archived=true",
        DependentsQuery {
            include_archived: true,
            ..plain
        },
        0,
    );
    dependents(
        "include_forks=true",
        "include_forks=true",
        DependentsQuery {
            include_forks: true,
            ..plain
        },
        0,
    );
    dependents(
        "include_archived=true&include_forks=true",
        "include_archived=true&include_forks=true",
        DependentsQuery {
            include_archived: true,
            include_forks: true,
            ..plain
        },
        0,
    );
    dependents(
        "direct=true",
        "direct=true",
        DependentsQuery {
            direct: Some(true),
            ..plain
        },
        0,
    );
    if i64::from(subject.dependents) >= DEEP_PAGE * DEEP_PER_PAGE {
        let deep = format!("page {DEEP_PAGE} by cursor, per_page={DEEP_PER_PAGE}");
        dependents(&format!("{deep}, sort=stars"), "", plain, DEEP_PAGE - 1);
        dependents(
            &format!("{deep}, sort=pushed_at"),
            "sort=pushed_at",
            pushed,
            DEEP_PAGE - 1,
        );
    }
    for (name, sort, has_funding) in [
        ("sort=stars (default)", OrganizationsSort::Stars, false),
        ("sort=repositories", OrganizationsSort::Repositories, false),
        ("has_funding=true", OrganizationsSort::Stars, true),
    ] {
        let params = match (sort, has_funding) {
            (OrganizationsSort::Repositories, _) => "sort=repositories&",
            (_, true) => "has_funding=true&",
            _ => "",
        };
        cases.push(Case {
            group: Group::Organizations,
            subject: subject.role.to_owned(),
            name: name.to_owned(),
            path: format!("{base}/organizations?{params}per_page={PAGE}"),
            statement: Statement::Organizations {
                package_id: subject.id,
                sort,
                has_funding,
            },
        });
    }
    cases
}

/// Searches: a package by its exact name, a fragment many package names share, and an
/// organization login fragment.
pub fn search_cases(top_package: &str) -> Vec<Case> {
    [
        (
            SearchTarget::Packages,
            "package",
            top_package,
            "(the top package's name)",
        ),
        (
            SearchTarget::Packages,
            "package",
            "package-12",
            "package-12",
        ),
        (
            SearchTarget::Organizations,
            "organization",
            "org-1234",
            "org-1234",
        ),
    ]
    .into_iter()
    .map(|(target, kind, text, label)| Case {
        group: Group::Search,
        subject: "search".to_owned(),
        name: format!("type={kind}, q={label}"),
        path: format!(
            "/api/v1/search?q={}&type={kind}&per_page={PAGE}",
            percent_encode(text)
        ),
        statement: Statement::Search {
            target,
            text: text.to_owned(),
        },
    })
    .collect()
}

/// Every byte but unreserved ones as `%XX` (names hold `/`, `@`, `:`).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(dependents: i32) -> Subject {
        Subject {
            role: "top",
            id: Uuid::nil(),
            ecosystem: "npm".into(),
            name: "@scope-1/pkg-8".into(),
            dependents,
            organization: Some((Uuid::nil(), "org-1".into())),
        }
    }

    #[test]
    fn every_sort_and_filter_is_a_case_and_the_deep_page_only_when_it_exists() {
        let cases = package_cases(&subject(20_000));
        let names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
        for wanted in [
            "sort=pushed_at",
            "min_stars=100",
            "kind=peer",
            "organization=(its largest user)",
            "include_archived=true&include_forks=true",
            "direct=true",
            "page 1000 by cursor, per_page=10, sort=pushed_at",
            "has_funding=true",
        ] {
            assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
        }
        assert!(
            cases[0]
                .path
                .starts_with("/api/v1/packages/npm/%40scope-1%2Fpkg-8/dependents?")
        );
        let few = package_cases(&subject(9_999));
        assert!(few.iter().all(|c| !c.name.starts_with("page 1000")));
    }
}
