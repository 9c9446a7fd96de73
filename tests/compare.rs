//! The `compare` example with tiny settings: its table has every row, the
//! file it writes holds the same table, and its plot is well-formed SVG
//! with one series per strategy in each line chart. No figure is checked:
//! they depend on the machine.

mod common;

use std::collections::HashMap;

use quick_xml::events::Event;

const STRATEGIES: &[&str] = &[
    "processes",
    "threads",
    "corio-1 (1 worker)",
    "corio-all (",
    "tokio-current (1 worker)",
    "tokio-multi (",
];

/// The texts of the SVG's `<text>` elements and a count of each element
/// name; panics if the document is not well-formed.
fn svg_texts(svg: &str) -> (Vec<String>, HashMap<String, usize>) {
    let mut reader = quick_xml::Reader::from_str(svg);
    reader.config_mut().check_end_names = true;
    let (mut texts, mut counts) = (Vec::new(), HashMap::new());
    let mut in_text = false;
    loop {
        match reader.read_event().expect("the plot is well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let name = AsRef::<str>::as_ref(&e.name()).to_owned();
                in_text = name == "text";
                *counts.entry(name).or_default() += 1;
            }
            Event::Text(t) if in_text => {
                let raw = t.into_inner();
                texts.push(
                    quick_xml::escape::unescape(&raw)
                        .expect("escapes")
                        .trim()
                        .to_owned(),
                );
            }
            Event::End(_) => in_text = false,
            _ => {}
        }
    }
    (texts, counts)
}

#[test]
fn compare_prints_the_table_and_draws_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.display().to_string();
    let stdout = common::example_stdout(
        "compare",
        &[
            "--max-n",
            "10",
            "--secs",
            "0.05",
            "--buses",
            "40",
            "--cpu-jobs",
            "2",
            "--cpu-rounds",
            "1",
            "--out",
            &out_arg,
        ],
    );

    // The seed's rows, qualitative and measured.
    for row in [
        "| Blocking standard-library calls usable as they are |",
        "| Who schedules |",
        "| Uses all cores |",
        "| I/O: largest N reached |",
        "| I/O: memory per unit at that N (KiB) |",
        "| I/O: round trips per second at that N |",
        "| CPU: speedup over one core |",
    ] {
        assert!(stdout.contains(row), "no row {row:?} in:\n{stdout}");
    }
    assert!(stdout.contains("Machine: ") && stdout.contains("Linux "));
    assert!(stdout.contains("--example compare -- --max-n 10 --secs 0.05"));
    // Coroutine level and pipeline.
    for row in [
        "| corio `Generator` | stackful |",
        "| raw corosensei | stackful |",
        "| `generator` crate 0.8 | stackful |",
        "| nightly `#[coroutine]` | stackless |",
        "| CPython generator | stackless |",
        "| plain closures (the floor) |",
        "| corio stages, one switch per item |",
        "| stackless `#[coroutine]` stages |",
        "| CPython generators + expat |",
    ] {
        assert!(stdout.contains(row), "no row {row:?} in:\n{stdout}");
    }
    // Each I/O strategy: one run at N = 10, and a stop reason.
    for strategy in STRATEGIES {
        let runs = stdout
            .lines()
            .filter(|l| l.starts_with(&format!("| {strategy}")) && l.contains("| 10 |"))
            .count();
        assert_eq!(runs, 2, "{strategy}: a run and a stop line in:\n{stdout}");
        assert!(stdout.contains("reached `--max-n 10`"));
    }
    // CPU rows, after the CPU section's heading.
    let cpu = stdout.split("## CPU-bound").nth(1).expect("a CPU section");
    for key in [
        "sequential",
        "processes",
        "threads",
        "corio-1",
        "corio-all",
        "tokio-current",
        "tokio-multi",
    ] {
        assert!(
            cpu.lines().any(|l| l.starts_with(&format!("| {key} |"))),
            "no CPU row {key} in:\n{cpu}"
        );
    }

    // The file holds the table printed, and the paths are printed.
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(
        stdout.starts_with(&md),
        "compare.md differs from the table printed"
    );
    assert!(stdout.contains(&format!("table: {}", out.join("compare.md").display())));
    assert!(stdout.contains(&format!("plot:  {}", out.join("compare.svg").display())));

    // The plot: well-formed SVG; each strategy named in the legend of both
    // line charts; a line and a legend sample per strategy and chart.
    let svg = std::fs::read_to_string(out.join("compare.svg")).unwrap();
    let (texts, counts) = svg_texts(&svg);
    let line_charts = texts
        .iter()
        .position(|t| t.starts_with("Generators"))
        .expect("the generators' panel follows the line charts");
    for strategy in STRATEGIES {
        let legends = texts[..line_charts]
            .iter()
            .filter(|t| t.starts_with(strategy))
            .count();
        assert_eq!(legends, 2, "{strategy} in the legends: {texts:?}");
    }
    let polylines = counts.get("polyline").copied().unwrap_or(0);
    assert!(
        polylines >= 4 * STRATEGIES.len(),
        "{polylines} polylines for {} strategies",
        STRATEGIES.len()
    );
    assert!(texts.iter().any(|t| t.contains("Generators")));
}

#[test]
fn compare_help_and_bad_flags() {
    let help = common::run_example("compare", &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--max-n", "--secs", "--only", "--out"] {
        assert!(
            text.contains(flag),
            "--help does not mention {flag}:\n{text}"
        );
    }
    let bad = common::run_example("compare", &["--no-such-flag"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Usage"));
    let unknown = common::run_example("compare", &["--only", "no-such-row"]);
    assert_eq!(unknown.status.code(), Some(2));
}
