//! The SVG plot: round trips per second and memory per unit against N, log
//! scales, one line per strategy; under them the generator, pipeline and
//! CPU figures as bars.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::io::{IoLine, IoPoint, STRATEGIES};
use crate::report::{label, Results};
use crate::sys::Machine;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<(), String>;

/// A tick label: fewer decimals for larger numbers.
fn tick(v: &f64) -> String {
    match v.abs() {
        a if a >= 100.0 || a == 0.0 => format!("{v:.0}"),
        a if a >= 1.0 => format!("{v:.1}"),
        _ => format!("{v:.3}"),
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The colour of strategy `key`, the same in every panel.
fn colour(key: &str) -> RGBColor {
    let i = STRATEGIES.iter().position(|k| *k == key).unwrap_or(0);
    let palette = [
        RGBColor(214, 39, 40),
        RGBColor(255, 127, 14),
        RGBColor(31, 119, 180),
        RGBColor(23, 190, 207),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
    ];
    palette[i % palette.len()]
}

/// A log range around `values`.
fn log_bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        (1.0, 10.0)
    } else {
        (lo / 2.0, hi * 2.0)
    }
}

fn lines(area: &Area, title: &str, y_desc: &str, io: &[IoLine], y: fn(&IoPoint) -> f64) -> Drawn {
    let (x_lo, x_hi) = log_bounds(io.iter().flat_map(|l| &l.points).map(|p| p.n as f64));
    let (y_lo, y_hi) = log_bounds(io.iter().flat_map(|l| &l.points).map(y));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..y_hi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("N, concurrent units")
        .y_desc(y_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&tick)
        .draw()
        .map_err(err)?;
    for l in io.iter().filter(|l| !l.points.is_empty()) {
        let c = colour(l.key);
        let points: Vec<(f64, f64)> = l
            .points
            .iter()
            .map(|p| (p.n as f64, y(p).max(y_lo)))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
            .map_err(err)?
            .label(label(l.key, l.workers))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(points.into_iter().map(|p| Circle::new(p, 3, c.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}

fn bar_chart<'a, 'b>(area: &'a Area<'b>, title: &str) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(area);
    b.caption(title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(35)
        .y_label_area_size(200);
    b
}

/// Horizontal bars, one per item, on a log or linear scale.
fn bars(
    area: &Area,
    title: &str,
    x_desc: &str,
    items: &[(String, f64, RGBColor)],
    log: bool,
) -> Drawn {
    let items: Vec<_> = items
        .iter()
        .filter(|(_, v, _)| *v > 0.0 && v.is_finite())
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    let k = items.len();
    let names: Vec<String> = items.iter().map(|(n, _, _)| n.clone()).collect();
    let y_fmt = move |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
            names.get(*i).cloned().unwrap_or_default()
        }
        SegmentValue::Last => String::new(),
    };
    let rect = |i: usize, lo: f64, v: f64, c: RGBColor| {
        let mut bar = Rectangle::new(
            [
                (lo, SegmentValue::Exact(i)),
                (v, SegmentValue::Exact(i + 1)),
            ],
            c.mix(0.85).filled(),
        );
        bar.set_margin(3, 3, 0, 0);
        bar
    };
    if log {
        let (lo, hi) = log_bounds(items.iter().map(|(_, v, _)| *v));
        let mut chart = bar_chart(area, title)
            .build_cartesian_2d((lo..hi).log_scale(), (0..k.max(2) - 1).into_segmented())
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(x_desc)
            .y_label_formatter(&y_fmt)
            .x_label_formatter(&tick)
            .draw()
            .map_err(err)?;
        chart
            .draw_series(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, (_, v, c))| rect(i, lo, *v, *c)),
            )
            .map_err(err)?;
    } else {
        let hi = items.iter().map(|(_, v, _)| *v).fold(0.0, f64::max) * 1.15;
        let mut chart = bar_chart(area, title)
            .build_cartesian_2d(0.0..hi, (0..k.max(2) - 1).into_segmented())
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(x_desc)
            .x_labels(6)
            .x_label_formatter(&tick)
            .y_label_formatter(&y_fmt)
            .draw()
            .map_err(err)?;
        chart
            .draw_series(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, (_, v, c))| rect(i, 0.0, *v, *c)),
            )
            .map_err(err)?;
    }
    Ok(())
}

pub fn draw(path: &Path, machine: &Machine, r: &Results) -> Drawn {
    let root = SVGBackend::new(path, (1400, 1000)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root
        .titled(&format!("corio compare: {machine}"), ("sans-serif", 20))
        .map_err(err)?;
    let (top, bottom) = root.split_vertically(560);
    let top_panels = top.split_evenly((1, 2));
    lines(
        &top_panels[0],
        "I/O-bound: round trips per second",
        "round trips / s",
        &r.io,
        |p| p.trips_per_s,
    )?;
    lines(
        &top_panels[1],
        "I/O-bound: memory per unit",
        "KiB per unit (Pss)",
        &r.io,
        |p| p.per_unit_kib,
    )?;
    let panels = bottom.split_evenly((1, 3));
    let grey = RGBColor(110, 110, 110);
    let stackful = RGBColor(31, 119, 180);
    let stackless = RGBColor(44, 160, 44);
    let kind = |k: &str| if k == "stackful" { stackful } else { stackless };
    let mut gens = Vec::new();
    for g in &r.generators {
        if let Some(v) = g.send_ns {
            gens.push((
                format!("{}: send", g.name.replace('`', "")),
                v,
                kind(g.kind),
            ));
        }
        if let Some(v) = g.create_ns {
            gens.push((
                format!("{}: create", g.name.replace('`', "")),
                v,
                kind(g.kind).mix(0.5).to_rgba().rgb(),
            ));
        }
    }
    bars(
        &panels[0],
        "Generators (ns, log scale)",
        "ns per operation",
        &gens,
        true,
    )?;
    let pipe: Vec<_> = r
        .pipeline
        .iter()
        .filter_map(|p| Some((p.key.to_owned(), p.mb_per_s?, grey)))
        .collect();
    bars(
        &panels[1],
        "Bus pipeline (MB/s)",
        "MB of XML per second",
        &pipe,
        false,
    )?;
    let cpu: Vec<_> = r
        .cpu
        .iter()
        .map(|c| {
            (
                label(c.key, c.workers),
                c.speedup,
                if c.key == "sequential" {
                    grey
                } else {
                    colour(c.key)
                },
            )
        })
        .collect();
    bars(
        &panels[2],
        "CPU-bound: speedup over one core",
        "speedup",
        &cpu,
        false,
    )?;
    root.present().map_err(err)
}

trait Rgb {
    fn rgb(self) -> RGBColor;
}

impl Rgb for RGBAColor {
    /// The colour over white, opaque.
    fn rgb(self) -> RGBColor {
        let RGBAColor(r, g, b, a) = self;
        let over = |c: u8| (f64::from(c) * a + 255.0 * (1.0 - a)).round() as u8;
        RGBColor(over(r), over(g), over(b))
    }
}
