//! After a full `cargo bench --bench verify`: read criterion's estimates back, print the
//! ratio table of docs/PERFORMANCE.md and draw its chart.
//!
//! Every figure is criterion's median of the run that just finished, so each ratio compares
//! two numbers measured minutes apart on the same machine under the same load.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

/// Where criterion writes: `$CRITERION_HOME`, else `<target>/criterion`, the target
/// directory found from this executable's path (`<target>/release/deps/verify-…`).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The median of one benchmark, in nanoseconds.
fn median(dir: &Path, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(id).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn show(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// How a row is judged.
enum Target {
    /// ours / baseline at most this.
    RatioAtMost(f64),
    /// baseline / ours (a throughput share) at least this.
    ShareAtLeast(f64),
    /// ours at most this many ns, and (if a baseline is given) ours / baseline at most.
    NanosAtMost(f64, Option<f64>),
    /// Shown for context; no target.
    Info,
}

struct Row {
    operation: &'static str,
    ours: &'static str,
    baseline: Option<(&'static str, &'static str)>,
    target: Target,
}

fn rows() -> Vec<Row> {
    use Target::{Info, NanosAtMost, RatioAtMost, ShareAtLeast};
    let row = |operation, ours, baseline, target| Row {
        operation,
        ours,
        baseline,
        target,
    };
    vec![
        row(
            "HS256 full verify",
            "hs256/gatepass",
            Some(("jsonwebtoken decode", "hs256/jsonwebtoken*")),
            RatioAtMost(0.4),
        ),
        row(
            "HS256 full verify",
            "hs256/gatepass",
            Some(("ring HMAC verify", "hs256/ring")),
            RatioAtMost(3.5),
        ),
        row(
            "HS256 full verify, small token",
            "hs256_small/gatepass",
            Some(("jsonwebtoken decode", "hs256_small/jsonwebtoken")),
            RatioAtMost(0.4),
        ),
        row(
            "HS256 full verify, small token",
            "hs256_small/gatepass",
            Some(("ring HMAC verify", "hs256_small/ring")),
            RatioAtMost(3.5),
        ),
        row(
            "ES256 full verify",
            "es256/gatepass",
            Some(("ring ECDSA P-256 verify", "es256/ring")),
            RatioAtMost(1.10),
        ),
        row(
            "ES256 full verify",
            "es256/gatepass",
            Some(("jsonwebtoken decode", "es256/jsonwebtoken*")),
            Info,
        ),
        row(
            "EdDSA full verify",
            "eddsa/gatepass",
            Some(("ring Ed25519 verify", "eddsa/ring")),
            RatioAtMost(1.10),
        ),
        row(
            "EdDSA full verify",
            "eddsa/gatepass",
            Some(("ed25519-dalek verify_strict", "eddsa/dalek")),
            Info,
        ),
        row(
            "EdDSA full verify",
            "eddsa/gatepass",
            Some(("jsonwebtoken decode", "eddsa/jsonwebtoken*")),
            Info,
        ),
        row(
            "DPoP proof check (ES256)",
            "dpop/es256_proof",
            Some(("ES256 full verify", "es256/gatepass")),
            Info,
        ),
        row(
            "cache hit (EdDSA token)",
            "cache/hit",
            Some(("uncached EdDSA verify", "eddsa/gatepass")),
            NanosAtMost(1000.0, Some(0.05)),
        ),
        row(
            "issue access + refresh (EdDSA)",
            "issue/gatepass_pair",
            Some(("two ring Ed25519 signs", "issue/ring_two_signs")),
            RatioAtMost(1.15),
        ),
        row(
            "revocation check, 1k entries",
            "revocation/check/1000",
            None,
            NanosAtMost(100.0, None),
        ),
        row(
            "revocation check, 10k entries",
            "revocation/check/10000",
            None,
            NanosAtMost(100.0, None),
        ),
        row(
            "revocation check, 100k entries",
            "revocation/check/100000",
            None,
            NanosAtMost(100.0, None),
        ),
        row(
            "revocation check, 1M entries",
            "revocation/check/1000000",
            Some(("the same at 1k entries", "revocation/check/1000")),
            NanosAtMost(100.0, None),
        ),
        row(
            "axum bearer layer, HS256 (requests/s)",
            "axum/bearer_hs256",
            Some(("same route, no layer", "axum/unauthenticated")),
            ShareAtLeast(0.90),
        ),
        row(
            "axum bearer layer, cached EdDSA (requests/s)",
            "axum/bearer_cached",
            Some(("same route, no layer", "axum/unauthenticated")),
            ShareAtLeast(0.90),
        ),
    ]
}

/// `group/name*` is the faster of the benchmarks whose name starts with `name`.
fn lookup(dir: &Path, id: &str) -> Option<f64> {
    let Some(prefix) = id.strip_suffix('*') else {
        return median(dir, id);
    };
    let (group, name) = prefix.split_once('/')?;
    std::fs::read_dir(dir.join(group))
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(name))
        .filter_map(|e| median(dir, &format!("{group}/{}", e.file_name().to_string_lossy())))
        .reduce(f64::min)
}

pub fn table(dir: &Path) -> String {
    let mut out = String::from(
        "| operation | gatepass (median) | baseline | baseline (median) | ratio | target | met? |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for row in rows() {
        let Some(ours) = lookup(dir, row.ours) else {
            continue;
        };
        let base = row
            .baseline
            .and_then(|(name, id)| Some((name, lookup(dir, id)?)));
        let ratio = base.map(|(_, b)| ours / b);
        let (ratio_text, target_text, met) = match (&row.target, ratio) {
            (Target::RatioAtMost(t), Some(r)) => (format!("{r:.2}×"), format!("≤ {t}×"), r <= *t),
            (Target::ShareAtLeast(t), Some(r)) => (
                format!("{:.0}% of the requests/s", 100.0 / r),
                format!("≥ {:.0}%", t * 100.0),
                1.0 / r >= *t,
            ),
            (Target::NanosAtMost(ns, Some(t)), Some(r)) => (
                format!("{r:.3}×"),
                format!("≤ {} and ≤ {t}×", show(*ns)),
                ours <= *ns && r <= *t,
            ),
            (Target::NanosAtMost(ns, None), r) => (
                r.map_or_else(|| "—".to_owned(), |r| format!("{r:.2}× (flatness)")),
                format!("≤ {}", show(*ns)),
                ours <= *ns,
            ),
            (_, r) => (
                r.map_or_else(|| "—".to_owned(), |r| format!("{r:.2}×")),
                "—".to_owned(),
                true,
            ),
        };
        let met = match row.target {
            Target::Info => "—",
            _ if met => "yes",
            _ => "**no**",
        };
        let (base_name, base_ns) = base.map_or(("—", "—".to_owned()), |(n, b)| (n, show(b)));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.operation,
            show(ours),
            base_name,
            base_ns,
            ratio_text,
            target_text,
            met
        );
    }
    out
}

pub fn write(fonts: bool) {
    let dir = criterion_dir();
    let table = table(&dir);
    println!("\n{table}");
    let path = dir.join("gatepass-report.md");
    match std::fs::write(&path, &table) {
        Ok(()) => println!("table written to {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
    let chart = dir.join("gatepass-chart.png");
    if !fonts {
        eprintln!("no chart: no DejaVuSans.ttf to label it with");
        return;
    }
    match draw(&dir, &chart) {
        Ok(()) => println!("chart written to {}", chart.display()),
        Err(e) => eprintln!("no chart: {e}"),
    }
}

const FONTS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Give plotters (ours and criterion's, which share the crate and its `ab_glyph` text
/// backend) a font; `false` when there is none, and then nothing can be drawn.
pub fn register_font() -> bool {
    let Some(font) = FONTS.iter().find_map(|p| std::fs::read(p).ok()) else {
        return false;
    };
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    ["sans-serif", "serif", "monospace"].iter().all(|family| {
        plotters::style::register_font(family, FontStyle::Normal, font).is_ok()
            && plotters::style::register_font(family, FontStyle::Bold, font).is_ok()
    })
}

fn draw(dir: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (width, height) = (1300u32, 520u32);
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(760);
        draw_verify(dir, &left)?;
        draw_revocation(dir, &right)?;
        root.present()?;
    }
    let file = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut encoder = png::Encoder::new(file, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw_verify(dir: &Path, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let series: [(&str, RGBColor); 4] = [
        ("raw ring signature check", RGBColor(150, 150, 150)),
        ("gatepass full verify", RGBColor(31, 119, 180)),
        ("gatepass cache hit", RGBColor(44, 160, 44)),
        ("jsonwebtoken decode", RGBColor(214, 39, 40)),
    ];
    let groups = ["hs256", "es256", "eddsa"];
    let mut bars = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let ids = [
            Some(format!("{group}/ring")),
            Some(format!("{group}/gatepass")),
            (*group == "eddsa").then(|| "cache/hit".to_owned()),
            Some(format!("{group}/jsonwebtoken*")),
        ];
        for (s, id) in ids.iter().enumerate() {
            if let Some(ns) = id.as_deref().and_then(|id| lookup(dir, id)) {
                bars.push((g, s, ns / 1000.0));
            }
        }
    }
    let top = bars.iter().map(|b| b.2).fold(100.0, f64::max) * 2.0;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Verify cost per algorithm (µs, log scale)",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..3f64, (0.1f64..top).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("µs per token (median)")
        .label_style(("sans-serif", 14))
        .draw()?;
    for (g, name) in ["HS256", "ES256", "EdDSA"].iter().enumerate() {
        chart.draw_series(std::iter::once(Text::new(
            *name,
            (g as f64 + 0.42, 0.08),
            ("sans-serif", 16),
        )))?;
    }
    for (s, (name, color)) in series.iter().enumerate() {
        let color = *color;
        chart
            .draw_series(bars.iter().filter(|b| b.1 == s).map(|&(g, s, us)| {
                let x = g as f64 + 0.1 + s as f64 * 0.2;
                Rectangle::new([(x, 0.1), (x + 0.18, us.max(0.1))], color.filled())
            }))?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}

fn draw_revocation(dir: &Path, area: &Area<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let points: Vec<(f64, f64)> = [1_000u64, 10_000, 100_000, 1_000_000]
        .iter()
        .filter_map(|n| Some((*n as f64, lookup(dir, &format!("revocation/check/{n}"))?)))
        .collect();
    let top = points.iter().map(|p| p.1).fold(120.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption("Revocation check vs list size", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d((500f64..2_000_000f64).log_scale(), 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("entries in the list")
        .y_desc("ns per check (median)")
        .x_label_formatter(&|n| match *n as u64 {
            n if n >= 1_000_000 => format!("{}M", n / 1_000_000),
            n if n >= 1_000 => format!("{}k", n / 1_000),
            n => n.to_string(),
        })
        .label_style(("sans-serif", 14))
        .draw()?;
    let blue = RGBColor(31, 119, 180);
    chart
        .draw_series(LineSeries::new(
            [(500.0, 100.0), (2_000_000.0, 100.0)],
            RED.stroke_width(1),
        ))?
        .label("target: 100 ns")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], RED));
    chart
        .draw_series(LineSeries::new(points.clone(), blue.stroke_width(2)))?
        .label("RevocationList::check, token not revoked")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], blue));
    chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, blue.filled())))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}
