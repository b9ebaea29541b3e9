"""`make soak` (scripts/soak.py) in its short CI version: about a minute with 8 conversations at once
on the production profile, on its own fresh PostgreSQL databases and Redis database (local servers).
Every turn must be answered, every lead handed over with consent stored exactly once, the report
complete, and the run's databases gone afterwards. No timing is asserted."""

from __future__ import annotations

import json

import pytest
import redis
from sqlalchemy import create_engine, text

import settings
from scripts import soak, stores

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def short_soak(tmp_path_factory):
    report_path = tmp_path_factory.mktemp("soak") / "report.json"
    # 15 s warm-up + 45 s measured; one conversation in four hands over a lead so several finish in time
    options = soak.Options(conversations=8, seconds=45, warmup_s=15, lead_share=0.25, think_s=(0.3, 1.5))
    report = soak.run(options, report_path)
    return report, report_path


def test_every_turn_is_answered_and_every_handed_over_lead_is_stored(short_soak):
    report, report_path = short_soak
    assert report == json.loads(report_path.read_text(encoding="utf-8"))
    assert report["errors"]["total"] == 0, report["errors"]["examples"]
    assert report["errors"]["by_kind"] == {"http_status": 0, "empty_reply": 0, "exception": 0}
    leads = report["leads"]
    assert leads["expected"] >= 2
    assert leads["stored"] == leads["expected"] and leads["missing"] == 0 and leads["duplicated"] == 0
    assert leads["confirmed_in_chat"] == leads["expected"]  # the mover saw a reference for each
    assert report["ok"] and report["problems"] == []
    assert "RESULT: OK" in soak.table(report)  # the readable summary printed at the end


def test_the_conversations_are_a_realistic_mix_in_five_languages(short_soak):
    report, _ = short_soak
    conversations = report["conversations"]
    assert conversations["concurrent"] == 8
    assert all(conversations["by_language"][lang] > 0 for lang in settings.LANGUAGES), conversations["by_language"]
    assert conversations["by_kind"]["chat"] > 0 and conversations["by_kind"]["lead"] > 0
    assert conversations["completed"] > conversations["concurrent"]  # finished conversations were replaced
    assert conversations["started"] == conversations["completed"] + conversations["cut_at_end"]
    assert set(report["turns"]["by_kind"]) == {"question", "button", "small_talk", "out_of_scope", "lead_form"}
    # Rasa stored every conversation that sent a turn in the PostgreSQL tracker store
    assert report["tracker_store"]["store"] == "PostgreSQL"
    assert report["tracker_store"]["conversations"] >= conversations["completed"]
    assert report["tracker_store"]["events"] > report["turns"]["total"]


def test_the_report_has_latency_throughput_and_memory_per_process(short_soak):
    report, _ = short_soak
    overall = report["latency"]["overall"]
    assert overall["n"] == report["turns"]["measured"] > 0
    assert 0 < overall["p50_ms"] <= overall["p95_ms"] <= overall["p99_ms"] <= overall["max_ms"]
    [minute] = report["latency"]["per_minute"]
    assert minute["n"] == overall["n"] and minute["errors"] == 0 and minute["turns_per_s"] > 0
    assert report["throughput_turns_per_s"] > 0
    memory = report["memory"]
    for moment in ("start", "after_warmup", "end"):
        for name in ("web", "rasa", "actions"):
            assert memory[moment][name]["rss_mb"] > 0 and memory[moment][name]["pss_mb"] > 0, (moment, name)
        assert memory[moment]["web"]["processes"] >= 3 and memory[moment]["rasa"]["processes"] >= 3  # 2 workers each
    assert [m["minute"] for m in memory["per_minute"]] == [1]
    assert set(memory["growth"]) == {"web", "rasa", "actions", "total"}
    assert memory["growth"]["total"]["rss_mb"] == memory["end"]["total"]["rss_mb"] - memory["after_warmup"]["total"]["rss_mb"]
    assert set(memory["growth"]["total"]) == {"rss_mb", "rss_pct", "pss_mb", "pss_pct"}


def test_the_run_says_the_rate_limits_were_off_and_removes_its_stores(short_soak):
    report, _ = short_soak
    stack = report["stack"]
    assert (stack["profile"], stack["web_workers"], stack["rasa_workers"]) == ("production", 2, 2)
    assert report["rate_limits"]["MOVE_CHAT_RATE_LIMIT_IP"] == "off" and report["rate_limits"]["MOVE_CHAT_RATE_LIMIT_SESSION"] == "off"
    admin = create_engine(settings.SOAK_POSTGRES_URL)
    try:
        with admin.connect() as conn:
            left = list(conn.scalars(text("SELECT datname FROM pg_database WHERE datname = ANY(:names)"),
                                     {"names": stack["stores"]["postgresql_databases"]}))
    finally:
        admin.dispose()
    assert len(stack["stores"]["postgresql_databases"]) == 2 and left == []
    redis_db = redis.Redis.from_url(settings.SOAK_REDIS_URL.rstrip("/") + f"/{stack['stores']['redis_db']}")
    assert not redis_db.exists(stores.REDIS_CLAIM_KEY)  # emptied (someone else's test may use it by now)
