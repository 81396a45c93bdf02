//! Headless Chromium for the chart and HTML tests: load a page, let its
//! script measure the layout, read the measurement back.

use std::process::Command;

/// Runs headless Chromium on `page` in a window `width` pixels wide and
/// returns the DOM it dumps. Fails (never skips) when Chromium is missing.
pub fn chromium_dom(page: &str, name: &str, width: u32) -> String {
    let dir = std::env::temp_dir().join(format!("meetgraph-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("page.html");
    std::fs::write(&file, page).unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--window-size={width},1000"))
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium must be installed (Debian package chromium; .ci/run installs it)");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!dom.is_empty(), "chromium printed no DOM: {}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
    dom
}

/// What a page's script wrote as JSON into `<pre id="result">`.
pub fn measured<T: serde::de::DeserializeOwned>(dom: &str) -> T {
    let json = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("no measurement in the DOM: {dom}"));
    let json = json.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// A page's box: left, top, right, bottom in CSS pixels.
pub type Box4 = [f64; 4];

/// Whether two boxes overlap by more than `slack` pixels each way.
pub fn overlap(a: Box4, b: Box4, slack: f64) -> bool {
    a[0] + slack < b[2] && b[0] + slack < a[2] && a[1] + slack < b[3] && b[1] + slack < a[3]
}
