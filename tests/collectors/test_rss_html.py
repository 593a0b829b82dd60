"""Feed item HTML read without BeautifulSoup gives what BeautifulSoup gives (issue 12: CPU per school).

``html_to_text_media_links`` reads the HTML a blog writes in its feed in one pass (``_simple_html``) and hands
anything else to BeautifulSoup (``_soup_text_media_links``). Each case below, and a few thousand fragments built
at random from the pieces both readers meet, must come out the same (text, photos, links) either way.
"""

from __future__ import annotations

import pytest

from collectors.rss import _simple_html, _soup_text_media_links, html_to_text_media_links
from tests.collectors.html_agreement import random_fragments_agree

BASE = "https://st-aidans.example.sch.uk/news/sports-day/"

# What blogs write: the fast path must take these (else the speed-up is silently gone).
BLOG = [
    "",
    "Plain words, no tags at all.",
    '<p>Year 1 families: thank you for coming to the phonics workshop.</p><figure class="wp-block-image"><img '
    'src="/uploads/gen-00003-5.jpg" alt="A class outside on the school field"/></figure>',
    '<p>St Aidan&#8217;s &amp; St Hilda&#x27;s: &quot;well done&quot; &lt;3 &gt; &#39;quoted&#39;&nbsp;end</p>'
    '<img src="a.jpg" alt="Children&#x27;s artwork &amp; more">',
    '<p>Read <a href="https://www.gov.uk/school-term-holiday-dates#top">the dates</a>, <a href="/news/">our news</a>, '
    '<a href="#x">here</a>, <a href="mailto:office@x.example">mail</a> and <a href="/news/">again</a>.</p>',
    '<ul>\n<li><strong>Bold</strong> and <em>em</em></li>\n<li>two<br>lines<br/>three<br />four</li>\n</ul>',
    '<figure><img src="data:image/gif;base64,R0lGOD" data-src="/big.jpg" width="1" height="1"><figcaption> A '
    'caption </figcaption></figure><img src="https://stats.wordpress.com/b.gif?x=1" alt=""/><img src="/spacer.gif">',
    '<img src="/wide.jpg" width="1" height="1"><img src="/plain.jpg"><img alt="no source">',
    "<h2>Heading</h2>\n\n<blockquote><p>  spaced \n\t out  </p></blockquote><hr><div><span>x</span></div>",
    "<p>\u00a0nbsp\u2028ls é</p>",
]

# Not what the fast path reads: BeautifulSoup decides (the result must still agree, trivially).
OTHER = [
    "<p>unclosed",
    "<p>a<p>b</p>c</p>",
    "<P>upper</P>",
    "a < b and c > d",
    "<p>&copy; &#150; &#0; &#xD800; &unknown; & alone &#X27;</p>",
    "<a href='https://single.example/'>single quotes</a>",
    '<a href="https://one.example/" href="https://two.example/">twice</a>',
    "<!-- comment --><p>after</p>",
    "<script>alert(1)</script><style>p{}</style><p>x</p>",
    '<iframe src="https://www.youtube.com/embed/x" title="Concert"></iframe><video src="/v.mp4"></video>',
    '<iframe src="https://maps.example/x"></iframe>',
    "</br><p>x</p>",
    "<span>unbalanced</p>",
    "<p/>self-closed",
    '<a href="https://x.example/"\r\nclass="y">carriage return</a>',
    "<p>\x00nul\x0bvt\x0cff</p>",
    "<![CDATA[x]]><p>y</p>",
    '<img src="a.jpg" alt>',
]

PIECES = ["<p>", "</p>", "<br>", "<br/>", "<br />", "</br>", "<span>", "</span>", "<figure>", "</figure>",
          '<img src="/a.jpg" alt="An &amp; alt">', '<img src="/b.png"/>', '<img data-src="/lazy.jpg" src="data:x">',
          '<img src="/spacer.gif" width="1" height="1">', '<a href="https://x.example/a#f">', '<a href=" /rel ">',
          '<a href="mailto:x@y.example">', "<a>", "</a>", "<li>", "</li>", "<ul>", "</ul>", "<strong>", "</strong>",
          "<p/>", "<pre>", "</pre>", "text", "more words", " ", "\n", "\t", "&amp;", "&#39;", "&#8217;", "&#150;",
          "&lt;", "&nbsp;", "&copy;", "&", "<", ">", "\u00a0", "é", "<!-- c -->", "<P>", "</P>", "<script>x</script>",
          '<iframe src="https://vimeo.com/1">', "</iframe>"]


def _agree(html: str) -> None:
    assert html_to_text_media_links(html, BASE) == _soup_text_media_links(html, BASE), html


@pytest.mark.parametrize("html", BLOG)
def test_blog_html_takes_the_fast_path_and_agrees_with_beautifulsoup(html: str) -> None:
    assert _simple_html(html) is not None, html
    _agree(html)


@pytest.mark.parametrize("html", OTHER)
def test_other_html_agrees_with_beautifulsoup(html: str) -> None:
    _agree(html)


def test_random_fragments_agree_with_beautifulsoup() -> None:
    random_fragments_agree(PIECES, _simple_html, _agree)


@pytest.mark.parametrize("html", ["<p>a <![ b</p>", "<p>Well done <![if !supportLists]>Ava</p>", "x <!"])
def test_markup_the_html_parser_refuses_is_read_as_text_not_lost(html):
    """Review finding: BeautifulSoup's html.parser raises ParserRejectedMarkup on "<![" before an unknown word,
    and one such item lost its whole feed."""
    text, _media, _links = html_to_text_media_links(html, "https://st-aidans.example.sch.uk/")
    assert "a" in text or "Ava" in text or "x" in text


def test_a_feed_item_with_refused_markup_keeps_every_item():
    from collectors._base import CollectionResult
    from collectors.rss import parse_feed

    items = "".join(f"<item><guid>g{k}</guid><link>https://st-aidans.example.sch.uk/{k}</link>"
                    f"<pubDate>Mon, 16 Nov 2026 09:00:00 GMT</pubDate><title>Post {k}</title><description>{d}</description></item>"
                    for k, d in enumerate(["Well done Year 4", "&lt;![CD&gt;x", "Harvest festival"]))
    feed = ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<link>https://st-aidans.example.sch.uk/</link>{items}</channel></rss>")
    result = CollectionResult()
    posts, _next, _oldest = parse_feed(feed.encode(), feed_url="https://st-aidans.example.sch.uk/feed", account="a",
                                       school="st-aidans", result=result)
    assert [p.id for p in posts] == ["g0", "g1", "g2"] and "<![CD>x" in posts[1].text
