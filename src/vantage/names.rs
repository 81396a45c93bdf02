//! Capture names from file names, in one place: a file is named by its
//! file name, a rotated capture by what its files' names share, and a
//! name given twice becomes `name#2`, `name#3`.

use std::path::Path;

/// The file name of `p` (the whole path when it has none, as `-`).
pub fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// A name for a rotated capture: what its files' names share, without the
/// rotation counter (`h1_00000_2026….pcap`, `h1_00001_….pcap` → `h1`).
pub fn chain_name(paths: &[&Path]) -> String {
    let names: Vec<String> = paths.iter().map(|p| file_name(p)).collect();
    let first = names.first().cloned().unwrap_or_default();
    let mut n = first.len();
    for other in names.iter().skip(1) {
        n = n.min(first.bytes().zip(other.bytes()).take_while(|(a, b)| a == b).count());
    }
    while !first.is_char_boundary(n) {
        n -= 1;
    }
    let stem = first[..n].trim_end_matches(|c: char| c.is_ascii_digit()).trim_end_matches(|c: char| "_-.".contains(c));
    if stem.is_empty() { first } else { stem.to_string() }
}

/// Makes `names` unique, in order: a name met again becomes `name#2`
/// (then `#3`, …, skipping any taken).
pub fn make_unique<'a>(names: impl IntoIterator<Item = &'a mut String>) {
    let mut seen = std::collections::HashSet::new();
    for name in names {
        let base = name.clone();
        let mut k = 2;
        while !seen.insert(name.clone()) {
            *name = format!("{base}#{k}");
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_file_names_made_unique() {
        let mut names: Vec<String> =
            ["a/x.pcap", "b/x.pcap", "x.pcap#2", "c/x.pcap", "-"].iter().map(|p| file_name(Path::new(p))).collect();
        make_unique(&mut names);
        assert_eq!(names, ["x.pcap", "x.pcap#2", "x.pcap#2#2", "x.pcap#3", "-"]);
        let rotated = [Path::new("d/h1_00000_20261124.pcap"), Path::new("d/h1_00001_20261124.pcap")];
        assert_eq!(chain_name(&rotated), "h1");
        assert_eq!(chain_name(&[Path::new("only.pcap")]), "only.pcap");
    }
}
