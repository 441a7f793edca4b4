"""kill -9 while processes append to the audit log: the hash chain verifies, without gap or fork,
and appending goes on from where it stopped."""

from __future__ import annotations

from tests.crash.conftest import kill_when

# A signed checkpoint every few records, so that kills also land while one is being signed.
CHECKPOINTS = {"LIFELINE_AUDIT_CHECKPOINT_EVERY": "7"}


def assert_chain_whole(instance) -> int:
    verify = instance.run("audit", "verify", "--no-record")
    assert verify.returncode == 0 and "OK:" in verify.stdout, verify.stdout + verify.stderr
    head = instance.scalar("SELECT seq FROM audithead")
    # No gap (every number up to the head) and no fork (one record per number).
    assert instance.rows("SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM auditevent") == [
        (head, head, 1, head)
    ]
    return head


def test_kill_9_during_audit_appends_leaves_a_chain_that_verifies(instance):
    assert instance.run("db", "upgrade").returncode == 0
    # Two appenders race for the head; one is killed mid-stream, the other runs to its end.
    survivor = instance.start_python("-m", "tests.crash.appender", "400", **CHECKPOINTS)
    victim = instance.start_python("-m", "tests.crash.appender", "100000", **CHECKPOINTS)
    kill_when(
        victim,
        lambda: (
            (
                instance.scalar("SELECT count(*) FROM auditevent WHERE actor_username = :who", who=f"crew-{victim.pid}")
                or 0
            )
            > 150
        ),
        "the appender writing records",
    )
    assert survivor.wait(timeout=180) == 0, survivor.log.read_text()
    head = assert_chain_whole(instance)
    assert head >= 400 + 150
    assert instance.scalar("SELECT count(*) FROM auditcheckpoint") >= head // 7

    # Restarted, appending continues the same chain.
    again = instance.python("-m", "tests.crash.appender", "20", **CHECKPOINTS)
    assert again.returncode == 0, again.stderr
    assert assert_chain_whole(instance) == head + 20
