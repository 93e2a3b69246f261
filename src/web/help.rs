//! The setup guides for email and SMS, served as pages (`GET /help/email`, `GET /help/sms`).
//!
//! The user runs the binary, not a checkout of the repository, so the guides in `docs/` are
//! compiled in (`include_str!`), parsed once by pulldown-cmark (CommonMark with GitHub's
//! tables) and written out as HTML in the page chrome (`pages.rs`). The writer here adds what
//! the guides need on top of plain CommonMark: GitHub-style heading ids (so `#other-providers`
//! links work), tables in a scrolling wrapper with column headers, and a soft line break as a
//! space. It keeps the pages safe whatever the Markdown says: every piece of text, and any raw
//! HTML in the source, is HTML-escaped, and link targets are kept only when they are
//! `http(s)://` URLs or `#anchors` (anything else shows as its plain text); external links get
//! `rel="noreferrer noopener"`.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::pages::{self, Page};
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

/// The whole page: the app's chrome, the guide, and a way back.
fn page(guide: &Guide) -> String {
    let main = format!(
        "<article class=\"card guide\">\n\
         <p class=\"muted small\">Settings go in the <code>.env</code> file in the folder you start \
         Focus Sentry from (or in its environment); restart Focus Sentry after changing them. \
         <a href=\"/\">Back to the session page</a>.</p>\n{}</article>\n",
        markdown_to_html(guide.markdown)
    );
    pages::render(&Page {
        title: guide.title,
        current: None,
        script: None,
        notice: false,
        main: &main,
        footer: "This guide ships with Focus Sentry and is also in <code>docs/</code> of its source.",
    })
}

/// Renders a guide's Markdown as described in the module docs.
pub fn markdown_to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES);
    let mut writer = Writer::default();
    for event in parser {
        writer.event(event);
    }
    writer.out
}

/// Writes HTML for pulldown-cmark's events. Only what the guides use is styled; anything
/// else degrades to its escaped text.
#[derive(Debug, Default)]
struct Writer {
    out: String,
    /// Inside a heading: its level and the HTML and plain text so far (the id is made
    /// from the text, so the heading is written at its end).
    heading: Option<(u8, String, String)>,
    /// Inside a fenced or indented code block: its text so far.
    code: Option<String>,
    /// Inside the table's header row (cells are `<th scope="col">`).
    table_head: bool,
    /// For each open link: its closing tag ("" for a link not kept).
    links: Vec<&'static str>,
    /// For each open list item: whether a paragraph was written in it yet. An item's first
    /// paragraph is its text, without `<p>` (as in a tight list); later ones are wrapped.
    items: Vec<bool>,
    /// For each open paragraph: whether it was wrapped in `<p>`.
    paragraphs: Vec<bool>,
}

impl Writer {
    fn push(&mut self, html: &str) {
        match &mut self.heading {
            Some((_, heading_html, _)) => heading_html.push_str(html),
            None => self.out.push_str(html),
        }
    }

    fn text(&mut self, text: &str) {
        if let Some(code) = &mut self.code {
            code.push_str(text);
            return;
        }
        if let Some((_, _, plain)) = &mut self.heading {
            plain.push_str(text);
        }
        self.push(&escape(text));
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => {
                if let Some((_, _, plain)) = &mut self.heading {
                    plain.push_str(&code);
                }
                self.push(&format!("<code>{}</code>", escape(&code)));
            }
            // Raw HTML in a guide is shown as text, never passed through.
            Event::Html(html) | Event::InlineHtml(html) => self.text(&html),
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => self.push("<br>\n"),
            Event::Rule => self.push("<hr>\n"),
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {
                let wrapped = match self.items.last_mut() {
                    Some(seen) => std::mem::replace(seen, true),
                    None => true,
                };
                if wrapped {
                    self.push("<p>");
                }
                self.paragraphs.push(wrapped);
            }
            Tag::Heading { level, .. } => {
                self.heading = Some((level as u8, String::new(), String::new()));
            }
            Tag::CodeBlock(kind) => {
                let class = match kind {
                    CodeBlockKind::Fenced(info) => language_class(&info),
                    CodeBlockKind::Indented => String::new(),
                };
                self.push(&format!("<pre><code{class}>"));
                self.code = Some(String::new());
            }
            Tag::List(start) => match start {
                Some(1) => self.push("<ol>\n"),
                Some(n) => self.push(&format!("<ol start=\"{n}\">\n")),
                None => self.push("<ul>\n"),
            },
            Tag::Item => {
                self.items.push(false);
                self.push("<li>");
            }
            Tag::Table(_) => self.push("<div class=\"table-wrap\"><table>\n"),
            Tag::TableHead => {
                self.table_head = true;
                self.push("<thead><tr>");
            }
            Tag::TableRow => self.push("<tr>"),
            Tag::TableCell => self.push(if self.table_head {
                "<th scope=\"col\">"
            } else {
                "<td>"
            }),
            Tag::Emphasis => self.push("<em>"),
            Tag::Strong => self.push("<strong>"),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => self.open_link(link_type, &dest_url),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                let wrapped = self.paragraphs.pop().unwrap_or(true);
                self.push(if wrapped { "</p>\n" } else { "" });
            }
            TagEnd::Heading(_) => {
                if let Some((level, html, plain)) = self.heading.take() {
                    self.push(&format!(
                        "<h{level} id=\"{}\">{html}</h{level}>\n",
                        slug(&plain)
                    ));
                }
            }
            TagEnd::CodeBlock => {
                let code = self.code.take().unwrap_or_default();
                self.push(&escape(code.trim_end_matches('\n')));
                self.push("</code></pre>\n");
            }
            TagEnd::List(ordered) => {
                self.push(if ordered { "</ol>\n" } else { "</ul>\n" });
            }
            TagEnd::Item => {
                self.items.pop();
                self.push("</li>\n");
            }
            TagEnd::Table => self.push("</tbody>\n</table></div>\n"),
            TagEnd::TableHead => {
                self.table_head = false;
                self.push("</tr></thead>\n<tbody>\n");
            }
            TagEnd::TableRow => self.push("</tr>\n"),
            TagEnd::TableCell => self.push(if self.table_head { "</th>" } else { "</td>" }),
            TagEnd::Emphasis => self.push("</em>"),
            TagEnd::Strong => self.push("</strong>"),
            TagEnd::Link => {
                let close = self.links.pop().unwrap_or("");
                self.push(close);
            }
            _ => {}
        }
    }

    fn open_link(&mut self, link_type: LinkType, target: &CowStr<'_>) {
        let href = safe_target(target)
            .filter(|href| link_type != LinkType::Autolink || href.starts_with("http"));
        match href {
            Some(href) if href.starts_with('#') => {
                self.push(&format!("<a href=\"{}\">", escape(&href)));
                self.links.push("</a>");
            }
            Some(href) => {
                self.push(&format!(
                    "<a href=\"{}\" rel=\"noreferrer noopener\">",
                    escape(&href)
                ));
                self.links.push("</a>");
            }
            None => self.links.push(""),
        }
    }
}

/// ` class="language-sh"` for a fence's info string of letters and digits, else nothing.
fn language_class(info: &str) -> String {
    let language = info.split_whitespace().next().unwrap_or("");
    if language.is_empty() || !language.chars().all(|c| c.is_ascii_alphanumeric()) {
        String::new()
    } else {
        format!(" class=\"language-{language}\"")
    }
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

/// Link targets kept: `http(s)://` URLs without spaces, and `#anchors`.
fn safe_target(target: &str) -> Option<String> {
    let target = target.trim();
    let ok = (target.starts_with("https://")
        || target.starts_with("http://")
        || target.starts_with('#'))
        && !target.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| target.to_owned())
}

/// Escapes text for element content and quoted attributes.
fn escape(text: &str) -> String {
    focus_notify::message::escape_html(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One paragraph of inline Markdown, without its `<p>`.
    fn inline(text: &str) -> String {
        let html = markdown_to_html(text);
        let inner = html
            .strip_prefix("<p>")
            .and_then(|h| h.strip_suffix("</p>\n"));
        inner.map(str::to_owned).unwrap_or(html)
    }

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
