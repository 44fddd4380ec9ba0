// SPDX-License-Identifier: BSD-2-Clause
//! Summaries of repeated wall-clock measurements.

/// Summary of samples: median, minimum, maximum.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Band {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Band {
    /// The band of `samples`, ignoring values that are not finite (none:
    /// all zero).
    pub(crate) fn of(samples: &[f64]) -> Band {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Band::default();
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Band {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    /// The width of the band relative to its median, `(max - min) /
    /// median` (0 for an empty band): how far repeated measurements of the
    /// same thing moved.
    pub(crate) fn spread(&self) -> f64 {
        if self.median > 0.0 {
            (self.max - self.min) / self.median
        } else {
            0.0
        }
    }
}

/// How noisy a set of ratios was, in words, from its largest spread.
pub(crate) fn noise_level(spread: f64) -> &'static str {
    if spread < 0.05 {
        "low"
    } else if spread < 0.20 {
        "moderate"
    } else {
        "high"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_has_median_min_max() {
        assert_eq!(
            Band::of(&[3.0, 1.0, 2.0]),
            Band {
                median: 2.0,
                min: 1.0,
                max: 3.0
            }
        );
        assert_eq!(Band::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
        assert_eq!(Band::of(&[]), Band::default());
        assert_eq!(Band::of(&[f64::NAN, 2.0]).median, 2.0);
    }

    #[test]
    fn spread_is_relative_to_the_median() {
        assert!((Band::of(&[0.9, 1.0, 1.1]).spread() - 0.2).abs() < 1e-12);
        assert_eq!(Band::default().spread(), 0.0);
        assert_eq!(noise_level(0.01), "low");
        assert_eq!(noise_level(0.10), "moderate");
        assert_eq!(noise_level(0.50), "high");
    }
}
