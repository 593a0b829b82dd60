"""The JSON forms of posts and findings, and the errors bad input gets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialaudit.models import Finding, Media, Post, Severity, Status


def test_post_json_round_trip(make_post):
    post = make_post(media=(Media(type="photo", url="https://x.example/a.jpg", alt="A class on the field"),),
                     links=("https://www.gov.uk/",), is_reply=True)
    data = post.to_dict()
    assert set(data) >= {"platform", "account", "school", "id", "url", "created_at", "text", "media", "links",
                         "is_reply", "is_repost"}
    assert data["created_at"] == "2026-11-18T10:00:00Z"
    assert data["media"] == [{"type": "photo", "url": "https://x.example/a.jpg", "alt": "A class on the field"}]
    assert Post.from_dict(data) == post


def test_timestamps_are_normalised_to_utc(make_post):
    bst = timezone(timedelta(hours=1))
    post = make_post(created_at=datetime(2026, 6, 1, 9, 0, tzinfo=bst))
    assert post.created_at == datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="naive"):
        make_post(created_at=datetime(2026, 6, 1, 9, 0))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("id"), "missing field 'id'"),
        (lambda d: d.update(created_at="yesterday"), "field 'created_at'"),
        (lambda d: d.update(media=[{"type": "hologram"}]), "field 'media'"),
        (lambda d: d.update(links="https://a.example"), "field 'links'"),
    ],
)
def test_post_from_dict_names_the_bad_field(make_post, change, message):
    data = make_post().to_dict()
    change(data)
    with pytest.raises(ValueError, match=message):
        Post.from_dict(data)


def test_finding_json_has_the_documented_keys():
    finding = Finding(check="post_frequency", severity=Severity.BREACH, status=Status.FAIL, school="holy-cross",
                      policy="4.3", message="1 original post in 2026-W47.")
    assert set(finding.to_dict()) >= {"check", "severity", "status", "school", "account", "post_id", "post_url",
                                      "policy", "message", "evidence"}
    assert Finding.from_dict(finding.to_dict()) == finding


def test_status_ranks_put_could_not_check_above_pass():
    assert Status.NOT_EVALUATED.rank > Status.PASS.rank
    assert Status.FAIL.rank > Status.ERROR.rank > Status.NOT_EVALUATED.rank


@pytest.mark.parametrize("text", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00"])
def test_a_timestamp_with_no_utc_time_is_malformed_not_a_crash(text):
    """Collectors skip an item whose date raises ValueError; an OverflowError took the whole task down."""
    from socialaudit.models import parse_utc

    with pytest.raises(ValueError, match="out of range"):
        parse_utc(text)


def test_comment_tracking_is_typed_and_keeps_its_json_form():
    """The comments check's observations are a CommentTracking on the result, not metric keys; results.json and
    the store keep the JSON form they had (two metric keys), so archived runs read back as they were."""
    from socialaudit.models import CheckResult, CommentObservation, CommentTracking

    visible = {"platform": "facebook", "account": "StAidansFict", "post_id": "p1", "comment_id": "c1", "state": "visible",
               "post_url": "https://facebook.example/p1", "comment_url": "", "evidence": "… [masked] …",
               "first_week": "2026-W47", "category": "bullying", "post_created_at": "2026-11-18T09:00:00Z"}
    removed = {"platform": "rss", "account": "http://127.0.0.1:8765/rss/x/feed/", "post_id": "p2", "comment_id": "c2",
               "state": "removed", "post_url": "", "comment_url": "", "evidence": "", "first_week": "2026-W46",
               "post_created_at": None}  # a removed one has no category
    sealed = {"check": "comments", "policy": "4.1", "school": "st-aidans", "status": "fail", "summary": "s", "findings": [],
              "metrics": {"comments": 3, "flagged": 1, "posts": 2,
                          "evaluated_accounts": ["facebook:StAidansFict", "rss:http://127.0.0.1:8765/rss/x/feed/"],
                          "observations": [visible, removed]}}
    result = CheckResult.from_dict(sealed)
    assert result.metrics == {"comments": 3, "flagged": 1, "posts": 2}
    assert result.comment_tracking == CommentTracking(
        observations=(CommentObservation.from_dict(visible), CommentObservation.from_dict(removed)),
        evaluated=(("facebook", "StAidansFict"), ("rss", "http://127.0.0.1:8765/rss/x/feed/")))
    assert result.comment_tracking.observations[1].category == "" and result.comment_tracking.observations[1].post_created_at is None
    assert result.to_dict() == sealed and list(result.to_dict()["metrics"]) == list(sealed["metrics"])
    other = CheckResult.from_dict({**sealed, "check": "post_frequency", "metrics": {"posts": 4}})
    assert other.comment_tracking is None and other.recorded_metrics() == {"posts": 4}
