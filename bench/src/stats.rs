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

    /// How far repeated measurements of the same thing moved: the largest
    /// over the smallest (1.0 for an empty band or one sample; infinite if
    /// the smallest is 0).
    pub(crate) fn factor(&self) -> f64 {
        if self.max == 0.0 {
            1.0
        } else {
            self.max / self.min
        }
    }
}

/// How noisy a set of ratios was, in words, from its largest
/// [`factor`](Band::factor).
pub(crate) fn noise_level(factor: f64) -> &'static str {
    if factor < 1.05 {
        "low"
    } else if factor < 1.25 {
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
    fn factor_is_largest_over_smallest() {
        assert!((Band::of(&[0.8, 1.0, 1.2]).factor() - 1.5).abs() < 1e-12);
        assert_eq!(Band::default().factor(), 1.0);
        assert_eq!(Band::of(&[0.0, 1.0]).factor(), f64::INFINITY);
        assert_eq!(noise_level(1.01), "low");
        assert_eq!(noise_level(1.10), "moderate");
        assert_eq!(noise_level(1.50), "high");
    }
}
