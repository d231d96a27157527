//! Running many simulations at once: a thread pool of `--jobs` workers and a progress bar,
//! shared by `servesim sweep` and `servesim validate`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::CliError;

/// A pool of `jobs` threads (default: one per core) and its size.
pub(crate) fn thread_pool(jobs: Option<usize>) -> Result<(rayon::ThreadPool, usize), CliError> {
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        return Err(CliError::Usage("--jobs must be at least 1".to_owned()));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| CliError::Usage(format!("--jobs {jobs}: {e}")))?;
    Ok((pool, jobs))
}

/// A progress bar over `runs` runs, hidden when `quiet` or when stderr is not a terminal.
pub(crate) fn progress_bar(runs: usize, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(runs as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
