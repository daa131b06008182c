"""The pipeline chart picture: `pipeline chart` / 漏斗图 and the weekly digest. A PNG of the asked size, not
blank, its Chinese labels drawn with the CJK font (matplotlib warns of every glyph it cannot draw: none may be
missing); it reaches Slack (a file in the DM), WeCom (media/upload + an image message) and the console."""
from __future__ import annotations

import io
import warnings
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageStat
from sqlalchemy import select

from bot.processes import build_messengers
from cards.documents.chart import pipeline_chart_png
from cards.format import compact_money as compact
from cards.model import Attachment, Card, Section
from crm_core.models import OutboxMessage
from crm_core.queries.pipeline import Forecast, OpenPipeline, Period, PipelineReport, StageRow, won_trend
from crm_core.uow import UnitOfWork
from handlers.ports import Recipient
from scheduler.jobs.digests import run_digests
from scheduler.delivery import deliver_due

SHANGHAI = timezone(timedelta(hours=8))
PNG = b"\x89PNG\r\n\x1a\n"
STAGES_ZH = {"qualify": "资格确认", "discovery": "需求调研", "proposal": "方案报价", "negotiation": "商务谈判"}


def report() -> PipelineReport:
    rows = (StageRow("qualify", 10, 12, Decimal("1200000"), Decimal("120000")),
            StageRow("discovery", 20, 8, Decimal("950000"), Decimal("190000")),
            StageRow("proposal", 50, 5, Decimal("600000"), Decimal("300000")),
            StageRow("negotiation", 80, 2, Decimal("420000"), Decimal("336000")))
    month = Period("month", date(2026, 11, 1), date(2026, 12, 1), 1)
    quarter = Period("quarter", date(2026, 10, 1), date(2027, 1, 1), 3)
    return PipelineReport(generated_at=datetime(2026, 11, 29, tzinfo=timezone.utc), window_days=90,
                          open=OpenPipeline(rows, Decimal("200000"), Decimal("500000")), conversion=(),
                          closed=None, leads=None,  # type: ignore[arg-type] # the chart reads neither
                          forecast=(Forecast(month, Decimal("200000"), Decimal("150000"), Decimal("400000")),
                                    Forecast(quarter, Decimal("500000"), Decimal("600000"), None)))


def draw(locale: str) -> tuple[bytes, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = pipeline_chart_png(locale, report(), scope_label="我的团队" if locale == "zh_CN" else "my team",
                                 stage_names=STAGES_ZH if locale == "zh_CN" else {}, currency="CNY",
                                 today="2026-11-30", width_px=640, height_px=360)
    return png, [str(w.message) for w in caught if "missing from" in str(w.message)]


def test_a_chinese_chart_is_a_png_of_the_asked_size_with_every_glyph_drawn() -> None:
    png, missing = draw("zh_CN")
    assert png.startswith(PNG)
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.size == (640, 360)
    assert missing == []  # no tofu: the CJK font has every character of the labels
    stat = ImageStat.Stat(image)
    assert stat.stddev[0] > 20  # not a blank canvas
    dark = sum(image.histogram()[:128])
    assert dark > 0.02 * 640 * 360  # bars and text cover a real part of it


def test_without_a_cjk_font_the_chart_still_draws_and_the_missing_glyphs_show(no_cjk_font: None) -> None:
    png, missing = draw("zh_CN")
    assert Image.open(io.BytesIO(png)).size == (640, 360)
    assert missing  # the check above can fail: DejaVu Sans has no Chinese


def test_bar_labels_are_short_in_both_languages() -> None:
    assert compact(Decimal("1234567"), "CNY", "en") == "¥1.2M"
    assert compact(Decimal("1200000"), "CNY", "zh_CN") == "¥120万"
    assert compact(Decimal("950"), "USD", "en") == "$950"


def test_pipeline_chart_in_the_console_saves_the_picture_and_prints_its_path(console_bot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    li = console_bot("li")
    li.exec("deal new 华星科技 amount=120000")
    out = console_bot("wang").exec("漏斗图")
    assert "销售漏斗 · 我的团队" in out and "1 个进行中商机 · ¥120,000.00" in out
    [line] = [ln for ln in out.splitlines() if ln.startswith("[文件] ")]
    path = tmp_path / line.removeprefix("[文件] ")
    assert path.name.startswith("pipeline-team-") and path.suffix == ".png"
    assert Image.open(path).size == (1000, 800)  # funnel and forecast, and the weekly trend below


def test_pipeline_chart_reaches_slack_as_a_file_in_the_dm(slack, fake_slack) -> None:  # type: ignore[no-untyped-def]
    slack.command("U01EMMA", "deal new Acme amount=250000")
    slack.command("U01EMMA", "pipeline chart")
    [(fid, meta)] = [(fid, m) for fid, m in fake_slack.files.items() if m["title"].endswith(".png")]
    assert meta["channel"] == "D01EMMA" and meta["title"].startswith("pipeline-mine-")
    assert fake_slack.upload_bytes[fid].startswith(PNG)


def test_pipeline_chart_reaches_wecom_as_an_image(wecom) -> None:  # type: ignore[no-untyped-def]
    wecom.say("lilei", "商机 新建 华星科技 amount=120000")
    wecom.say("lilei", "漏斗图")
    [picture] = wecom.fake.files_to("lilei")
    assert (picture["type"], picture["content_type"]) == ("image", "image/png")
    assert picture["filename"].startswith("pipeline-mine-") and picture["data"].startswith(PNG)
    assert "漏斗与预测对比目标的图片" in wecom.last_text("lilei")


def test_the_weekly_digest_carries_the_chart_to_wecom(wecom_wiring, fake_wecom, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime(2026, 3, 9, 8, 30, tzinfo=SHANGHAI))  # weekly_on = "mon"
    assert run_digests(uow=UnitOfWork(wecom_wiring.session_factory, wecom_wiring.config), clock=clock) == 5
    with wecom_wiring.session_factory() as s:
        payloads = [r.payload for r in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest.weekly"))]
    assert len(payloads) == 5 and all([a["content_type"] for a in p["attachments"]] == ["image/png"] for p in payloads)
    deliver_due(wecom_wiring.session_factory, build_messengers(wecom_wiring), clock, wecom_wiring.config)
    kinds = [b["msgtype"] for b in fake_wecom.sent_to("wangfang")]
    assert kinds[-1] == "image" and kinds[:-1] and "image" not in kinds[:-1]  # the digest, then its picture
    [picture] = fake_wecom.files_to("wangfang")  # 王芳, a manager: her team's chart
    assert picture["type"] == "image" and picture["filename"] == "pipeline-team-2026-03-09.png"
    assert Image.open(io.BytesIO(picture["data"])).size == (1000, 800)


def test_a_card_with_a_file_reaches_slack_after_the_card(slack_wiring, fake_slack) -> None:  # type: ignore[no-untyped-def]
    """How the digest's chart goes out on Slack: the messenger posts the card, then uploads its files there."""
    card = Card(title="Weekly digest", blocks=(Section("…"),),
                attachments=(Attachment("pipeline-team-2026-03-09.png", "image/png", PNG + b"rest"),))
    build_messengers(slack_wiring)["slack"].send_now(
        Recipient(user_id=1, platform="slack", external_id="U01SAM", locale="en"), card)
    assert [c["channel"] for c in fake_slack.calls_to("chat.postMessage")] == ["U01SAM"]
    [(fid, meta)] = list(fake_slack.files.items())
    assert meta["title"] == "pipeline-team-2026-03-09.png" and fake_slack.upload_bytes[fid] == PNG + b"rest"


def test_the_trend_counts_wins_per_week_in_one_query(wiring, console_bot, clock, user_id,  # type: ignore[no-untyped-def]
                                                     assert_query_count) -> None:
    emma, tom = console_bot("emma"), console_bot("tom")
    emma.exec("deal new Acme amount=250000")
    emma.exec("deal new Globex amount=80000")
    tom.exec("deal new Initech amount=40000")
    emma.exec("won D-1")
    tom.exec("won D-3")
    clock.advance(days=7)
    emma.exec("won D-2")
    emma_id = user_id("emma")
    with wiring.session_factory() as s, assert_query_count(1):
        mine = won_trend(s, wiring.config, {emma_id}, clock.now(), weeks=3)
    with wiring.session_factory() as s:
        everyone = won_trend(s, wiring.config, None, clock.now(), weeks=3)
    assert [(w.won_count, w.won_amount) for w in mine] == [(0, 0), (1, Decimal("250000.00")), (1, Decimal("80000.00"))]
    assert [w.won_count for w in everyone] == [0, 2, 1]
    assert [w.start.weekday() for w in everyone] == [0, 0, 0]  # weeks start on Monday, company time
