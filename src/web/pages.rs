//! The page chrome, written once: the document head, the skip link, the top bar with its
//! navigation, the notice every script reports problems in, and the footer. The session and
//! history pages (`assets/pages/*.html`, only what goes inside `<main>`) and the setup guides
//! (`help.rs`) are each wrapped in it, once, when first served.

use focus_notify::message::escape_html;

/// The pages of the top bar's navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Session,
    History,
    Calibrate,
}

impl Nav {
    const ALL: [Nav; 3] = [Nav::Session, Nav::History, Nav::Calibrate];

    fn href(self) -> &'static str {
        match self {
            Nav::Session => "/",
            Nav::History => "/history",
            Nav::Calibrate => "/calibrate",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Nav::Session => "Current session",
            Nav::History => "History",
            Nav::Calibrate => "Calibrate",
        }
    }
}

/// One page inside the chrome. Text fields are plain text (escaped here); `main` is trusted
/// HTML from the binary itself (a page fragment, or a guide rendered from `docs/`).
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// After "Focus Sentry · " in the title bar.
    pub title: &'a str,
    /// The navigation entry marked as the current page, if any.
    pub current: Option<Nav>,
    /// The page's ES module under `/assets/`, if it has one.
    pub script: Option<&'a str>,
    /// Whether the page has the notice (`#notice`, see `assets/notice.js`): pages with a
    /// script do.
    pub notice: bool,
    /// The content of `<main>`.
    pub main: &'a str,
    /// The footer's note, as HTML from the binary itself.
    pub footer: &'a str,
}

const NOTICE: &str = r#"  <section id="notice" class="notice" hidden aria-live="assertive">
    <div>
      <strong id="notice-title">Something went wrong</strong>
      <p id="notice-text"></p>
    </div>
    <div class="actions">
      <button type="button" class="btn" id="notice-action">Try again</button>
    </div>
  </section>
"#;

/// The whole HTML document of `page`.
pub fn render(page: &Page<'_>) -> String {
    let script = page
        .script
        .map(|src| {
            format!(
                "<script type=\"module\" src=\"/assets/{}\"></script>\n",
                escape_html(src)
            )
        })
        .unwrap_or_default();
    let nav: String = Nav::ALL
        .iter()
        .map(|&entry| {
            let current = if page.current == Some(entry) {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!(
                "      <a href=\"{}\"{current}>{}</a>\n",
                entry.href(),
                entry.label()
            )
        })
        .collect();
    let notice = if page.notice { NOTICE } else { "" };
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Focus Sentry · {title}</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
{script}</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar">
  <div class="topbar-inner">
    <a class="brand" href="/">Focus <span>Sentry</span></a>
    <nav aria-label="Pages">
{nav}    </nav>
  </div>
</header>
<main id="main">
{notice}{main}</main>
<footer>{footer}</footer>
</body>
</html>
"##,
        title = escape_html(page.title),
        main = page.main,
        footer = page.footer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chrome_marks_the_current_page_and_escapes_the_title() {
        let html = render(&Page {
            title: "A <b> & c",
            current: Some(Nav::History),
            script: Some("history/main.js"),
            notice: true,
            main: "<p>body</p>\n",
            footer: "note",
        });
        assert!(html.contains("<title>Focus Sentry · A &lt;b&gt; &amp; c</title>"));
        assert!(html.contains("<a href=\"/history\" aria-current=\"page\">History</a>"));
        assert!(html.contains("<a href=\"/\">Current session</a>"));
        assert!(html.contains("<script type=\"module\" src=\"/assets/history/main.js\"></script>"));
        assert!(html.contains("id=\"notice\""));
        assert!(html.contains("<main id=\"main\">\n  <section id=\"notice\""));
        assert!(html.contains("<p>body</p>\n</main>\n<footer>note</footer>"));
        assert_eq!(html.matches("<header").count(), 1);
    }

    #[test]
    fn a_page_without_script_has_neither_script_nor_notice() {
        let html = render(&Page {
            title: "Guide",
            current: None,
            script: None,
            notice: false,
            main: "",
            footer: "",
        });
        assert!(!html.contains("<script"));
        assert!(!html.contains("id=\"notice\""));
        assert!(!html.contains("aria-current"));
    }
}
