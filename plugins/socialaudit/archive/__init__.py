"""The audit archive: one immutable, hash-chained folder per run, for auditors.

One module per job:

- :mod:`socialaudit.archive.bundle`: what a run is made of (reports, emails, results, findings,
  posts, raw responses, config, rules and code version) and :func:`archive_run`, which seals it;
- :mod:`socialaudit.archive.chain`: the archive itself, its paged index, sealing and verification
  of the hash chain;
- :mod:`socialaudit.archive.retention`: what is past ``trust.retention``, its removal and the purge
  record sealed into the chain (``history purge``).

Every run (a failed or partial one too) is sealed into ``archive/<YYYY-Www>/<run-id>/``::

    reports/trust.html, reports/summary.json, reports/schools/<id>.html   what the trust and heads saw
    emails/<id>.eml                      the head's email as written to the outbox
    results.json                         per school: collection status, every check's status and metrics
    findings.json, findings.csv          every finding of the run
    posts.jsonl.gz                       the posts the checks read, back over the event lead times (gzip, mtime 0)
    raw/<school>/<platform>/<account>/   the raw responses collected (copied from output/raw)
    raw/<school>/calendar/<calendar>/    each calendar the event check read, as it was read
    raw/<school>/links/resolutions/      each link the external_links check judged: chain, every request's answer
    raw/<school>/inputs/comment_history/ the flagged comments of earlier weeks the comments check was given
    config.yaml                          the trust config used, byte for byte
    rules.json                           the checks (name, clause, source hash) and resolved settings
    code.json                            the code version (git commit, or "unknown")
    manifest.json                        SHA-256 of every file above, and the previous manifest's SHA-256

``manifest.json`` is written last: a folder without one is an unfinished write (a retry may
replace it); a folder with one is sealed and is never written again. Each manifest carries the
SHA-256 of the manifest archived before it (across weeks, in order of archiving), so the runs form a
chain and a changed, removed or inserted run shows when :meth:`chain.Archive.verify` walks it.
The index lists the chain in pages: ``archive/index/000001.json`` holds entries 1-100, and so on;
``archive/index.json`` lists the pages. Archiving a run rewrites only the last page (and the page
list when it starts a new page); past runs and full pages are never re-read or rewritten, so
archiving costs the same with 0 or 500 runs behind it.

The chain alone cannot show that its *latest* run was deleted together with its index entry (what
is left is a shorter, consistent chain), so every sealed run is also recorded in the audit store
(``archive_seals``: folder, position, manifest SHA-256, previous SHA-256, time). Given those seals,
:meth:`chain.Archive.verify` also names a sealed run missing from the archive, a manifest that is not the
one sealed, and a run in the archive the store never sealed (inserted). The anchor means something
only when the store and the archive live on different systems (one writer cannot rewrite both).

A purge (retention) removes files from sealed runs without touching their manifests, and records a
purge entry in the chain (``archive/purges/<time>/manifest.json``) listing each removed file and its
old SHA-256, so ``verify`` still passes and reports what was purged when.

Everything is written through Airflow's ``ObjectStoragePath``: a local folder by default
(``file://``), S3, GCS or Azure by setting ``SOCIALAUDIT_ARCHIVE`` (e.g. ``s3://aws_default@bucket/archive``).
File contents are deterministic (same inputs, same bytes); only the manifest's run id and time
fields vary between two runs over the same data.
"""

from socialaudit.archive.bundle import (
    FINDING_COLUMNS,
    SUPPRESSION_COLUMNS,
    SafeCsvWriter,
    archive_run,
    code_version,
    csv_cell,
    finding_key,
    rules_version,
    run_files,
    suppression_cells,
)
from socialaudit.archive.chain import (
    MANIFEST,
    AlreadyArchived,
    Archive,
    ArchiveError,
    Verification,
    archive_url,
    as_url,
    canonical_json,
    open_archive,
    sha256,
    utc_stamp,
)
from socialaudit.archive.retention import KINDS, PurgePlan, plan_purge, purge, record_purge, retention_days

__all__ = ["FINDING_COLUMNS", "KINDS", "MANIFEST", "SUPPRESSION_COLUMNS", "AlreadyArchived", "Archive", "ArchiveError",
           "PurgePlan", "SafeCsvWriter", "Verification", "archive_run", "archive_url", "as_url", "canonical_json",
           "code_version", "csv_cell", "finding_key", "open_archive", "plan_purge", "purge", "record_purge",
           "retention_days", "rules_version", "run_files", "sha256", "suppression_cells", "utc_stamp"]
