"""Pasted signatures and business-card text, Chinese and English, read into a lead's parts.

Each case gives the text as people paste it and what a rep expects the card to show; any part not listed must
be empty, and nothing pasted may be lost (it is either understood or kept in `rest`)."""
from __future__ import annotations

import re
import unicodedata

import pytest

from crm_core.signature import CLOSINGS, LABEL_OF, looks_like_signature, parse_signature

CASES: list[tuple[str, dict[str, str]]] = [
    ("王五 销售总监 深圳华为技术有限公司 13800138000 wangwu@huawei.com",
     dict(name="王五", title="销售总监", company="深圳华为技术有限公司", mobile="13800138000", email="wangwu@huawei.com")),
    ("王五\n销售总监\n深圳华为技术有限公司\n手机：13800138000\n邮箱：wangwu@huawei.com\n地址：深圳市龙岗区坂田华为基地",
     dict(name="王五", title="销售总监", company="深圳华为技术有限公司", mobile="13800138000", email="wangwu@huawei.com",
          address="深圳市龙岗区坂田华为基地")),
    ("张伟 | 市场部经理\n北京字节跳动科技有限公司\nTel: 010-58341234  Mobile: 139 1234 5678\nE-mail: zhangwei@bytedance.com",
     dict(name="张伟", title="市场部经理", company="北京字节跳动科技有限公司", landline="010-58341234",
          mobile="139 1234 5678", email="zhangwei@bytedance.com")),
    ("Best regards,\nJohn Smith\nSales Director, APAC\nAcme Inc.\nM: +1 415 555 0100\njohn.smith@acme.com\nwww.acme.com",
     dict(name="John Smith", title="Sales Director", company="Acme Inc.", mobile="+1 415 555 0100",
          email="john.smith@acme.com", website="www.acme.com")),
    ("李娜（Lina）\n采购经理\n上海某某贸易有限公司\n电话：021-6288 8888 转 123\n手机：186-0000-1111\n传真：021-62889999",
     dict(name="李娜（Lina）", title="采购经理", company="上海某某贸易有限公司", landline="021-6288 8888 转 123",
          mobile="186-0000-1111")),
    ("Jane Doe | Head of Procurement | Globex Corporation | +44 20 7946 0958 | jane.doe@globex.co.uk",
     dict(name="Jane Doe", title="Head of Procurement", company="Globex Corporation", landline="+44 20 7946 0958",
          email="jane.doe@globex.co.uk")),
    ("陈静\n客户经理 | 招商银行深圳分行\n手机 13712345678\nchenjing@cmbchina.com",
     dict(name="陈静", title="客户经理", company="招商银行深圳分行", mobile="13712345678", email="chenjing@cmbchina.com")),
    ("赵六　技术总监\n杭州阿里云计算有限公司\n手机：１３９００００１２３４\n邮箱：ｚｈａｏ６＠ａｌｉｙｕｎ．ｃｏｍ",
     dict(name="赵六", title="技术总监", company="杭州阿里云计算有限公司", mobile="13900001234", email="zhao6@aliyun.com")),
    ("--\nMaria Garcia\nAccount Executive\nInitech LLC\nOffice: (212) 555-0147 ext. 12\nCell: +1 (917) 555-0199\n"
     "maria@initech.com",
     dict(name="Maria Garcia", title="Account Executive", company="Initech LLC", landline="(212) 555-0147 ext. 12",
          mobile="+1 (917) 555-0199", email="maria@initech.com")),
    ("刘洋 总经理\n成都天府软件园科技有限公司\n地址：四川省成都市高新区天府大道 1366 号\n网址：www.tfsoft.cn\n电话：028-85001234",
     dict(name="刘洋", title="总经理", company="成都天府软件园科技有限公司", address="四川省成都市高新区天府大道 1366 号",
          website="www.tfsoft.cn", landline="028-85001234")),
    ("周杰 销售代表 13600001111",
     dict(name="周杰", title="销售代表", mobile="13600001111")),
    ("Wang Fang, Marketing Manager, Huawei Technologies Co., Ltd., +86 138 0013 8000, wangfang@huawei.com",
     dict(name="Wang Fang", title="Marketing Manager", company="Huawei Technologies Co., Ltd.",
          mobile="+86 138 0013 8000", email="wangfang@huawei.com")),
    ("孙丽\n财务主管\n广州白云山医药集团股份有限公司\n手机/微信：15800002222\n固话：020-87654321",
     dict(name="孙丽", title="财务主管", company="广州白云山医药集团股份有限公司", mobile="15800002222",
          landline="020-87654321")),
    ("Thanks,\nPeter Müller\nCTO · Beispiel GmbH\nT +49 30 1234567\npeter.mueller@beispiel.de",
     dict(name="Peter Müller", title="CTO", company="Beispiel GmbH", landline="+49 30 1234567",
          email="peter.mueller@beispiel.de")),
    ("吴敏 产品经理\n腾讯科技（深圳）有限公司\nM: 13512345678\nE: wumin@tencent.com\nA: 深圳市南山区科技中一路腾讯大厦",
     dict(name="吴敏", title="产品经理", company="腾讯科技（深圳）有限公司", mobile="13512345678",
          email="wumin@tencent.com", address="深圳市南山区科技中一路腾讯大厦")),
    ("黄磊\n13900139000",
     dict(name="黄磊", mobile="13900139000")),
    ("姓名：郑强\n职位：采购总监\n公司：南京钢铁股份有限公司\n电话：025-57071234\n手机：18912345678",
     dict(name="郑强", title="采购总监", company="南京钢铁股份有限公司", landline="025-57071234", mobile="18912345678")),
    ("Emily Chen\nSenior Consultant\nDeloitte Consulting LLP\n+1 212 555 0133\nemchen@deloitte.com",
     dict(name="Emily Chen", title="Senior Consultant", company="Deloitte Consulting LLP", landline="+1 212 555 0133",
          email="emchen@deloitte.com")),
    ("何静 | 华东区销售经理 | 苏州工业园区某某电子有限公司 | 手机 13812341234 | hejing@example.cn",
     dict(name="何静", title="华东区销售经理", company="苏州工业园区某某电子有限公司", mobile="13812341234",
          email="hejing@example.cn")),
    ("此致\n敬礼\n马超\n首席执行官\n西安秦川机械有限公司\n0298-8881234",
     dict(name="马超", title="首席执行官", company="西安秦川机械有限公司", landline="0298-8881234")),
    ("Tom Baker\nFounder & CEO\nStartupX Labs\ntom@startupx.io\nhttps://startupx.io",
     dict(name="Tom Baker", title="Founder & CEO", company="StartupX Labs", email="tom@startupx.io",
          website="https://startupx.io")),
    ("杨帆\nYang Fan\n商务总监 Business Director\n北京小米科技有限责任公司\nMobile：+86 186 1234 5678\nyangfan@xiaomi.com",
     dict(name="杨帆", title="商务总监 Business Director", company="北京小米科技有限责任公司",
          mobile="+86 186 1234 5678", email="yangfan@xiaomi.com")),
    ("许可 区域经理 华北\n天津某某物流集团\nTel：022-2345 6789\nMob：13012345678",
     dict(name="许可", title="区域经理", company="天津某某物流集团", landline="022-2345 6789",
          mobile="13012345678")),
    ("Ana Souza | Customer Success Manager\nUmbrella Corp | Rua Augusta 123, Sao Paulo\nana.souza@umbrella.com",
     dict(name="Ana Souza", title="Customer Success Manager", company="Umbrella Corp",
          address="Rua Augusta 123", email="ana.souza@umbrella.com")),
    ("林峰 Lin Feng\n架构师\n厦门美图网科技有限公司\n电邮：linfeng@meitu.com\n手机：17700001234",
     dict(name="林峰 Lin Feng", title="架构师", company="厦门美图网科技有限公司", email="linfeng@meitu.com",
          mobile="17700001234")),
    ("郭靖，采购部主任，襄阳重工集团有限公司，电话 0710-3456789，手机 13300001111，guojing@xyzg.com",
     dict(name="郭靖", title="采购部主任", company="襄阳重工集团有限公司", landline="0710-3456789",
          mobile="13300001111", email="guojing@xyzg.com")),
    ("Robert Brown\nVP Sales\nHooli Inc\nPhone: 650-555-0110\nrbrown@hooli.com\n1 Hacker Way, Menlo Park, CA 94025",
     dict(name="Robert Brown", title="VP Sales", company="Hooli Inc", email="rbrown@hooli.com", landline="650-555-0110",
          address="1 Hacker Way")),
    ("冯敏\n深圳市大疆创新科技有限公司\n市场专员\nTEL:0755-26656677\nfengmin@dji.com",
     dict(name="冯敏", title="市场专员", company="深圳市大疆创新科技有限公司", landline="0755-26656677",
          email="fengmin@dji.com")),
    ("韩梅梅 大客户销售\n13811112222 / hanmm@globex.cn\n上海市浦东新区世纪大道100号环球金融中心",
     dict(name="韩梅梅", title="大客户销售", mobile="13811112222", email="hanmm@globex.cn",
          address="上海市浦东新区世纪大道100号环球金融中心")),
    ("Sent from my iPhone\nKenji Sato\nSales Manager, Nippon Trading K.K.\n+81 3 1234 5678\nk.sato@nippon-trading.jp",
     dict(name="Kenji Sato", title="Sales Manager", company="Nippon Trading K.K.", landline="+81 3 1234 5678",
          email="k.sato@nippon-trading.jp")),
    ("钱多多\n投资总监 | 红杉资本中国基金\n手机：13900008888\n微信：qianduoduo88",
     dict(name="钱多多", title="投资总监", company="红杉资本中国基金", mobile="13900008888")),
    ("李雷 销售经理 杭州某某网络科技有限公司 0571-88886666",
     dict(name="李雷", title="销售经理", company="杭州某某网络科技有限公司", landline="0571-88886666")),
]


def _squash(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


@pytest.mark.parametrize("text,expected", CASES, ids=[f"sig{i:02d}" for i in range(len(CASES))])
def test_a_signature_is_read_into_its_parts(text: str, expected: dict[str, str]) -> None:
    sig = parse_signature(text)
    norm = {k: unicodedata.normalize("NFKC", v) for k, v in expected.items()}
    assert sig.found() == norm


@pytest.mark.parametrize("text,expected", CASES, ids=[f"sig{i:02d}" for i in range(len(CASES))])
def test_nothing_pasted_is_lost(text: str, expected: dict[str, str]) -> None:
    """Every word of the paste (but greetings, closings and labels) is a part, another number, or in `rest`."""
    sig = parse_signature(text)
    kept = _squash(" ".join([*sig.found().values(), *sig.other_phones, *sig.rest])).lower()
    for line in unicodedata.normalize("NFKC", text).splitlines():
        if CLOSINGS.match(line.strip()) or line.strip() == "Sent from my iPhone":
            continue
        line = re.sub(r"(?:^|(?<=[\s|,，]))[^\s:：|,，]{1,8}\s*[:：]", " ", line)  # "Tel:", "手机/微信："
        for word in re.split(r"[\s|,，/]+", line):
            word = word.strip("·-()（）")
            if word and word not in LABEL_OF:
                assert word.lower().replace(" ", "") in kept, (word, kept)


def test_what_is_a_signature() -> None:
    assert looks_like_signature("王五 销售总监 13800138000")
    assert looks_like_signature("Ann Lee\nAcme")
    assert not looks_like_signature("Ann Lee")
    assert not looks_like_signature("王五")
