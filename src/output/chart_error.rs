//! Why a chart could not be made (drawing, format, or writing the file).

/// Why a chart could not be made.
#[derive(Debug)]
pub enum ChartError {
    /// The chart file cannot be written.
    Write { path: std::path::PathBuf, source: std::io::Error },
    /// Drawing failed (the backend's error, as text).
    Draw(String),
    /// The file name asks for a format the chart is not drawn in.
    Format(std::path::PathBuf),
}

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChartError::Write { path, source } => write!(f, "cannot write {}: {source}", path.display()),
            ChartError::Draw(what) => write!(f, "cannot draw the chart: {what}"),
            ChartError::Format(path) => {
                write!(f, "--chart {}: unsupported format; use .svg or .png (or - for SVG on stdout)", path.display())
            }
        }
    }
}

impl std::error::Error for ChartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ChartError::Write { source, .. } => Some(source),
            ChartError::Draw(_) | ChartError::Format(_) => None,
        }
    }
}
