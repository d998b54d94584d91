"""Markdown a submission wrote, shown to people safely: in feedback pages and in the Formgrader.

nbconvert's HTML exporter sanitizes cell outputs (``sanitize_html``) but renders markdown cells
as they are, raw HTML included, and nbgrader's feedback and grading templates do the same: a
written answer holding ``<script>`` or ``<img onerror=...>`` would run in the instructor's and
the student's browser. ``safe_markdown2html`` replaces the exporter's ``markdown2html`` filter
(nbgrader_config.py): raw HTML in markdown is shown as text, never run (the course's own text
holds none), markdown itself is rendered as before, and the result keeps only allow-listed
tags and attributes.

Maths is written as MathML when the page is made (latex2mathml), which browsers render without a
script: no page loads MathJax, or anything else, from the internet (grading/templates/ replaces
nbconvert's MathJax loader with nothing). A formula that cannot be converted stays as its TeX.

The sanitizer's cost grows faster than its input, so what one page renders is bounded
(grading/settings.py): at most MARKDOWN_CHARS characters of markdown and MARKDOWN_TAGS tags of
the HTML it makes. A cell past either budget is shown as plain text instead, at most
MARKDOWN_PLAIN_CHARS characters of it; the whole text stays in the notebook.
"""

import html
import re

import bleach
from jinja2 import pass_context
from latex2mathml.converter import convert_to_element
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

from grading import settings

TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td",
        "th", "thead", "tr", "ul"}
# No id, and classes only as Pygments writes them: the Formgrader's script finds each score box by
# its grade id (`$("#" + grade_id)`) and its panel by class, so a heading ``###### predict`` (id
# "predict") or a raw cell's <div class="nbgrader_cell"> above the real ones captured the test
# cells' score boxes, and one "full credit" on a written answer gave every test its points
PYGMENTS_CLASS = re.compile(r"highlight|hll|hl-[a-z0-9]+|[a-z]{1,3}[0-9]?")
PLAIN_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
# MathML as latex2mathml writes it (presentation markup only: no href, no maction, no annotation-xml)
MATH_TAGS = {"math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac",
             "msqrt", "mroot", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded",
             "mphantom", "menclose", "merror"}
MATH_ATTRIBUTES = {"display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace", "width",
                   "height", "depth", "minsize", "maxsize", "movablelimits", "accent", "accentunder", "form",
                   "symmetric", "largeop", "linethickness", "displaystyle", "scriptlevel", "notation",
                   "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines",
                   "frame", "framespacing", "rowspan", "columnspan"}
MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
PROVISIONAL_BANNER = ('<div class="gd-provisional" style="border: 3px solid #b45309; background: #fef3c7; '
                      'color: #78350f; font-size: 1.3em; font-weight: bold; padding: 0.6em 1em; margin: 1em 0;">'
                      "Provisional: written answers not graded yet. Your instructor has not graded your written "
                      "answers; the score on this page will change when they do.</div>")
PROTOCOLS = {"http", "https", "mailto", "data"}  # data: for images a notebook embeds
SPENT = "gd_markdown_spent"  # the page's resources: what its markdown has used of the budgets


def clean(html):
    """``html`` with everything outside the allow-list escaped, so that it shows as text.

    Also the pages' ``clean_html`` filter (nbgrader_config.py), which nbconvert applies to code, raw
    cells and markdown.
    """
    html = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(html, tags=TAGS | MATH_TAGS, attributes=allowed_attribute, protocols=PROTOCOLS,
                        strip_comments=True)


def allowed_attribute(tag, name, value):
    if tag in MATH_TAGS:
        return name in MATH_ATTRIBUTES or (tag == "math" and name == "xmlns" and value == MATHML_NAMESPACE)
    if name == "class":
        return all(PYGMENTS_CLASS.fullmatch(token) for token in value.split())
    return name in PLAIN_ATTRIBUTES.get(tag, ())


@pass_context
def safe_markdown2html(context, source):
    """Render markdown like nbconvert's HTML exporter, raw HTML shown as text, within the page's budgets."""
    spent = _spent(context)
    if spent["chars"] + len(source) > settings.MARKDOWN_CHARS:
        return as_plain_text(source)
    spent["chars"] += len(source)
    cell = context.get("cell", {}) or {}
    renderer = MathMLRenderer(escape=True, attachments=cell.get("attachments", {}), embed_images=False,
                               path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                               anchor_link_text="¶", exclude_anchor_links=True)
    rendered = MarkdownWithMath(renderer=renderer).render(source)
    tags = rendered.count("<")
    if spent["tags"] + tags > settings.MARKDOWN_TAGS:
        return as_plain_text(source)
    spent["tags"] += tags
    return clean(rendered)


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with maths written as MathML instead of TeX left for MathJax."""

    def block_math(self, body):
        return mathml(body, "block") or super().block_math(body)

    def inline_math(self, body):
        return mathml(body, "inline") or super().inline_math(body)

    def latex_environment(self, name, body):
        return mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block") or super().latex_environment(name, body)


def mathml(tex, display):
    """``tex`` as MathML markup (text escaped, only MATH_TAGS and MATH_ATTRIBUTES); "" when it cannot be."""
    try:
        tree = convert_to_element(tex, display=display)
        return "".join(_markup(tree))
    except Exception:  # a formula latex2mathml cannot read (or one too deep) stays TeX
        return ""


def _markup(element):
    """Serialize a latex2mathml tree; its texts hold character references (&#x02190;), never markup."""
    if element.tag not in MATH_TAGS:
        raise ValueError(f"no MathML element {element.tag!r} on a feedback page")
    attributes = "".join(f' {name}="{html.escape(str(value))}"' for name, value in element.attrib.items()
                         if name in MATH_ATTRIBUTES)
    if element.tag == "math":
        attributes = f' xmlns="{MATHML_NAMESPACE}"' + attributes
    yield f"<{element.tag}{attributes}>"
    yield html.escape(html.unescape(element.text or ""), quote=False)
    for child in element:
        yield from _markup(child)
        yield html.escape(html.unescape(child.tail or ""), quote=False)
    yield f"</{element.tag}>"


def mark_provisional(page):
    """Put PROVISIONAL_BANNER at the top of the feedback page ``page`` (a file), once."""
    text = page.read_text(encoding="utf-8")
    if PROVISIONAL_BANNER in text:
        return
    body = re.search(r"<body[^>]*>", text)
    at = body.end() if body else 0
    page.write_text(text[:at] + "\n" + PROVISIONAL_BANNER + "\n" + text[at:], encoding="utf-8")


def as_plain_text(source):
    """``source`` as escaped, preformatted text, cut to MARKDOWN_PLAIN_CHARS characters, with a notice."""
    shown = source[:settings.MARKDOWN_PLAIN_CHARS]
    notice = "[shown as plain text: this page renders a bounded amount of markdown"
    if len(shown) < len(source):
        notice += f"; {len(source) - len(shown):,} more characters are in the notebook, not shown here"
    return f'<pre class="gd-plain-markdown">{html.escape(shown)}\n\n{notice}]</pre>'


def _spent(context):
    """The budgets this page has used so far, kept in its resources (a fresh count when there are none)."""
    resources = context.get("resources")
    fresh = {"chars": 0, "tags": 0}
    if not isinstance(resources, dict):
        return fresh
    spent = resources.get(SPENT)
    if not isinstance(spent, dict):
        spent = resources[SPENT] = fresh
    return spent
