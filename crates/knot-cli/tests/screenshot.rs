//! The HTML pages of a deadlock and a leak report, loaded in a headless
//! Chromium: they must load without errors, keep a lane for every task in
//! the rendered DOM, and make a real screenshot.
//!
//! Skipped, with a line saying so, when `/usr/bin/chromium` is not
//! installed (on Debian and Ubuntu: `apt-get install -y chromium`). The
//! pages and screenshots stay in `target/tmp/knot-cli-screenshots/` for a
//! person to look at.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use knot_report::Report;

const CHROMIUM: &str = "/usr/bin/chromium";
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 800;
/// How long one run of Chromium may take before the test gives up on it.
const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn pages_render_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        println!("skipped: {CHROMIUM} is not installed (apt-get install -y chromium)");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("knot-cli-screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, report) in [("deadlock", common::deadlock()), ("leak", common::leak())] {
        check_page(&dir, name, &report);
    }
}

fn check_page(dir: &Path, name: &str, report: &Report) {
    let json = dir.join(format!("{name}.json"));
    let html = dir.join(format!("{name}.html"));
    let png = dir.join(format!("{name}.png"));
    std::fs::write(&json, report.to_json()).unwrap();
    let output = common::knot(&["html", path(&json), "-o", path(&html)]);
    assert!(
        output.status.success(),
        "knot html failed: {}",
        common::stderr(&output)
    );
    let url = format!("file://{}", path(&html));

    // The rendered DOM: the script ran to its end (it marks the page) and
    // every task still has its lane.
    let dom_file = dir.join(format!("{name}.dom.html"));
    let log = chromium(
        dir,
        &format!("{name}-dom"),
        &["--dump-dom", &url],
        &dom_file,
    );
    let dom = std::fs::read_to_string(&dom_file).unwrap();
    assert!(
        dom.contains("data-rendered=\"ok\""),
        "{name}: the page's script did not run to its end\n{log}"
    );
    for task in report.tasks() {
        assert!(
            dom.contains(&format!("data-task=\"{}\"", task.id)),
            "{name}: no lane for task {} in the rendered page",
            task.id
        );
    }
    // Chromium logs console messages (an uncaught error, a resource that
    // failed to load) as CONSOLE lines; the page logs nothing.
    let console: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .collect();
    assert!(
        console.is_empty(),
        "{name}: console output:\n{}",
        console.join("\n")
    );
    assert!(!log.contains("net::ERR_"), "{name}: a load failed:\n{log}");

    // The screenshot.
    let window = format!("--window-size={WIDTH},{HEIGHT}");
    let screenshot = format!("--screenshot={}", path(&png));
    let log = chromium(
        dir,
        &format!("{name}-shot"),
        &[&screenshot, &window, &url],
        &dir.join(format!("{name}.shot.out")),
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{name}: no screenshot: {e}\n{log}"));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{name}: the screenshot is not a PNG"
    );
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (WIDTH, HEIGHT), "{name}: screenshot size");
    // A blank or nearly blank page compresses to a few kilobytes.
    assert!(
        bytes.len() > 20_000,
        "{name}: the screenshot is only {} bytes",
        bytes.len()
    );
    println!("screenshot of the {name} report: {}", png.display());
}

/// Runs headless Chromium with a fresh profile and `args`, its standard
/// output into `stdout`, and returns what it logged on standard error.
fn chromium(dir: &Path, label: &str, args: &[&str], stdout: &Path) -> String {
    let profile = dir.join(format!("profile-{label}"));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile).unwrap();
    let log_path = dir.join(format!("{label}.log"));
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", path(&profile)))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(stdout).unwrap())
        .stderr(File::create(&log_path).unwrap())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {label} took more than {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "chromium {label} failed: {status}\n{log}");
    let _ = std::fs::remove_dir_all(&profile);
    log
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
