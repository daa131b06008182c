"""chatcrm import leads FILE.csv: mapping, validation report, dedupe, assignment, batches, resumable."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.importer import run_import
from crm_core.models import Lead, OutboxMessage, User

CN = """姓名,公司,邮箱,手机,地区,来源,备注
张三,深圳某某科技有限公司,zs@example.com,13800138000,east,web,x
李四,某某科技（深圳）有限公司,,,east,web,
王五,北京银行,,,east,ads,
赵六,上海银行,,,east,ads,
坏邮箱,,not-an-email,,,,
没联系方式,,,,,,
"""
EN = """Full Name,Company,E-mail,Phone,Region,Lead Source,Tags
Ann,Acme Inc.,ann@acme.com,,intl,event,expo
Bob,"ACME, Inc",,,intl,event,
ANN,Acme Inc,ANN@ACME.COM,,intl,event,expo
Cat,Globex,cat@globex.com,+44 20 7946 0958,west,referral,
Dan,Initech,DAN@initech.com,,mars,fax-machine,
Eve,Initech Ltd,,,,,
"""


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def leads(wiring) -> list[Lead]:  # type: ignore[no-untyped-def]
    with wiring.session_factory() as s:
        return list(s.scalars(select(Lead).order_by(Lead.id)))


def test_chinese_headers_dedupe_and_a_report_of_rejected_rows(wiring, tmp_path):  # type: ignore[no-untyped-def]
    path = write(tmp_path, CN)
    result = run_import(wiring, path, show_progress=False)
    s = result.stats
    # 李四 works at 张三's company but is another person: a lead of his own (so are the two banks)
    assert (s.read, s.created, s.merged, s.rejected) == (6, 4, 0, 2)
    assert [lead.company for lead in leads(wiring)] == ["深圳某某科技有限公司", "某某科技（深圳）有限公司", "北京银行",
                                                        "上海银行"]
    assert result.unmapped_columns == ["备注"]
    report = list(csv.DictReader((tmp_path / "leads.rejected.csv").open(encoding="utf-8-sig")))
    assert [r["line"] for r in report] == ["6", "7"]
    assert "email" in report[0]["reason"] and "at least an email" in report[1]["reason"]
    # the file's reader may read Chinese only: every reason in Chinese too, in a column of its own
    assert "邮箱" in report[0]["原因"] and report[1]["原因"] and not ascii_only(report[1]["原因"])


def ascii_only(text: str) -> bool:
    return all(ord(c) < 128 for c in text)


def test_a_namesake_at_the_company_of_another_city_is_not_merged(wiring, tmp_path):  # type: ignore[no-untyped-def]
    """The company key leaves places out: 张伟 of 广州华星科技 was merged into 张伟 of 深圳华星科技. Two cities are two
    companies, so two people; a row of no stated city still merges into the one there is."""
    path = write(tmp_path, "姓名,公司,手机\n张伟,深圳华星科技有限公司,13800138000\n张伟,广州华星科技,13900139000\n"
                           "张伟,深圳市华星科技,\n")
    s = run_import(wiring, path, show_progress=False).stats
    assert (s.created, s.merged) == (2, 1)
    assert [(lead.company, lead.phone) for lead in leads(wiring)] == [
        ("深圳华星科技有限公司", "+8613800138000"), ("广州华星科技", "+8613900139000")]


def test_english_headers_validation_and_region_round_robin(wiring, tmp_path):  # type: ignore[no-untyped-def]
    result = run_import(wiring, write(tmp_path, EN), show_progress=False)
    # Dan is rejected (unknown source), so Eve of "Initech Ltd" is new; Bob of "ACME, Inc" is not Ann: new too;
    # ANN with her e-mail in capitals is Ann again
    assert (result.stats.created, result.stats.merged, result.stats.rejected) == (4, 1, 1)
    by_name = {lead.name: lead for lead in leads(wiring)}
    assert by_name["Ann"].owner.key == "emma"  # intl pool: emma is the only rep tagged intl
    assert by_name["Cat"].owner.key == "tom"  # west pool
    assert "src:event" in by_name["Ann"].tags and by_name["Ann"].duplicate_hits == 1
    assert by_name["Ann"].first_response_due_at is None  # imports do not start SLA clocks
    assert by_name["Cat"].score == 40 + 10 + 10 + 10  # referral + email + phone + company


def test_rerunning_the_same_file_creates_nothing_and_says_so(wiring, tmp_path):  # type: ignore[no-untyped-def]
    path = write(tmp_path, CN)
    run_import(wiring, path, show_progress=False)
    before = [(lead.id, lead.duplicate_hits, lead.tags) for lead in leads(wiring)]
    again = run_import(wiring, path, show_progress=False)
    assert (again.stats.created, again.stats.merged, again.stats.already_imported) == (0, 0, 4)
    assert [(lead.id, lead.duplicate_hits, lead.tags) for lead in leads(wiring)] == before


def test_duplicates_across_batch_boundaries_are_caught(wiring, tmp_path):  # type: ignore[no-untyped-def]
    rows = "name,company,tags\n" + "".join(f"p{i % 7},Company {i % 7} Ltd,t{i}\n" for i in range(40))
    result = run_import(wiring, write(tmp_path, rows), batch_size=3, show_progress=False)
    assert (result.stats.created, result.stats.merged) == (7, 33)
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count(Lead.id))) == 7


def test_owners_get_one_summary_per_batch_not_one_message_per_lead(wiring, tmp_path):  # type: ignore[no-untyped-def]
    rows = "name,company,region\n" + "".join(f"p{i},Firm{i} Ltd,east\n" for i in range(10))
    run_import(wiring, write(tmp_path, rows), show_progress=False)
    with wiring.session_factory() as s:
        msgs = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "leads.imported")).all()
        owners = {s.get(User, m.target_id).key: m.payload["title"] for m in msgs}
    assert owners == {"li": "你收到 5 条导入的线索", "han": "你收到 5 条导入的线索"}


def test_a_gbk_file_from_excel_is_read(wiring, tmp_path):  # type: ignore[no-untyped-def]
    result = run_import(wiring, write(tmp_path, CN, encoding="gb18030"), show_progress=False)
    assert result.stats.created == 4 and leads(wiring)[0].name == "张三"


def test_a_file_without_a_name_column_changes_nothing(wiring, tmp_path):  # type: ignore[no-untyped-def]
    import typer
    with pytest.raises(typer.Exit):
        run_import(wiring, write(tmp_path, "company,email\nAcme,a@acme.com\n"), show_progress=False)
    assert leads(wiring) == []


def test_the_operator_reads_the_summary_and_a_refusal_in_chinese_too(wiring, tmp_path, capsys):  # type: ignore[no-untyped-def]
    import typer
    run_import(wiring, write(tmp_path, CN), show_progress=False)
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["read 6 rows: 4 new leads, 0 merged into existing leads, 0 skipped (imported by an earlier run, "
                       "or an exact repeat), 2 rejected.",
                       "读取 6 行：新建线索 4 条，合并到已有线索 0 条，跳过 0 条（之前已导入，或完全重复），拒绝 2 条。"]
    assert out[2] == "ignored columns: 备注 / 未识别、已忽略的列：备注"
    with pytest.raises(typer.Exit):
        run_import(wiring, write(tmp_path, "company,email\nAcme,a@acme.com\n", name="nameless.csv"), show_progress=False)
    err = capsys.readouterr().err.splitlines()
    assert err == ["header “company,email” is not valid: the file needs a name column (name / 姓名 / 联系人) and a header row",
                   "表头「company,email」无效：文件需要表头，且包含姓名列（name / 姓名 / 联系人）"]


def test_the_import_ledger_points_at_the_lead_each_row_became(wiring, tmp_path):  # type: ignore[no-untyped-def]
    from crm_core.models import ImportedRow
    rows = "name,company,email\n" + "".join(f"p{i},Firm{i % 30} Ltd,p{i % 30}@x.com\n" for i in range(60))
    run_import(wiring, write(tmp_path, rows), batch_size=7, show_progress=False)
    with wiring.session_factory() as s:
        by_email = {lead.email: lead for lead in s.scalars(select(Lead))}
        ledger = s.scalars(select(ImportedRow)).all()
        assert len(ledger) == 60 and {r.outcome for r in ledger} == {"created", "merged"}
        for row in ledger:
            lead = s.get(Lead, row.lead_id)
            assert lead is not None
        created = [r for r in ledger if r.outcome == "created"]
        assert sorted(r.lead_id for r in created) == sorted(lead.id for lead in by_email.values())


def test_two_people_at_one_company_are_two_leads_and_a_repeat_person_is_recorded(wiring, tmp_path):  # type: ignore[no-untyped-def]
    from crm_core.models import LeadIdentity, LeadMerge
    rows = ("name,company,email,phone\n"
            "Carol King,Initech Ltd,carol@initech.com,\n"
            "Dan Brown,\"INITECH, Inc.\",,\n"
            "dan brown,Initech,,13800138000\n"
            "李四,深圳某某科技有限公司,,\n"
            "李四,某某科技（深圳）有限公司,,+86 138-0013-8001\n")
    result = run_import(wiring, write(tmp_path, rows), show_progress=False)
    assert (result.stats.created, result.stats.merged) == (3, 2)
    by_name = {lead.name: lead for lead in leads(wiring)}
    assert sorted(by_name) == ["Carol King", "Dan Brown", "李四"]
    assert by_name["Dan Brown"].phone == "+8613800138000" and by_name["李四"].phone == "+8613800138001"
    with wiring.session_factory() as s:
        merges = s.scalars(select(LeadMerge).order_by(LeadMerge.id)).all()
        assert [(m.kind, m.kept_lead_id, m.matched_on) for m in merges] == [
            ("auto", by_name["Dan Brown"].id, "name"), ("auto", by_name["李四"].id, "name")]
        assert merges[0].moved["filled"] == {"phone": "+8613800138000"}
        owners = dict(s.execute(select(LeadIdentity.value, LeadIdentity.lead_id)
                                .where(LeadIdentity.kind == "phone")).all())
        assert owners == {"+8613800138000": by_name["Dan Brown"].id, "+8613800138001": by_name["李四"].id}
    # the same people typed in chat afterwards find their imported leads
    from crm_core.services.leads import LeadInput, do_create_lead
    with wiring.runner.uow() as uow:
        again = do_create_lead(uow, LeadInput(name="Carol  King", company="initech", phone="13800138009"),
                               actor=None, now=wiring.clock.now())
        assert not again.created and again.lead.id == by_name["Carol King"].id


def test_a_batch_costs_the_same_number_of_queries_for_30_rows_as_for_300(wiring, tmp_path, assert_query_count):  # type: ignore[no-untyped-def]
    def rows(prefix: str, n: int) -> str:
        return "name,company,email\n" + "".join(f"{prefix}{i},{prefix}Firm{i % 50} Ltd,{prefix}{i % (n // 2)}@x.com\n"
                                                for i in range(n))
    with assert_query_count() as small:
        result = run_import(wiring, write(tmp_path, rows("a", 30), name="a.csv"), batch_size=300, show_progress=False)
    assert (result.stats.created, result.stats.merged) == (15, 15)
    with assert_query_count() as large:
        result = run_import(wiring, write(tmp_path, rows("b", 300), name="b.csv"), batch_size=300, show_progress=False)
    assert (result.stats.created, result.stats.merged) == (150, 150)
    # (owners are told once per batch: those statements grow with the number of owners, not of rows)
    def lead_work(counter) -> list[str]:  # type: ignore[no-untyped-def]
        return [q.split("(")[0].split(" WHERE")[0] for q in counter.statements
                if any(t in q for t in ("leads", "lead_identities", "lead_merges", "imported_rows", "assignment"))]
    assert lead_work(large) == lead_work(small) and len(lead_work(large)) <= 14


def test_rows_with_different_empty_fields_still_insert_as_one_statement_per_batch(wiring, tmp_path, assert_query_count):  # type: ignore[no-untyped-def]
    """Rows leave different cells empty (no e-mail, no phone, no company …): each batch still writes its new
    leads in one INSERT, so statements grow with batches, never with rows."""
    def rows(prefix: str, n: int) -> str:
        lines = ["name,company,email,phone,region,industry"]
        for i in range(n):
            lines.append(",".join([f"{prefix}{i}", f"{prefix}Firm{i} Ltd" if i % 2 else "",
                                   f"{prefix}{i}@x.com" if i % 3 else "", f"13{8 if prefix == 'a' else 9}0013{i:04d}" if i % 3 != 1 else "",
                                   "east" if i % 5 else "", "software" if i % 7 else ""]))
        return "\n".join(lines) + "\n"

    def statements(prefix: str, n: int) -> list[str]:
        with assert_query_count() as counter:
            result = run_import(wiring, write(tmp_path, rows(prefix, n), name=f"{prefix}.csv"), batch_size=100,
                                show_progress=False)
        assert result.stats.created == n and result.stats.rejected == 0
        return counter.statements

    one, four = statements("a", 100), statements("b", 400)
    lead_inserts = [q for q in four if q.lstrip().upper().startswith("INSERT INTO LEADS ")]
    assert len(lead_inserts) == 4, lead_inserts  # one per batch of 100, whatever cells each row left empty
    # start-up (migrations check, users) is paid once; each further batch costs a constant: at most 16 statements
    # of lead work (three per assignment pool used), plus one notice per owner who received leads (bounded by the team, not by the rows)
    def lead_work(statements: list[str]) -> list[str]:
        return [q for q in statements if any(t in q for t in ("leads", "lead_identities", "lead_merges",
                                                              "imported_rows", "assignment"))]
    assert (len(lead_work(four)) - len(lead_work(one))) / 3 <= 16, "\n".join(lead_work(four))
    assert (len(four) - len(one)) / 3 <= 60, "\n".join(four)
    with wiring.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 500
        assert s.scalar(select(func.count()).select_from(Lead).where(Lead.email.is_(None))) == 34 + 134


def test_a_rejected_row_names_every_problem_it_has(wiring, tmp_path):  # type: ignore[no-untyped-def]
    """The report named a row's first problem only: whoever fixed the e-mail re-ran the file to learn that the
    phone, the source and the region were wrong too."""
    text = "name,company,email,phone,source,region\nWang Wu,,bad-email,12,nowhere,mars\nAnn,Acme,ann@acme.com,,,\n"
    result = run_import(wiring, write(tmp_path, text), show_progress=False)
    assert (result.stats.created, result.stats.rejected) == (1, 1)
    (row,) = list(csv.DictReader((tmp_path / "leads.rejected.csv").open(encoding="utf-8-sig")))
    problems = row["reason"].split(" | ")
    assert [p.split(" ")[0] for p in problems] == ["email", "phone", "source", "region"], problems
    assert "“bad-email”" in problems[0] and "“12”" in problems[1] and "Trade show" in problems[2]


def test_a_large_import_is_found_by_name_part_pinyin_and_initials(wiring, tmp_path, as_user):  # type: ignore[no-untyped-def]
    """An import batch writes thousands of search keys at once (COPY on PostgreSQL): every lead is found as
    people type it, and the keys are those a lead created in chat would get."""
    from crm_core.models import SearchTerm
    from crm_core.queries.lookup import find
    from crm_core.search_text import record_keys
    rows = "姓名,公司\n" + "".join(f"客户{i},深圳华星{i}科技有限公司\n" for i in range(150))
    result = run_import(wiring, write(tmp_path, rows), show_progress=False)
    assert result.stats.created == 150
    by_name = {lead.name: lead for lead in leads(wiring)}
    with wiring.session_factory() as s:
        owner = s.get(User, by_name["客户37"].owner_id)
        for typed in ("华星37", "huaxing37", "shenzhenhuaxing37", "客户37", "kehu37"):
            assert by_name["客户37"].id in {h.id for h in find(s, owner, typed, ("lead",))}, typed
        lead = by_name["客户149"]
        stored = set(s.execute(select(SearchTerm.field, SearchTerm.key).where(
            SearchTerm.kind == "lead", SearchTerm.record_id == lead.id)).all())
        assert stored == record_keys(lead.name, lead.company)
