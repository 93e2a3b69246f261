//! The setup guides for email and SMS, served as pages (`GET /help/email`, `GET /help/sms`).
//!
//! The user runs the binary, not a checkout of the repository, so the guides in `docs/` are
//! compiled in (`include_str!`) and turned into HTML here, once, by a small Markdown reader
//! that knows what the guides use: headings (with GitHub-style ids, so `#other-providers`
//! links work), paragraphs, ordered and unordered lists, fenced code, tables, and inline
//! code, bold, italics, links and `<https://…>` autolinks. Every piece of text is
//! HTML-escaped; link targets are kept only when they are `http(s)://` URLs or `#anchors`
//! (anything else shows as plain text), so the pages stay safe whatever the Markdown says.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::web::error::AppError;

/// A guide: its route segment, page title and Markdown source.
#[derive(Debug)]
struct Guide {
    topic: &'static str,
    title: &'static str,
    markdown: &'static str,
}

static GUIDES: &[Guide] = &[
    Guide {
        topic: "email",
        title: "Email setup",
        markdown: include_str!("../../docs/email_setup.md"),
    },
    Guide {
        topic: "sms",
        title: "SMS setup",
        markdown: include_str!("../../docs/sms_setup.md"),
    },
];

fn rendered() -> &'static [String] {
    static PAGES: OnceLock<Vec<String>> = OnceLock::new();
    PAGES.get_or_init(|| GUIDES.iter().map(page).collect())
}

/// `GET /help/{topic}`: the guide as an HTML page; 404 for an unknown topic.
pub async fn guide(Path(topic): Path<String>) -> Result<Response, AppError> {
    let index = GUIDES
        .iter()
        .position(|g| g.topic == topic)
        .ok_or(AppError::RouteNotFound)?;
    let html = rendered()
        .get(index)
        .cloned()
        .ok_or(AppError::RouteNotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response())
}

/// The whole page: the app's header, the guide, and a way back.
fn page(guide: &Guide) -> String {
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Focus Sentry · {title}</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar">
  <div class="topbar-inner">
    <a class="brand" href="/">Focus <span>Sentry</span></a>
    <nav aria-label="Pages">
      <a href="/">Current session</a>
      <a href="/history">History</a>
    </nav>
  </div>
</header>
<main id="main">
<article class="card guide">
<p class="muted small">Settings go in the <code>.env</code> file in the folder you start Focus Sentry from (or in its environment); restart Focus Sentry after changing them. <a href="/">Back to the session page</a>.</p>
{body}</article>
</main>
<footer>This guide ships with Focus Sentry and is also in <code>docs/</code> of its source.</footer>
</body>
</html>
"##,
        title = escape(guide.title),
        body = markdown_to_html(guide.markdown),
    )
}

/// Renders the Markdown subset described in the module docs.
pub fn markdown_to_html(markdown: &str) -> String {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim();
        if trimmed.is_empty() {
            i += 1;
            continue;
        }
        if let Some(info) = trimmed.strip_prefix("```") {
            let mut code = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                code.push(lines[i]);
                i += 1;
            }
            i += 1; // the closing fence
            let class = info.trim();
            let class = if class.is_empty() || !class.chars().all(|c| c.is_ascii_alphanumeric()) {
                String::new()
            } else {
                format!(" class=\"language-{class}\"")
            };
            out.push_str(&format!(
                "<pre><code{class}>{}</code></pre>\n",
                escape(&code.join("\n"))
            ));
            continue;
        }
        if let Some((level, text)) = heading(trimmed) {
            out.push_str(&format!(
                "<h{level} id=\"{}\">{}</h{level}>\n",
                slug(text),
                inline(text)
            ));
            i += 1;
            continue;
        }
        if trimmed.starts_with('|') && lines.get(i + 1).is_some_and(|l| is_table_rule(l)) {
            i = table(&lines, i, &mut out);
            continue;
        }
        if list_item(line).is_some() {
            i = list(&lines, i, &mut out);
            continue;
        }
        // A paragraph: up to a blank line or the start of another block.
        let mut text = vec![trimmed];
        i += 1;
        while i < lines.len() {
            let next = lines[i].trim();
            if next.is_empty()
                || next.starts_with("```")
                || heading(next).is_some()
                || list_item(lines[i]).is_some()
                || next.starts_with('|')
            {
                break;
            }
            text.push(next);
            i += 1;
        }
        out.push_str(&format!("<p>{}</p>\n", inline(&text.join(" "))));
    }
    out
}

fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    line[level..]
        .strip_prefix(' ')
        .map(|text| (level, text.trim()))
}

/// GitHub's heading ids: lower case, letters, digits, `-` and `_` kept, spaces to `-`.
fn slug(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// `ordered` and the item's text, if the line starts a list item (`- x`, `* x`, `1. x`).
fn list_item(line: &str) -> Option<(bool, u32, &str)> {
    let line = line.trim_start();
    if let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return Some((false, 1, rest));
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let number = line[..digits].parse().ok()?;
    line[digits..]
        .strip_prefix(". ")
        .map(|rest| (true, number, rest))
}

/// A list: items and their indented continuation lines. A blank line ends it unless the
/// next line is another item of the same kind. Returns the index after it.
fn list(lines: &[&str], mut i: usize, out: &mut String) -> usize {
    let Some((ordered, start, _)) = list_item(lines[i]) else {
        return i + 1;
    };
    let tag = if ordered { "ol" } else { "ul" };
    if ordered && start != 1 {
        out.push_str(&format!("<ol start=\"{start}\">\n"));
    } else {
        out.push_str(&format!("<{tag}>\n"));
    }
    while i < lines.len() {
        let Some((kind, _, first)) = list_item(lines[i]) else {
            break;
        };
        if kind != ordered {
            break;
        }
        let mut text = vec![first.trim()];
        i += 1;
        while i < lines.len() {
            let next = lines[i];
            if next.trim().is_empty() || list_item(next).is_some() || !next.starts_with(' ') {
                break;
            }
            text.push(next.trim());
            i += 1;
        }
        out.push_str(&format!("<li>{}</li>\n", inline(&text.join(" "))));
        // A blank line between two items of the same list does not end it.
        let mut j = i;
        while j < lines.len() && lines[j].trim().is_empty() {
            j += 1;
        }
        match lines.get(j).and_then(|l| list_item(l)) {
            Some((kind, _, _)) if kind == ordered && j > i => i = j,
            _ => {}
        }
    }
    out.push_str(&format!("</{tag}>\n"));
    i
}

fn is_table_rule(line: &str) -> bool {
    let line = line.trim();
    line.starts_with('|')
        && line.contains('-')
        && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

fn cells(line: &str) -> Vec<&str> {
    let line = line.trim();
    let line = line.strip_prefix('|').unwrap_or(line);
    let line = line.strip_suffix('|').unwrap_or(line);
    line.split('|').map(str::trim).collect()
}

/// A table: header row, rule, body rows up to the first line that is not a row.
fn table(lines: &[&str], mut i: usize, out: &mut String) -> usize {
    out.push_str("<div class=\"table-wrap\"><table>\n<thead><tr>");
    for cell in cells(lines[i]) {
        out.push_str(&format!("<th scope=\"col\">{}</th>", inline(cell)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    i += 2;
    while i < lines.len() && lines[i].trim().starts_with('|') {
        out.push_str("<tr>");
        for cell in cells(lines[i]) {
            out.push_str(&format!("<td>{}</td>", inline(cell)));
        }
        out.push_str("</tr>\n");
        i += 1;
    }
    out.push_str("</tbody>\n</table></div>\n");
    i
}

/// Inline Markdown: `code`, **bold**, *italics*, [text](target), <https://autolink>.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '`'
            && let Some(end) = rest[1..].find('`')
        {
            out.push_str(&format!("<code>{}</code>", escape(&rest[1..=end])));
            rest = &rest[end + 2..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("**")
            && let Some(end) = after.find("**")
        {
            out.push_str(&format!("<strong>{}</strong>", inline(&after[..end])));
            rest = &after[end + 2..];
            continue;
        }
        if let Some(after) = rest.strip_prefix('*') {
            let opens = after.chars().next().is_some_and(|n| !n.is_whitespace());
            if let (true, Some(end)) = (opens, after.find('*'))
                && end > 0
            {
                out.push_str(&format!("<em>{}</em>", inline(&after[..end])));
                rest = &after[end + 1..];
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix('[')
            && let Some((label, target, used)) = link(after)
        {
            match safe_target(target) {
                Some(href) => out.push_str(&anchor(&href, &inline(label))),
                None => out.push_str(&inline(label)),
            }
            rest = &after[used..];
            continue;
        }
        if let Some(after) = rest.strip_prefix('<')
            && let Some(end) = after.find('>')
        {
            let url = &after[..end];
            if let Some(href) = safe_target(url).filter(|h| h.starts_with("http")) {
                out.push_str(&anchor(&href, &escape(url)));
                rest = &after[end + 1..];
                continue;
            }
        }
        out.push_str(&escape(&rest[..c.len_utf8()]));
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `text](target)` after the `[`: the label, the target and the bytes used.
fn link(after_bracket: &str) -> Option<(&str, &str, usize)> {
    let close = after_bracket.find("](")?;
    let label = &after_bracket[..close];
    if label.contains('[') {
        return None;
    }
    let target_start = close + 2;
    let target_len = after_bracket[target_start..].find(')')?;
    let target = &after_bracket[target_start..target_start + target_len];
    Some((label, target, target_start + target_len + 1))
}

/// Link targets kept: `http(s)://` URLs without spaces, and `#anchors`.
fn safe_target(target: &str) -> Option<String> {
    let target = target.trim();
    let ok = (target.starts_with("https://")
        || target.starts_with("http://")
        || target.starts_with('#'))
        && !target.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| target.to_owned())
}

fn anchor(href: &str, label_html: &str) -> String {
    if href.starts_with('#') {
        format!("<a href=\"{}\">{label_html}</a>", escape(href))
    } else {
        format!(
            "<a href=\"{}\" rel=\"noreferrer noopener\">{label_html}</a>",
            escape(href)
        )
    }
}

/// Escapes text for element content and quoted attributes.
fn escape(text: &str) -> String {
    focus_notify::message::escape_html(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_render() {
        let md = "# Title\n\nA *short* paragraph\nwith `a <b>` and **bold**.\n\n\
                  ## 2. Other providers\n\n1. First\n   continued\n2. Second\n\n\
                  - dash item\n- another\n\n```sh\nFOO=<bar> && baz\n```\n\n\
                  | Var | Meaning |\n| --- | --- |\n| `A` | one \\ two |\n";
        let html = markdown_to_html(md);
        for needle in [
            "<h1 id=\"title\">Title</h1>",
            "<p>A <em>short</em> paragraph with <code>a &lt;b&gt;</code> and <strong>bold</strong>.</p>",
            "<h2 id=\"2-other-providers\">2. Other providers</h2>",
            "<ol>\n<li>First continued</li>\n<li>Second</li>\n</ol>",
            "<ul>\n<li>dash item</li>\n<li>another</li>\n</ul>",
            "<pre><code class=\"language-sh\">FOO=&lt;bar&gt; &amp;&amp; baz</code></pre>",
            "<th scope=\"col\">Var</th>",
            "<td><code>A</code></td>",
        ] {
            assert!(html.contains(needle), "missing {needle:?} in\n{html}");
        }
    }

    #[test]
    fn links_are_kept_only_when_safe() {
        let html = inline(
            "see [Other](#other-providers), [Twilio](https://www.twilio.com)'s API, \
             <https://example.com/a?b=1&c=2>, [bad](javascript:alert(1)) and <b>raw</b>",
        );
        assert!(
            html.contains("<a href=\"#other-providers\">Other</a>"),
            "{html}"
        );
        assert!(
            html.contains(
                "<a href=\"https://www.twilio.com\" rel=\"noreferrer noopener\">Twilio</a>&#39;s"
            ),
            "{html}"
        );
        assert!(
            html.contains("href=\"https://example.com/a?b=1&amp;c=2\""),
            "{html}"
        );
        assert!(!html.contains("javascript:alert(1)\""), "{html}");
        assert!(html.contains("&lt;b&gt;raw&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn a_lone_star_is_text() {
        assert_eq!(inline("FOCUS_SMTP_* and 2 * 3"), "FOCUS_SMTP_* and 2 * 3");
    }

    #[test]
    fn the_shipped_guides_render_with_their_anchors() {
        let pages = rendered();
        assert_eq!(pages.len(), 2);
        let email = &pages[0];
        assert!(email.contains("id=\"other-providers\""), "{email}");
        assert!(email.contains("href=\"#other-providers\""));
        assert!(email.contains("<td><code>FOCUS_SMTP_HOST</code></td>"));
        assert!(email.contains("<pre><code class=\"language-sh\">FOCUS_SMTP_HOST=smtp.gmail.com"));
        let sms = &pages[1];
        assert!(sms.contains("<strong>US and Canada:</strong>"), "{sms}");
        assert!(sms.contains("<em>toll-free verification</em>"), "{sms}");
        for page in pages {
            assert!(!page.contains("<script"), "a guide page has a script");
            assert!(
                !page.contains("style=\""),
                "a guide page has an inline style"
            );
        }
    }
}
