//! Bar charts drawn with plotters: SVG (no font needed: the text is SVG
//! `<text>`, laid out by the viewer) and PNG (rasterised text needs a
//! TrueType font, loaded at run time from the system; see [`load_font`]).
//!
//! The layout is computed here (label column, bar lengths, value labels), so
//! no text measuring is needed and the SVG and PNG look the same.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::model::Report;
use crate::tables::slug;
use crate::{ReportError, write_file};

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Label.
    pub label: String,
    /// Value (nodes).
    pub value: u64,
}

/// A horizontal bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Identifier; the file name stem with `--out-dir`.
    pub id: String,
    /// Section number (1–7) it illustrates.
    pub section: u8,
    /// Title.
    pub title: String,
    /// Bars, top to bottom.
    pub bars: Vec<Bar>,
}

const WIDTH: u32 = 760;
const ROW: u32 = 24;
const TOP: u32 = 40;
const BOTTOM: u32 = 14;
const LABEL_W: i32 = 250;
const VALUE_W: i32 = 110;
const MAX_LABEL: usize = 34;

const COLORS: [RGBColor; 7] = [
    RGBColor(0x2b, 0x6c, 0xb0),
    RGBColor(0x2f, 0x85, 0x5a),
    RGBColor(0x8a, 0x4b, 0xaf),
    RGBColor(0xc0, 0x56, 0x21),
    RGBColor(0x1f, 0x7a, 0x8c),
    RGBColor(0x6b, 0x72, 0x80),
    RGBColor(0xb8, 0x32, 0x32),
];

fn bars<'a>(items: impl IntoIterator<Item = (String, u64)> + 'a) -> Vec<Bar> {
    items
        .into_iter()
        .map(|(label, value)| Bar { label, value })
        .collect()
}

/// The report's charts: ports, families, versions of each family shown,
/// CVEs, TLS versions, countries, providers and statuses. Charts whose bars
/// are all zero are left out.
pub fn charts(r: &Report) -> Vec<Chart> {
    let mut out = Vec::new();
    let mut push = |id: String, section: u8, title: String, b: Vec<Bar>| {
        if b.iter().any(|x| x.value > 0) {
            out.push(Chart {
                id,
                section,
                title,
                bars: b,
            });
        }
    };
    push(
        "chart_ports".into(),
        1,
        "Service nodes per port".into(),
        bars(
            r.discovery
                .ports
                .iter()
                .map(|p| (format!("port {}", p.port), p.services)),
        ),
    );
    let fp = &r.fingerprinting;
    let mut fam: Vec<(String, u64)> = fp
        .family_rows
        .iter()
        .map(|f| (f.family.clone(), f.total))
        .collect();
    if let Some(o) = &fp.family_other {
        fam.push((format!("(other: {})", o.distinct), o.total));
    }
    push(
        "chart_families".into(),
        2,
        "Nodes per family".into(),
        bars(fam),
    );
    for f in &r.versions.families {
        let mut v: Vec<(String, u64)> = f
            .versions
            .iter()
            .map(|v| (v.version.clone(), v.total))
            .collect();
        if let Some(o) = &f.other {
            v.push((format!("(other: {})", o.distinct), o.total));
        }
        push(
            format!("chart_versions_{}", slug(&f.family)),
            3,
            format!("{} versions (nodes)", f.family),
            bars(v),
        );
    }
    let top = r.options.top.max(1);
    push(
        "chart_cves".into(),
        4,
        "Nodes in a CVE's affected range".into(),
        bars(
            r.exposure
                .cves
                .iter()
                .filter(|c| c.affected > 0)
                .take(top)
                .map(|c| (c.id.clone(), c.affected)),
        ),
    );
    push(
        "chart_tls_versions".into(),
        5,
        "TLS versions negotiated".into(),
        bars(
            r.transport
                .tls_versions
                .iter()
                .map(|t| (t.name.clone(), t.total)),
        ),
    );
    let g = &r.geography;
    let mut c: Vec<(String, u64)> = g
        .countries
        .iter()
        .map(|c| {
            let label = match (c.iso_code.is_empty(), c.name.is_empty()) {
                (false, false) => format!("{} {}", c.iso_code, c.name),
                (false, true) => c.iso_code.clone(),
                _ => c.name.clone(),
            };
            (label, c.total)
        })
        .collect();
    if let Some(o) = &g.country_other {
        c.push((format!("(other: {})", o.distinct), o.total));
    }
    if let Some(o) = &g.country_unknown {
        c.push(("(unknown)".into(), o.total));
    }
    push(
        "chart_countries".into(),
        6,
        "Nodes per country".into(),
        bars(c),
    );
    let mut p: Vec<(String, u64)> = g
        .providers
        .iter()
        .map(|p| {
            let label = match p.asn {
                Some(n) => format!("AS{n} {}", p.organization),
                None => p.organization.clone(),
            };
            (label, p.total)
        })
        .collect();
    if let Some(o) = &g.provider_other {
        p.push((format!("(other: {})", o.distinct), o.total));
    }
    if let Some(o) = &g.provider_unknown {
        p.push(("(unknown)".into(), o.total));
    }
    push(
        "chart_providers".into(),
        6,
        "Nodes per provider".into(),
        bars(p),
    );
    push(
        "chart_statuses".into(),
        7,
        "Grab status".into(),
        bars(
            r.problems
                .statuses
                .iter()
                .filter(|s| s.total > 0)
                .map(|s| (s.name.clone(), s.total)),
        ),
    );
    out
}

fn size_of(chart: &Chart) -> (u32, u32) {
    (WIDTH, TOP + ROW * chart.bars.len().max(1) as u32 + BOTTOM)
}

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(MAX_LABEL - 1).collect();
        s.push('…');
        s
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let color = COLORS[usize::from(chart.section.saturating_sub(1)) % COLORS.len()];
    let title = TextStyle::from(FontDesc::new(FontFamily::SansSerif, 17.0, FontStyle::Bold))
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    root.draw(&Text::new(
        chart.title.clone(),
        (12, (TOP / 2) as i32),
        title,
    ))?;
    let label = TextStyle::from(("sans-serif", 14).into_font())
        .color(&RGBColor(0x33, 0x33, 0x33))
        .pos(Pos::new(HPos::Right, VPos::Center));
    let value = TextStyle::from(("sans-serif", 14).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let max = chart.bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let span = WIDTH as i32 - LABEL_W - VALUE_W;
    let axis = RGBColor(0xbb, 0xbb, 0xbb);
    let bottom = (TOP + ROW * chart.bars.len() as u32) as i32;
    root.draw(&PathElement::new(
        vec![(LABEL_W, TOP as i32 - 2), (LABEL_W, bottom + 2)],
        axis,
    ))?;
    for (i, b) in chart.bars.iter().enumerate() {
        let y0 = (TOP + ROW * i as u32) as i32;
        let mid = y0 + ROW as i32 / 2;
        root.draw(&Text::new(
            short(&b.label),
            (LABEL_W - 8, mid),
            label.clone(),
        ))?;
        let len = ((b.value as f64 / max as f64) * span as f64).round() as i32;
        if len > 0 {
            root.draw(&Rectangle::new(
                [
                    (LABEL_W + 1, y0 + 4),
                    (LABEL_W + 1 + len, y0 + ROW as i32 - 4),
                ],
                color.filled(),
            ))?;
        }
        root.draw(&Text::new(
            b.value.to_string(),
            (LABEL_W + len + 8, mid),
            value.clone(),
        ))?;
    }
    root.present()
}

/// The chart as a standalone SVG document (no font needed).
pub fn chart_svg(chart: &Chart) -> Result<String, ReportError> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, size_of(chart)).into_drawing_area();
        draw(&root, chart).map_err(|e| ReportError::Chart(format!("{}: {e}", chart.id)))?;
    }
    Ok(s)
}

/// The font registered for PNG text, if one was found.
static FONT: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Font files tried, in order, after `$SMTPSWEEP_FONT`: Debian's
/// `fonts-dejavu-core`, then `fonts-liberation`/`fonts-liberation2`, then
/// other common locations.
pub const FONT_CANDIDATES: [&str; 6] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
];

/// Find and register a TrueType font for PNG text (once per process);
/// returns the file used. The bold face is used when it sits beside the
/// regular one (`DejaVuSans-Bold.ttf`); otherwise titles use the regular
/// face.
pub fn load_font() -> Option<&'static Path> {
    FONT.get_or_init(|| {
        let env = std::env::var_os("SMTPSWEEP_FONT").map(PathBuf::from);
        let candidates = env
            .into_iter()
            .chain(FONT_CANDIDATES.iter().map(PathBuf::from));
        for path in candidates {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_err() {
                continue;
            }
            let bold = path
                .to_str()
                .map(|p| {
                    p.replace("Sans.ttf", "Sans-Bold.ttf")
                        .replace("-Regular.ttf", "-Bold.ttf")
                })
                .map(PathBuf::from)
                .filter(|b| b != &path);
            if let Some(bytes) = bold.and_then(|b| std::fs::read(b).ok()) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, bytes);
            }
            return Some(path);
        }
        None
    })
    .as_deref()
}

/// The chart as a PNG image; `None` when no font is available.
pub fn chart_png(chart: &Chart) -> Result<Option<Vec<u8>>, ReportError> {
    if load_font().is_none() {
        return Ok(None);
    }
    let (w, h) = size_of(chart);
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root, chart).map_err(|e| ReportError::Chart(format!("{}: {e}", chart.id)))?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc
            .write_header()
            .map_err(|e| ReportError::Chart(format!("{}: {e}", chart.id)))?;
        wr.write_image_data(&rgb)
            .map_err(|e| ReportError::Chart(format!("{}: {e}", chart.id)))?;
    }
    Ok(Some(out))
}

/// What [`write_charts`] wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartFiles {
    /// Files written (SVG, and PNG when a font was found).
    pub files: Vec<PathBuf>,
    /// One line when PNG files were skipped for want of a font.
    pub notice: Option<String>,
}

/// Write every chart as `<id>.svg` and `<id>.png` into `dir` (created if
/// missing). Without a font only SVG files are written and `notice` says so.
pub fn write_charts(r: &Report, dir: &Path) -> Result<ChartFiles, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::Write {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut out = ChartFiles::default();
    for c in charts(r) {
        let p = dir.join(format!("{}.svg", c.id));
        write_file(&p, chart_svg(&c)?.as_bytes())?;
        out.files.push(p);
        match chart_png(&c)? {
            Some(png) => {
                let p = dir.join(format!("{}.png", c.id));
                write_file(&p, &png)?;
                out.files.push(p);
            }
            None => {
                out.notice = Some(
                    "no TrueType font found (install fonts-dejavu-core or set SMTPSWEEP_FONT): charts written as SVG only"
                        .to_string(),
                );
            }
        }
    }
    Ok(out)
}
