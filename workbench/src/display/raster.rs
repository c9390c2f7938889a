//! PNG copies of the workbench's SVG figures, for front ends and converters that do not draw SVG.
//!
//! JupyterLab draws SVG only in trusted outputs (a notebook run by someone else and opened
//! later shows the PNG), and nbconvert's PDF export needs a raster image. The figures are
//! drawn once as SVG; this module renders that SVG with resvg, so both copies always show
//! the same thing.

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use resvg::usvg::fontdb::Database;
use resvg::{tiny_skia, usvg};

/// Why a figure has no PNG copy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SVG text could not be parsed.
    #[error("the SVG figure cannot be read: {0}")]
    Svg(String),
    /// No font was found, so the copy would lose every label.
    #[error(
        "no font found in the system's font directories (on Debian: apt-get install \
         fonts-dejavu-core); a PNG copy would have no text"
    )]
    NoFonts,
    /// The figure has no area.
    #[error("the SVG figure has no area ({width} x {height})")]
    Empty {
        /// Width in pixels.
        width: f32,
        /// Height in pixels.
        height: f32,
    },
    /// The pixels could not be encoded.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
}

/// Families tried, in order, for the generic names figures use (`sans-serif`, `serif`,
/// `monospace`). fontdb maps those to Microsoft fonts by default, which a Linux enclave
/// does not have.
const SANS: &[&str] = &["DejaVu Sans", "Liberation Sans", "Noto Sans", "FreeSans"];
const SERIF: &[&str] = &[
    "DejaVu Serif",
    "Liberation Serif",
    "Noto Serif",
    "FreeSerif",
];
const MONO: &[&str] = &[
    "DejaVu Sans Mono",
    "Liberation Mono",
    "Noto Sans Mono",
    "FreeMono",
];

/// The system's fonts, loaded once per process (tens of milliseconds); `None` when there are
/// none.
fn fonts() -> Option<Arc<Database>> {
    static FONTS: OnceLock<Option<Arc<Database>>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = Database::new();
            db.load_system_fonts();
            if db.is_empty() {
                return None;
            }
            let families: Vec<String> = db
                .faces()
                .flat_map(|face| face.families.iter().map(|(name, _)| name.clone()))
                .collect();
            // The first preferred family present, else any family: some text beats none.
            let pick = |preferred: &[&str]| {
                preferred
                    .iter()
                    .find(|want| families.iter().any(|have| have == *want))
                    .map(|found| (*found).to_owned())
                    .unwrap_or_else(|| families[0].clone())
            };
            let (sans, serif, mono) = (pick(SANS), pick(SERIF), pick(MONO));
            db.set_sans_serif_family(sans);
            db.set_serif_family(serif);
            db.set_monospace_family(mono);
            Some(Arc::new(db))
        })
        .clone()
}

/// Renders an SVG document to PNG at its own size (one pixel per SVG unit), on white.
///
/// # Errors
///
/// [`Error`]: unreadable SVG, no fonts on the system, an empty figure, an encoding
/// failure.
pub fn png(svg: &str) -> Result<Vec<u8>, Error> {
    let fontdb = fonts().ok_or(Error::NoFonts)?;
    let options = usvg::Options {
        fontdb,
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| Error::Svg(e.to_string()))?;
    let size = tree.size();
    let empty = Error::Empty {
        width: size.width(),
        height: size.height(),
    };
    let pixels = size.to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(pixels.width(), pixels.height()).ok_or(empty)?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| Error::Encode(e.to_string()))
}

/// [`png`] as base64, the form a Jupyter MIME bundle carries for `image/png`.
///
/// # Errors
///
/// As [`png`].
pub fn png_base64(svg: &str) -> Result<String, Error> {
    png(svg).map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> tiny_skia::Pixmap {
        tiny_skia::Pixmap::decode_png(png).expect("a PNG")
    }

    /// Pixels that are not white.
    fn inked(pixmap: &tiny_skia::Pixmap) -> usize {
        pixmap
            .pixels()
            .iter()
            .filter(|p| (p.red(), p.green(), p.blue()) != (255, 255, 255))
            .count()
    }

    #[test]
    fn a_figure_keeps_its_size_and_its_drawing() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80">
            <rect x="10" y="10" width="50" height="20" fill="rgb(200,0,0)"/></svg>"#;
        let pixmap = decode(&png(svg).expect("renders"));
        assert_eq!((pixmap.width(), pixmap.height()), (120, 80));
        assert_eq!(inked(&pixmap), 50 * 20);
        let inside = pixmap.pixel(20, 15).expect("in bounds");
        assert_eq!((inside.red(), inside.green(), inside.blue()), (200, 0, 0));
    }

    #[test]
    fn labels_in_generic_families_are_drawn() {
        // plotters and our hand-written figures name only generic families.
        for family in ["sans-serif", "serif", "monospace"] {
            let svg = format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">
                <text x="5" y="30" font-family="{family}" font-size="20">Q30 depth</text></svg>"#
            );
            let pixmap = decode(&png(&svg).expect("renders"));
            assert!(inked(&pixmap) > 100, "{family}: the label was not drawn");
        }
    }

    #[test]
    fn bad_svg_is_an_error_not_a_panic() {
        assert!(matches!(png("<svg"), Err(Error::Svg(_))));
        let empty = r#"<svg xmlns="http://www.w3.org/2000/svg" width="0" height="10"/>"#;
        assert!(png(empty).is_err());
    }

    #[test]
    fn base64_is_the_png_bytes() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>"#;
        let text = png_base64(svg).expect("renders");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("base64");
        assert_eq!(bytes, png(svg).expect("renders"));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}
