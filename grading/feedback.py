"""Markdown a submission wrote, shown to people safely: in feedback pages and in the Formgrader.

nbconvert's HTML exporter sanitizes cell outputs (``sanitize_html``) but renders markdown cells
as they are, raw HTML included, and nbgrader's feedback and grading templates do the same: a
written answer holding ``<script>`` or ``<img onerror=...>`` would run in the instructor's and
the student's browser. ``safe_markdown2html`` replaces the exporter's ``markdown2html`` filter
(nbgrader_config.py): the markdown is rendered as before, then every tag and attribute outside
an allow-list is shown as text, never run.
"""

import bleach
from jinja2 import pass_context
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td",
        "th", "thead", "tr", "ul"}
ATTRIBUTES = {"a": ["href", "title", "class"], "img": ["src", "alt", "title"], "*": ["class"],
              **{f"h{level}": ["id", "class"] for level in range(1, 7)}}
PROTOCOLS = {"http", "https", "mailto", "data"}  # data: for images a notebook embeds


def clean(html):
    """``html`` with everything outside the allow-list escaped, so that it shows as text."""
    return bleach.clean(html, tags=TAGS, attributes=ATTRIBUTES, protocols=PROTOCOLS, strip_comments=True)


@pass_context
def safe_markdown2html(context, source):
    """Render markdown like nbconvert's HTML exporter, then keep only allow-listed HTML."""
    cell = context.get("cell", {}) or {}
    renderer = IPythonRenderer(escape=False, attachments=cell.get("attachments", {}), embed_images=False,
                               path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                               anchor_link_text="¶", exclude_anchor_links=False)
    return clean(MarkdownWithMath(renderer=renderer).render(source))
