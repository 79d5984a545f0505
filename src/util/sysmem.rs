//! Memory sizes: parsing (`64GiB`, `500 MB`), formatting, and what this machine offers
//! (`MemAvailable` of `/proc/meminfo`, the address-space limit of `/proc/self/limits`).

/// Parses a memory size: a number with an optional unit `B`, `kB`/`KB`, `MB`, `GB`, `TB`
/// (powers of 1000) or `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024); a bare number is bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')).unwrap_or(t.len());
    let (num, unit) = (t[..split].trim(), t[split..].trim());
    let bad = || format!("`{text}` is not a memory size (examples: 64GiB, 500MB, 1TB)");
    let v: f64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "" | "B" => 1.0,
        "k" | "K" | "kB" | "KB" => 1e3,
        "M" | "MB" => 1e6,
        "G" | "GB" => 1e9,
        "T" | "TB" => 1e12,
        "Ki" | "KiB" => 1024.0,
        "Mi" | "MiB" => 1024.0 * 1024.0,
        "Gi" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "Ti" | "TiB" => 1024.0f64.powi(4),
        _ => return Err(bad()),
    };
    let b = v * mult;
    if !b.is_finite() || b <= 0.0 || b >= u64::MAX as f64 {
        return Err(format!("`{text}`: a memory size must be > 0 and below 16 EiB"));
    }
    Ok(b as u64)
}

/// `1.5 GB`, `312.0 MB`, `12 B` (powers of 1000); `inf` for what no machine has.
pub fn fmt_bytes(b: f64) -> String {
    let b = b + 0.0; // (an empty float sum is -0.0: print it as 0)
    if !b.is_finite() || b >= 1e21 {
        return format!("{b:.3e} B");
    }
    for (unit, scale) in [("EB", 1e18), ("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)] {
        if b >= scale {
            return format!("{:.1} {unit}", b / scale);
        }
    }
    format!("{b:.0} B")
}

/// `MemAvailable` of `/proc/meminfo`, in bytes (None where there is no such file).
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The soft limit on this process's address space (`ulimit -v`), in bytes, if one is set.
pub fn address_space_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    line["Max address space".len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64GiB").unwrap(), 64 << 30);
        assert_eq!(parse_size("500 MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("1e3").unwrap(), 1000);
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("-1GB").is_err());
        assert!(parse_size("0").is_err());
        assert_eq!(fmt_bytes(80e9), "80.0 GB");
        assert_eq!(fmt_bytes(12.0), "12 B");
    }
}
