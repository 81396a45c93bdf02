//! `meetgraph man`: the manual is generated from the flags, so every
//! command and every option `--help` lists is in it (meetgraph(1) and the
//! command's own page), with the exit statuses the binary returns and
//! examples whose flags exist; groff renders every page without a warning.

use std::process::{Command, Output};

fn meetgraph(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meetgraph")).args(args).output().unwrap()
}

fn stdout(args: &[&str]) -> String {
    let o = meetgraph(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// The commands `meetgraph --help` lists (not clap's `help`).
fn commands() -> Vec<String> {
    let help = stdout(&["--help"]);
    let list = help.split("Commands:").nth(1).unwrap().split("Options:").next().unwrap();
    let names: Vec<String> = list
        .lines()
        .filter_map(|l| l.strip_prefix("  ").and_then(|l| l.split_whitespace().next()))
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    assert!(names.len() >= 8 && names.iter().any(|n| n == "analyze"), "{names:?}");
    names
}

/// The long options `meetgraph COMMAND --help` lists.
fn long_options(command: &str) -> Vec<String> {
    let help = stdout(&[command, "--help"]);
    let options: Vec<String> = help
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split_whitespace().take(2).find_map(|w| w.strip_prefix("--")))
        .map(|o| o.trim_end_matches(',').split(['=', '[']).next().unwrap_or_default().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    assert!(options.iter().any(|o| o == "help"), "{command}: {options:?}");
    options
}

/// Headings and their order in a page.
fn sections(page: &str) -> Vec<&str> {
    page.lines().filter_map(|l| l.strip_prefix(".SH ")).map(|h| h.trim_matches('"')).collect()
}

/// A page through groff with every warning on: none may come.
fn renders_cleanly(name: &str, page: &str) -> String {
    use std::io::Write;
    let mut groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-rLL=80n", "-P-cbou"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("groff (installed with man-db) renders the manual");
    groff.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
    let out = groff.wait_with_output().unwrap();
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && warnings.is_empty(), "{name}: {warnings}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_manual_has_every_command_and_option_exit_status_and_examples() {
    let page = stdout(&["man"]);
    assert!(page.is_ascii(), "non-ASCII characters are escaped for troff");
    assert!(page.starts_with(".ie \\n(.g .ds Aq \\(aq") || page.contains(".TH MEETGRAPH 1"), "{}", &page[..200]);
    assert!(page.contains(".TH MEETGRAPH 1"));
    assert_eq!(
        sections(&page),
        ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "EXAMPLES", "ENVIRONMENT", "SEE ALSO"]
    );
    let text = renders_cleanly("meetgraph(1)", &page);
    for command in commands() {
        assert!(page.contains(&format!(".SS \"meetgraph {command}\"")), "{command} has a section");
        assert!(page.contains(&format!("\\fBmeetgraph\\-{command}\\fR(1)")), "SEE ALSO names meetgraph-{command}(1)");
        let own = stdout(&["man", &command]);
        assert!(own.is_ascii());
        assert!(own.contains(&format!(".TH MEETGRAPH-{} 1", command.to_uppercase())), "{command}");
        let own_sections = sections(&own);
        for s in ["NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "SEE ALSO"] {
            assert!(own_sections.contains(&s), "{command}: {s} in {own_sections:?}");
        }
        renders_cleanly(&command, &own);
        for option in long_options(&command) {
            let roff = format!("\\-\\-{}", option.replace('-', "\\-"));
            assert!(page.contains(&roff), "meetgraph(1) lacks {command} --{option}");
            assert!(own.contains(&roff), "meetgraph-{command}(1) lacks --{option}");
        }
        // Status 3 only where a command returns it.
        let has_three = own.contains(".TP\n.B 3\n");
        assert_eq!(has_three, matches!(command.as_str(), "analyze" | "watch"), "{command}");
    }
    // The statuses the binary returns, each explained.
    for code in ["0", "1", "2", "3", "70"] {
        assert!(page.contains(&format!(".TP\n.B {code}\n")), "exit status {code}");
    }
    assert!(text.contains("EXIT STATUS") && text.contains("EXAMPLES"), "{text}");
    // No rendered line runs past the page (a roff mistake shows as one).
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
}

/// Every example's command and flags exist (the manual cannot drift from
/// the flags it shows).
#[test]
fn the_examples_use_real_commands_and_flags() {
    let page = stdout(&["man"]);
    let examples = page.split(".SH EXAMPLES").nth(1).unwrap().split(".SH ").next().unwrap();
    let lines: Vec<String> = examples
        .lines()
        .filter_map(|l| l.strip_prefix(".B "))
        .map(|l| l.replace("\\-", "-").replace("\\e", "\\"))
        .collect();
    assert!(lines.len() >= 8, "{examples}");
    let names = commands();
    for line in &lines {
        let words: Vec<&str> = line.split_whitespace().skip_while(|w| *w != "meetgraph").skip(1).collect();
        let command = words.first().copied().unwrap_or_default();
        assert!(names.iter().any(|n| n == command), "{line}: no command {command}");
        let help = stdout(&[command, "--help"]);
        for flag in words.iter().take_while(|w| !matches!(**w, "|" | ">")).filter(|w| w.starts_with('-') && w.len() > 1)
        {
            assert!(help.contains(&format!("{flag} ")) || help.contains(&format!("{flag},")), "{line}: {flag}");
        }
    }
    // An unknown command's page is a usage error naming the commands.
    let o = meetgraph(&["man", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("man nope: no such command; give one of dump, analyze"), "{err}");
}
