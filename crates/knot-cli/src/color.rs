//! Colour for `knot show`: plain ANSI escape codes on the headline and the
//! section titles of the text rendering.

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const KIND: &str = "\x1b[1;31m";
const TITLE: &str = "\x1b[1;36m";

/// Whether the environment allows colour: `NO_COLOR` unset or empty, and a
/// terminal that is not `dumb`.
pub(crate) fn wanted_by_environment() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
    !no_color && !dumb
}

/// Colours the text rendering of a report: the headline's "knot found a
/// KIND" in bold red and the rest of it in bold, and the section titles
/// (`tasks:`, `schedule:`, ...) in bold cyan.
///
/// Only colour is added: removing the escape codes gives back `text`.
pub(crate) fn paint(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 128);
    // The headline (with the indented lines of a long message) runs up to
    // the first empty line; the sections follow it.
    let mut in_body = false;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i == 0 {
            match line.split_once(": ") {
                Some((kind, message)) => {
                    out.push_str(&format!("{KIND}{kind}{RESET}{BOLD}: {message}{RESET}"));
                }
                None => out.push_str(&format!("{KIND}{line}{RESET}")),
            }
        } else if !in_body {
            in_body = line.is_empty();
            out.push_str(line);
        } else if line.is_empty() || line.starts_with(' ') {
            out.push_str(line);
        } else if let Some(title) = line.strip_suffix(':') {
            // `tasks:`, `wait-for graph:`, `last events:`.
            out.push_str(&format!("{TITLE}{title}:{RESET}"));
        } else if let Some((title, rest)) = line.split_once(": ") {
            // `schedule: ...`, `replay: ...`.
            out.push_str(&format!("{TITLE}{title}:{RESET} {rest}"));
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('\x1b') {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('m').expect("an escape ends with m");
            rest = &rest[i + end + 1..];
        }
        out.push_str(rest);
        out
    }

    const SAMPLE: &str = "knot found a deadlock: every task is blocked\n  \
                          and main has not returned\n\n\
                          tasks:\n  task 1 \"a\": blocked\n\
                          found by strategy random, seed 1, execution 2\n\
                          schedule: 1:0.1\n\
                          replay: KNOT_REPLAY='1:0.1' cargo test x";

    #[test]
    fn painting_only_adds_escape_codes() {
        assert_eq!(strip(&paint(SAMPLE)), SAMPLE);
    }

    #[test]
    fn the_headline_and_titles_are_coloured() {
        let painted = paint(SAMPLE);
        assert!(painted.starts_with("\x1b[1;31mknot found a deadlock\x1b[0m\x1b[1m: every"));
        assert!(painted.contains("\n\x1b[1;36mtasks:\x1b[0m\n"));
        assert!(painted.contains("\n\x1b[1;36mschedule:\x1b[0m 1:0.1\n"));
        assert!(painted.contains("\n\x1b[1;36mreplay:\x1b[0m KNOT_REPLAY="));
        // Lines inside sections, and the search line, stay plain.
        assert!(painted.contains("\n  task 1 \"a\": blocked\n"));
        assert!(painted.contains("\nfound by strategy random"));
        // The message's second line is not a section title.
        assert!(painted.contains("\n  and main has not returned\n\n"));
    }

    #[test]
    fn a_headline_without_message_is_coloured_whole() {
        assert_eq!(
            paint("knot found a leak"),
            "\x1b[1;31mknot found a leak\x1b[0m"
        );
    }
}
