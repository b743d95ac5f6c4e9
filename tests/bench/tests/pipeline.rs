//! The pipeline benchmark's run at a tiny size (`wump-bench pipeline` at 10,000 is not for
//! `just test`): the real `wump-worker` processes, started as the benchmark starts them,
//! must store every edge the generated tree declares with the right counts, so the
//! benchmark can never time a run that stored nothing or stored it wrong.

use std::time::Duration;

use wump_bench::{pipeline, workers};

#[tokio::test(flavor = "multi_thread")]
async fn a_small_pipeline_run_stores_every_declared_edge_with_its_counts() {
    let work = std::env::temp_dir().join(format!("wump-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let options = pipeline::Options {
        repositories: 120,
        seed: 7,
        work: work.clone(),
        // The build of this test run (`just test` builds the binaries first).
        worker: workers::worker_binary().expect("wump-worker is built"),
        env: Vec::new(),
    };
    let (expected, runs) = pipeline::run(&options, &[2])
        .await
        .expect("the run finishes");
    let run = &runs[0];
    eprintln!("{}", run.checked.summary());

    assert_eq!(expected.repositories, 120);
    assert!(
        expected.edges >= 120 * 18,
        "about twenty each: {}",
        expected.edges
    );
    assert!(run.checked.agrees(), "{}", run.checked.summary());
    assert_eq!(run.checked.edges.0 as usize, expected.edges);
    assert_eq!(run.dead, 0);
    assert!(run.edges_stored > Duration::ZERO && run.edges_stored <= run.all_done);
    assert_eq!(run.peak_rss.len(), 2, "one reading per worker");
    assert!(
        run.peak_rss.iter().all(|b| *b > 1 << 20),
        "{:?}",
        run.peak_rss
    );
    std::fs::remove_dir_all(work).unwrap();
}
