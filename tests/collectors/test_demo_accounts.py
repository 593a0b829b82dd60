"""The demo trust's social accounts, collected by the pipeline against the simulator: every platform
of this module's collectors is collected, St Joseph's stale Bluesky handle is recorded as unavailable,
Holy Cross's reposts do not count, and St Aidan's Mastodon cross-posts of its website count once."""

from __future__ import annotations

from checks.post_frequency import crosspost_key
from socialaudit import pipeline
from socialaudit.weeks import IsoWeek

WEEK = IsoWeek.parse("2026-W47")


def test_demo_social_accounts_are_collected_and_counted_right(audit_env):
    run_id = "test-demo-social"
    pipeline.plan(WEEK, run_id, audit_env)
    collected = {}
    for school in ("st-aidans", "holy-cross", "st-hildas", "our-lady", "st-josephs", "sacred-heart"):
        collected.update(pipeline.collect_school(school, WEEK, run_id, audit_env)["accounts"])
    social = {k: v for k, v in collected.items() if k.split(":", 1)[0] in ("mastodon", "bluesky", "youtube")}
    assert social == {
        "mastodon:@staidans@mastodon.example": "ok",
        "bluesky:holycross.bsky.social": "ok",
        "youtube:@sthildasacademy": "ok",
        "mastodon:@ourladylourdes@northmoor.social.example": "ok",
        "bluesky:stjosephs-old.bsky.social": "unavailable",
        "bluesky:sacred-heart.example.sch.uk": "ok",
    }
    store = audit_env.store()
    messages = {c.account: c.message for c in store.collections_for(WEEK, "st-josephs")}
    assert "Profile not found" in messages["stjosephs-old.bsky.social"]

    aidans = pipeline.check_school("st-aidans", WEEK, run_id, audit_env)
    frequency = {r.check: r for r in store.results_for(WEEK, "st-aidans")}["post_frequency"]
    assert aidans["statuses"]["post_frequency"] == "pass"
    per_account = frequency.metrics["per_account"]
    mastodon = per_account["mastodon:@staidans@mastodon.example"]
    mine = {k: v for k, v in per_account.items() if k.split(":", 1)[0] in ("rss", "mastodon")}
    assert list(mine.values()) == [mastodon] * 3  # website, class blog and Mastodon: the same posts
    # ... and each counted once: every Mastodon post is one of the website's, and the week's count is
    # the number of distinct posts over all the school's accounts
    since, until = WEEK.bounds("Europe/London")
    originals = [p for p in store.posts_for("st-aidans", since, until) if not p.is_reply and not p.is_repost]
    keys = {p.platform: set() for p in originals}
    for post in originals:
        keys[post.platform].add(crosspost_key(post))
    assert keys["mastodon"] and keys["mastodon"] <= keys["rss"]
    assert frequency.metrics["posts"] == len(set().union(*keys.values()))

    pipeline.check_school("holy-cross", WEEK, run_id, audit_env)
    holy = {r.check: r for r in store.results_for(WEEK, "holy-cross")}["post_frequency"]
    assert holy.status.value == "fail" and holy.metrics["posts"] == 1  # its Bluesky only reposts
    assert "bluesky:holycross.bsky.social" not in holy.metrics["per_account"]
