//! The colour scale: the diverging palettes, the robust clipping extreme and the colour bar's ticks.

use colorous::{Gradient, PINK_GREEN, RED_BLUE};

use super::Palette;

/// The percentile of |cell value| over non-zero cells at which the scale is clipped.
const CLIP_PERCENTILE: f64 = 0.99;

/// The scale never clips below one event either way.
const MIN_CLIP: f64 = 1.0;

/// Where a ColorBrewer diverging gradient has its neutral midpoint.
const MIDPOINT: f64 = 0.5;

/// Colours of the ColorBrewer schemes interpolated between: their largest diverging size, whose
/// middle colour is the shared neutral `#f7f7f7`.
const SCHEME_COLOURS: usize = 11;

/// "Nice" mantissas the clipping extreme is rounded up to (times a power of ten).
const NICE_MANTISSAS: [f64; 9] = [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0];

/// The colour bar's ticks, as fractions of the clipping extreme (top to bottom).
pub(super) const BAR_TICK_FRACTIONS: [f64; 5] = [1.0, 0.5, 0.0, -0.5, -1.0];

/// A diverging colour scale symmetric around zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Scale {
    /// Values at or beyond `±clip` get the extreme colours.
    pub clip: f64,
    /// Which colours the two halves use.
    pub palette: Palette,
}

impl Scale {
    /// A scale clipped at a robust extreme of `values`: the 99th percentile (nearest rank) of
    /// |value| over the non-zero values, at least [`MIN_CLIP`], rounded up to a nice number.
    pub fn robust(values: &[f64], palette: Palette) -> Scale {
        let mut magnitudes: Vec<f64> =
            values.iter().map(|v| v.abs()).filter(|v| *v > 0.0 && v.is_finite()).collect();
        let extreme = if magnitudes.is_empty() {
            MIN_CLIP
        } else {
            let rank = (CLIP_PERCENTILE * magnitudes.len() as f64).ceil() as usize;
            let index = rank.clamp(1, magnitudes.len()) - 1;
            let (_, value, _) = magnitudes.select_nth_unstable_by(index, f64::total_cmp);
            value.max(MIN_CLIP)
        };
        Scale { clip: nice_ceil(extreme), palette }
    }

    /// The colour of `value`: the red half of `RED_BLUE` (reversed, so red means the canary has
    /// more) above zero, and below zero the green half of `PINK_GREEN` ([`Palette::RedGreen`]) or
    /// the blue half of `RED_BLUE` ([`Palette::RedBlue`]). Both ColorBrewer schemes share the
    /// light grey midpoint `#f7f7f7`, so zero is exactly neutral and the halves meet without a
    /// seam. (colorous' continuous evaluation is a B-spline that misses the midpoint, so the
    /// scheme's own colours are interpolated linearly instead.)
    pub fn colour(&self, value: f64) -> (u8, u8, u8) {
        let t = if value.is_nan() { 0.0 } else { (value / self.clip).clamp(-1.0, 1.0) };
        // Both gradients run from their "more" colour at 0 to their "fewer" colour at 1.
        let position = MIDPOINT - MIDPOINT * t;
        let gradient: &Gradient = match (t > 0.0, self.palette) {
            (true, _) | (false, Palette::RedBlue) => &RED_BLUE,
            (false, Palette::RedGreen) => &PINK_GREEN,
        };
        piecewise_linear(gradient, position)
    }
}

/// The colour at `position` (0 to 1) of the line through the [`SCHEME_COLOURS`] colours of
/// `gradient`'s ColorBrewer scheme.
fn piecewise_linear(gradient: &Gradient, position: f64) -> (u8, u8, u8) {
    let steps = (SCHEME_COLOURS - 1) as f64;
    let scaled = position.clamp(0.0, 1.0) * steps;
    let index = (scaled.floor() as usize).min(SCHEME_COLOURS - 2);
    let frac = scaled - index as f64;
    let a = gradient.eval_rational(index, SCHEME_COLOURS);
    let b = gradient.eval_rational(index + 1, SCHEME_COLOURS);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * frac).round() as u8;
    (mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b))
}

/// The smallest nice number (a mantissa of [`NICE_MANTISSAS`] times a power of ten) at least `x`.
pub(super) fn nice_ceil(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return MIN_CLIP;
    }
    let mut power = 10f64.powi(x.log10().floor() as i32);
    loop {
        for m in NICE_MANTISSAS {
            // A relative tolerance keeps 3.0000000001 (float noise) at 3.
            if m * power >= x * (1.0 - 1e-9) {
                return m * power;
            }
        }
        power *= 10.0;
    }
}

/// A number for a label: integers without decimals, others with up to two, trailing zeros
/// dropped; a real minus sign (U+2212) and, with `signed`, a plus sign on positive values.
pub(super) fn format_number(value: f64, signed: bool) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    let magnitude = format!("{:.2}", rounded.abs());
    let magnitude = magnitude.trim_end_matches('0').trim_end_matches('.');
    if rounded < 0.0 {
        format!("\u{2212}{magnitude}")
    } else if signed && rounded > 0.0 {
        format!("+{magnitude}")
    } else {
        magnitude.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clip_is_a_nice_robust_extreme_of_at_least_one() {
        assert_eq!(Scale::robust(&[], Palette::RedGreen).clip, 1.0);
        assert_eq!(Scale::robust(&[0.0, 0.2, -0.5], Palette::RedGreen).clip, 1.0);
        // 200 cells of magnitude 3 and one outlier: the 99th percentile ignores the outlier.
        let mut values = vec![3.0; 199];
        values.push(-7.0);
        values.push(1000.0);
        values.extend([0.0; 50]);
        assert_eq!(Scale::robust(&values, Palette::RedGreen).clip, 3.0);
        // Few cells: the nearest rank is the largest.
        assert_eq!(Scale::robust(&[2.0, -7.0], Palette::RedGreen).clip, 8.0);
    }

    #[test]
    fn nice_numbers_round_up() {
        assert_eq!(nice_ceil(1.0), 1.0);
        assert_eq!(nice_ceil(1.2), 1.5);
        assert_eq!(nice_ceil(7.0), 8.0);
        assert_eq!(nice_ceil(8.5), 10.0);
        assert_eq!(nice_ceil(26.0), 30.0);
        assert!((nice_ceil(0.3) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn colours_diverge_from_a_light_neutral() {
        for palette in Palette::ALL {
            let scale = Scale { clip: 10.0, palette };
            assert_eq!(scale.colour(0.0), (0xf7, 0xf7, 0xf7), "{palette}: zero is neutral");
            let (r, g, b) = scale.colour(0.5);
            assert!(r > g && r > b && g > 200, "{palette}: a little more is pale red, {r},{g},{b}");
            let (r, g, b) = scale.colour(10.0);
            assert!(r > g.max(b) + 60, "{palette}: more is red, got {r},{g},{b}");
            assert_eq!(scale.colour(10.0), scale.colour(1e9), "clipped");
        }
        let (r, g, b) = Scale { clip: 10.0, palette: Palette::RedGreen }.colour(-10.0);
        assert!(g > r.max(b) + 30, "fewer is green, got {r},{g},{b}");
        let (r, g, b) = Scale { clip: 10.0, palette: Palette::RedBlue }.colour(-10.0);
        assert!(b > r.max(g) + 30, "fewer is blue, got {r},{g},{b}");
    }

    #[test]
    fn numbers_format_compactly() {
        assert_eq!(format_number(8.0, true), "+8");
        assert_eq!(format_number(-2.5, true), "\u{2212}2.5");
        assert_eq!(format_number(0.0, true), "0");
        assert_eq!(format_number(1.0 / 3.0, false), "0.33");
        assert_eq!(format_number(-0.001, true), "0");
    }
}
