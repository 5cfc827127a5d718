//! JavaScript number formatting, because k6 formats its summary in JavaScript: the text must
//! come out digit for digit as `Number.prototype.toString` and `toFixed` would print it.

/// `Number.prototype.toString()`: the shortest digits that read back to `x`, laid out the way
/// ECMAScript does (plain decimals from 1e-6 up to 1e21, exponent form outside).
pub(crate) fn js_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if x < 0.0 {
        return format!("-{}", js_string(-x));
    }
    // Rust's `{:e}` prints the shortest round-trip digits, e.g. `1.2345e-7` or `5e0`.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i64;
    // The value is 0.DIGITS × 10^n.
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        let zeros = "0".repeat((n - k) as usize);
        format!("{digits}{zeros}")
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let sign = if n - 1 < 0 { '-' } else { '+' };
        let e = (n - 1).abs();
        if k == 1 {
            format!("{digits}e{sign}{e}")
        } else {
            format!("{}.{}e{sign}{e}", &digits[..1], &digits[1..])
        }
    }
}

/// `Number.prototype.toFixed(digits)`: rounds the exact binary value, ties away from zero
/// (Rust's `{:.N}` rounds ties to even, which differs on values such as 1.125).
pub(crate) fn js_to_fixed(x: f64, digits: usize) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.abs() >= 1e21 || x.is_infinite() {
        return js_string(x);
    }
    let negative = x < 0.0;
    // Every finite double has at most 1074 fractional decimal digits, so this is exact.
    let exact = format!("{:.1080}", x.abs());
    let (int, frac) = exact.split_once('.').unwrap_or((exact.as_str(), ""));
    let mut kept: Vec<u8> = int.bytes().chain(frac.bytes().take(digits)).collect();
    let round_up = frac.as_bytes().get(digits).is_some_and(|d| *d >= b'5');
    if round_up {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let int_len = kept.len() - digits;
    let mut out = String::with_capacity(kept.len() + 2);
    if negative {
        out.push('-');
    }
    out.push_str(&String::from_utf8_lossy(&kept[..int_len]));
    if digits > 0 {
        out.push('.');
        out.push_str(&String::from_utf8_lossy(&kept[int_len..]));
    }
    out
}

/// `parseFloat(x.toFixed(prec)).toString()`: rounds to `prec` decimals and drops trailing zeros.
pub(crate) fn fixed_no_trailing_zeros(x: f64, prec: usize) -> String {
    let fixed = js_to_fixed(x, prec);
    match fixed.parse::<f64>() {
        Ok(v) => js_string(v),
        Err(_) => fixed,
    }
}

/// Like [`fixed_no_trailing_zeros`] but truncates instead of rounding.
pub(crate) fn trunc_no_trailing_zeros(x: f64, prec: usize) -> String {
    let mult = 10f64.powi(prec as i32);
    fixed_no_trailing_zeros((mult * x).trunc() / mult, prec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_string_matches_ecmascript() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (123456.789, "123456.789"),
            (1e21, "1e+21"),
            (1.5e22, "1.5e+22"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1.2345e-7, "1.2345e-7"),
            (5.550000000000001, "5.550000000000001"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
        ];
        for (x, want) in cases {
            assert_eq!(js_string(x), want, "{x}");
        }
    }

    #[test]
    fn to_fixed_rounds_ties_away_from_zero() {
        assert_eq!(js_to_fixed(1.125, 2), "1.13");
        assert_eq!(js_to_fixed(2.5, 0), "3");
        assert_eq!(js_to_fixed(-2.5, 0), "-3");
        assert_eq!(js_to_fixed(1.005, 2), "1.00"); // 1.00499999999999989...
        assert_eq!(js_to_fixed(9.999, 2), "10.00");
        assert_eq!(js_to_fixed(0.0, 2), "0.00");
        assert_eq!(js_to_fixed(757.1324721, 6), "757.132472");
        assert_eq!(js_to_fixed(1e21, 2), "1e+21");
    }

    #[test]
    fn trailing_zeros_are_dropped() {
        assert_eq!(fixed_no_trailing_zeros(3.0, 6), "3");
        assert_eq!(fixed_no_trailing_zeros(5.7749999999999995, 6), "5.775");
        assert_eq!(trunc_no_trailing_zeros(849.599, 2), "849.59");
        assert_eq!(trunc_no_trailing_zeros(2.999, 0), "2");
    }
}
