//! Exact decimal amounts: money is never a float here.

use std::fmt;

/// An exact decimal: an integer number of units of `10^-scale`. `0.125` is
/// `{ units: 125, scale: 3 }`. Sums keep the largest scale seen, so a column of
/// three-decimal amounts sums to a three-decimal total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Amount {
    units: i128,
    scale: u8,
}

/// A string that is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a decimal amount")]
pub struct AmountError;

/// The most decimal places read.
const MAX_SCALE: u8 = 18;

fn pow10(n: u8) -> i128 {
    10i128.pow(u32::from(n))
}

impl Amount {
    /// Zero with no decimals.
    pub const ZERO: Amount = Amount { units: 0, scale: 0 };

    /// `units × 10^-scale`.
    pub fn new(units: i128, scale: u8) -> Self {
        Amount { units, scale }
    }

    /// The integer of units.
    pub fn units(&self) -> i128 {
        self.units
    }

    /// Decimal places.
    pub fn scale(&self) -> u8 {
        self.scale
    }

    /// Reads `-?digits[.digits]` (no exponent, no thousands separators).
    pub fn parse(s: &str) -> Result<Self, AmountError> {
        let bytes = s.as_bytes();
        let (negative, digits) = match bytes.first() {
            Some(b'-') => (true, &bytes[1..]),
            Some(b'+') => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        if digits.is_empty() {
            return Err(AmountError);
        }
        let mut units: i128 = 0;
        let mut scale: u8 = 0;
        let mut seen_dot = false;
        let mut seen_digit = false;
        for &b in digits {
            match b {
                b'0'..=b'9' => {
                    units = units
                        .checked_mul(10)
                        .and_then(|u| u.checked_add(i128::from(b - b'0')))
                        .ok_or(AmountError)?;
                    seen_digit = true;
                    if seen_dot {
                        scale += 1;
                        if scale > MAX_SCALE {
                            return Err(AmountError);
                        }
                    }
                }
                b'.' if !seen_dot => seen_dot = true,
                _ => return Err(AmountError),
            }
        }
        if !seen_digit {
            return Err(AmountError);
        }
        Ok(Amount {
            units: if negative { -units } else { units },
            scale,
        })
    }

    /// This amount at `scale` (more places only; never rounds).
    fn rescaled(self, scale: u8) -> Option<i128> {
        self.units.checked_mul(pow10(scale.checked_sub(self.scale)?))
    }

    /// The exact sum, at the larger scale; `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        let scale = self.scale.max(other.scale);
        let units = self.rescaled(scale)?.checked_add(other.rescaled(scale)?)?;
        Some(Amount { units, scale })
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let abs = self.units.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let div = 10u128.pow(u32::from(self.scale));
        write!(
            f,
            "{sign}{}.{:0width$}",
            abs / div,
            abs % div,
            width = usize::from(self.scale)
        )
    }
}

impl std::str::FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_keep_the_scale() {
        for s in ["0.000", "1.250", "-3.5", "42", "0.1", "123456789.123456789", "-0.001"] {
            assert_eq!(Amount::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Amount::parse("+7.00").unwrap().to_string(), "7.00");
        for bad in [
            "",
            "-",
            ".",
            "1e3",
            "1,5",
            "1.2.3",
            "abc",
            " 1",
            "0x10",
            "1.0000000000000000000",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sums_are_exact() {
        // 0.1 + 0.2 is exactly 0.3 here.
        let s = Amount::parse("0.1")
            .unwrap()
            .checked_add(Amount::parse("0.2").unwrap())
            .unwrap();
        assert_eq!(s.to_string(), "0.3");
        let mut total = Amount::ZERO;
        for _ in 0..1_000_000 {
            total = total.checked_add(Amount::parse("0.001").unwrap()).unwrap();
        }
        assert_eq!(total.to_string(), "1000.000");
        let mixed = Amount::parse("1.5")
            .unwrap()
            .checked_add(Amount::parse("0.125").unwrap())
            .unwrap();
        assert_eq!(mixed.to_string(), "1.625");
        assert!(Amount::new(i128::MAX, 0).checked_add(Amount::new(1, 0)).is_none());
    }
}
