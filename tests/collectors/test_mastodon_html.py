"""Mastodon status HTML read without BeautifulSoup gives what BeautifulSoup gives (issue 12: CPU per school).

``html_text_and_links`` reads the HTML Mastodon writes in one pass (``_plain_text_and_links``) and hands
anything else to BeautifulSoup (``_soup_text_and_links``). Each case below, and a few thousand fragments
built at random from the pieces both readers meet, must come out the same either way.
"""

from __future__ import annotations

import pytest

from collectors.mastodon import _plain_text_and_links, _soup_text_and_links, html_text_and_links
from tests.collectors.html_agreement import random_fragments_agree

# What Mastodon writes: the fast path must take these (else the speed-up is silently gone).
MASTODON = [
    "",
    "<p>Choir practice</p><p>Our choir has started rehearsing. They sound wonderful.</p>",
    '<p>More: <a href="https://www.gov.uk/school-term-holiday-dates" target="_blank" rel="nofollow noopener" '
    'translate="no"><span class="invisible">https://</span><span class="ellipsis">www.gov.uk/school-term-holiday'
    '</span><span class="invisible">-dates</span></a></p><p><a href="https://mastodon.example/tags/SchoolLife" '
    'class="mention hashtag" rel="tag">#<span>SchoolLife</span></a> <span class="h-card"><a '
    'href="https://mastodon.example/@diocese" class="u-url mention">@<span>diocese</span></a></span></p>',
    "<p>Line one<br>line two<br/>line three<br />four</p>",
    "<p>St Aidan&#39;s &amp; St Hilda&#x27;s: &quot;well done&quot; &lt;3 &gt;</p>",
    '<p><a href="https://a.example/x" rel="tag">#x</a> <a href="https://b.example/y">https://b.example/y</a> '
    '<a href="https://b.example/y">again</a> <a href="mailto:x@y.example">mail</a> <a>none</a></p>',
    "<p>  spaced \n\t out  </p>\n<p>next</p>",
]

# Not what the fast path reads: BeautifulSoup decides (the result must still agree, trivially).
OTHER = [
    "<p>unclosed",
    "<p>a<p>b</p>c</p>",
    "<b>bold</b> and <em>em</em>",
    "<P>upper</P>",
    "a < b and c > d",
    "<p>&nbsp;&copy; &#8217; &unknown; & alone</p>",
    '<a href="https://x.example/?a=1&amp;b=2">q</a>',
    "<a href='https://single.example/'>single quotes</a>",
    '<a href="https://one.example/" href="https://two.example/">twice</a>',
    "<!-- comment --><p>after</p>",
    "<script>alert(1)</script><p>x</p>",
    "</br><p>x</p>",
    "<span>unbalanced</p>",
    "<p/>self-closed",
    '<a href="https://x.example/"\r\nclass="y">carriage return</a>',
    "<p>\x00nul\x0bvt\x0cff\u00a0nbsp\u2028ls</p>",
]

PIECES = ["<p>", "</p>", "<br>", "<br/>", "<br />", "</br>", "<span>", "</span>", '<span class="invisible">',
          '<a href="https://x.example/a">', '<a href=" https://y.example/b ">', '<a href="https://x.example/a" class="mention">',
          '<a href="http://z.example/" rel="nofollow tag">', '<a href="/relative">', "<a>", "</a>", "<p/>", "<pre>",
          "</pre>", "<b>", "</b>", "text", "more words", " ", "\n", "\t", "&amp;", "&#39;", "&lt;", "&nbsp;", "&",
          "<", ">", "\u00a0", "é", "<!-- c -->", "<P>", "</P>"]


def _agree(html: str) -> None:
    assert html_text_and_links(html) == _soup_text_and_links(html), html


@pytest.mark.parametrize("html", MASTODON)
def test_mastodon_html_takes_the_fast_path_and_agrees_with_beautifulsoup(html: str) -> None:
    assert _plain_text_and_links(html) is not None, html
    _agree(html)


@pytest.mark.parametrize("html", OTHER)
def test_other_html_agrees_with_beautifulsoup(html: str) -> None:
    _agree(html)


def test_random_fragments_agree_with_beautifulsoup() -> None:
    random_fragments_agree(PIECES, _plain_text_and_links, _agree)


def test_the_simulators_statuses_take_the_fast_path() -> None:
    """Every status the project's simulator writes for a generated trust and the demo trust over a few weeks
    (what bench_scale and the demo read)."""
    from socialaudit.simulator import dataset
    from socialaudit.simulator.platform_mastodon import _content
    from socialaudit.weeks import IsoWeek

    _schools, profiles = dataset.generated_trust(12, seed=3)
    texts = []
    for week in ("2026-W46", "2026-W47", "2026-W48", "2026-W51"):
        for slug, profile in {**profiles, **dataset.demo_profiles()}.items():
            for post in dataset.week_posts(slug, profile, IsoWeek.parse(week)):
                texts.append(_content(post))
                texts.append(_content(post, crosspost=True))
    assert len(texts) > 100
    for html in texts:
        assert _plain_text_and_links(html) is not None, html
        _agree(html)


def test_deeply_nested_html_goes_to_beautifulsoup_and_many_links_are_kept_once() -> None:
    """Nesting past MAX_SIMPLE_DEPTH is not Mastodon's HTML (a stack scan at every <p> made 40,000 nested spans
    take 10 s): the one-pass reader declines it, and the answer is BeautifulSoup's."""
    from collectors.mastodon import MAX_SIMPLE_DEPTH

    deep = "<span>" * (MAX_SIMPLE_DEPTH + 1) + "<p>hi</p>" + "</span>" * (MAX_SIMPLE_DEPTH + 1)
    assert _plain_text_and_links(deep) is None
    assert html_text_and_links(deep) == _soup_text_and_links(deep) == ("hi", [])
    shallow = "<span>" * (MAX_SIMPLE_DEPTH - 1) + "<p>hi</p>" + "</span>" * (MAX_SIMPLE_DEPTH - 1)
    assert _plain_text_and_links(shallow) == ("hi", [])
    many = "".join(f'<a href="https://e.example/{i % 500}">x</a>' for i in range(5000))
    text, links = html_text_and_links(many)
    assert links == [f"https://e.example/{i}" for i in range(500)]
    assert _soup_text_and_links(many)[1] == links


def test_markup_the_html_parser_refuses_is_read_as_text_not_lost():
    """Review finding: ParserRejectedMarkup from html.parser ("<![" before an unknown word) was not caught."""
    text, _links = html_text_and_links("<p>Well done <![ Ava</p><p>and <script>x</script> Noah</p>")
    assert "Ava" in text and "Noah" in text
