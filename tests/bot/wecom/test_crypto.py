"""The callback crypto, checked byte for byte against published vectors, through OUR wrapper.

Vectors: Tencent's WXBizMsgCrypt sample (callback/Sample.py), the WeCom doc example (token QDG6eK, also in
Tencent's sample docstrings) and wechatpy's tests/test_crypto.py (a byte-exact encryption with a fixed
random prefix). Then a cross-check with an independent implementation of WeCom's side (wecom_side.py).
"""
from __future__ import annotations

import pytest

from bot.wecom.crypto import CallbackRefused, MalformedCallback, WeComCrypto, parse_callback
from tests.bot.wecom.wecom_side import WeComServerSide, card_event_xml, signature, text_xml

# --- Tencent WXBizMsgCrypt sample --------------------------------------------------------------------------

WXB = ("hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww1436e0e65a779aee")
WXB_ECHOSTR = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
WXB_POST = ("<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA[Kl7kjoSf6DMD1zh7rtrHj"
            "FaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00f"
            "T0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilE"
            "bjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux08"
            "2f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>"
            "\n</xml>")
WXB_PLAIN = ("<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>"
             "1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>"
             "1000002</AgentID></xml>")

# --- WeCom doc example (token QDG6eK) ----------------------------------------------------------------------

DOC = ("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
DOC_ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
DOC_POST = ("<xml> <ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J5"
            "8tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhx"
            "chrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNX"
            "ZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5"
            "wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH"
            "2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt>\n   <AgentID><![CDATA[218]]></AgentID>\n   </xml>")

# --- wechatpy tests/test_crypto.py ---------------------------------------------------------------------------

WPY = ("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")
WPY_REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
WPY_ENCRYPT = ("9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAt"
               "ObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB"
               "6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1v"
               "Wwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3")
WPY_ENVELOPE = f"""<xml>
<Encrypt><![CDATA[{WPY_ENCRYPT}]]></Encrypt>
<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>
<TimeStamp>1411525903</TimeStamp>
<Nonce><![CDATA[461056294]]></Nonce>
</xml>"""
WPY_ECHOSTR = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
WPY_POST = ("<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86io"
            "RjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rh"
            "nus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2"
            "KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxu"
            "GhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>\n"
            "<AgentID><![CDATA[1]]></AgentID>\n</xml>")


class TestPublishedVectors:
    def test_tencent_sample_url_verification(self) -> None:
        crypto = WeComCrypto(*WXB)
        assert signature(WXB[0], "1476416373", "47744683", WXB_ECHOSTR) == "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
        assert crypto.verify_url("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683",
                                 WXB_ECHOSTR) == "1288432023552776189"

    def test_tencent_sample_message_decrypts_to_the_published_plaintext(self) -> None:
        plain = WeComCrypto(*WXB).decrypt(WXB_POST.encode(), "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
                                          "1476422779", "1597212914")
        assert plain == WXB_PLAIN
        cb = parse_callback(plain)
        assert (cb.kind, cb.from_user, cb.content, cb.msg_id) == ("text", "ChenJiaShun", "你好", "1456453720")

    def test_doc_example_url_verification(self) -> None:
        assert WeComCrypto(*DOC).verify_url("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780",
                                            DOC_ECHOSTR) == "1616140317555161061"

    def test_doc_example_message(self) -> None:
        plain = WeComCrypto(*DOC).decrypt(DOC_POST, "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813",
                                          "1372623149")
        cb = parse_callback(plain)
        assert (cb.kind, cb.from_user, cb.content, cb.msg_id, cb.agent_id) == (
            "text", "mycreate", "hello", "4561255354251345929", "218")

    def test_wechatpy_byte_exact_encryption(self) -> None:
        envelope = WeComCrypto(*WPY).encrypt(WPY_REPLY, "461056294", "1411525903", random16=lambda: "1234567890123456")
        assert envelope == WPY_ENVELOPE

    def test_wechatpy_url_verification_and_decryption(self) -> None:
        crypto = WeComCrypto(*WPY)
        assert crypto.verify_url("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425",
                                 WPY_ECHOSTR) == "5927782489442352469"
        cb = parse_callback(crypto.decrypt(WPY_POST, "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903",
                                           "461056294"))
        assert (cb.from_user, cb.content) == ("messense", "test")

    def test_our_wecom_side_reproduces_the_published_ciphertexts(self) -> None:
        side = WeComServerSide(*WPY)
        assert side.encrypt(WPY_REPLY, random16=b"1234567890123456") == WPY_ENCRYPT
        assert WeComServerSide(*WXB).decrypt(WXB_ECHOSTR) == ("1288432023552776189", WXB[2])
        assert WeComServerSide(*DOC).decrypt(DOC_ECHOSTR) == ("1616140317555161061", DOC[2])


class TestRefusals:
    def test_a_wrong_signature_is_refused_with_401(self) -> None:
        with pytest.raises(CallbackRefused) as exc:
            WeComCrypto(*WXB).verify_url("0" * 40, "1476416373", "47744683", WXB_ECHOSTR)
        assert exc.value.status == 401
        with pytest.raises(CallbackRefused):
            WeComCrypto(*WXB).decrypt(WXB_POST, "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1")

    def test_a_message_for_another_corp_is_refused_with_403(self) -> None:
        # Same token and key, but the app is configured for a different corp id than the one encrypted.
        crypto = WeComCrypto(WXB[0], WXB[1], "wwsomeothercorp00001")
        with pytest.raises(CallbackRefused) as exc:
            crypto.decrypt(WXB_POST, "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914")
        assert exc.value.status == 403
        with pytest.raises(CallbackRefused) as exc:
            crypto.verify_url("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", WXB_ECHOSTR)
        assert exc.value.status == 403

    def test_ciphertext_that_does_not_decrypt_is_refused(self) -> None:
        side = WeComServerSide(*WXB)
        for garbage in ("AAAA", "not base64 at all!", side.encrypt("x")[:-8] + "AAAAAAA="):
            sig = side.sign("1", "2", garbage)
            with pytest.raises(CallbackRefused):
                WeComCrypto(*WXB).decrypt(f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>", sig, "1", "2")

    @pytest.mark.parametrize("body", [b"", b"not xml", b"<xml><Encrypt>", b"<other/>", b"<xml><AgentID>1</AgentID></xml>",
                                      b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>'])
    def test_an_unreadable_envelope_is_malformed(self, body: bytes) -> None:
        with pytest.raises(MalformedCallback):
            WeComCrypto(*WXB).decrypt(body, "0" * 40, "1", "2")

    def test_decrypted_xml_without_the_required_fields_is_malformed(self) -> None:
        for xml in ("<xml><MsgType>text</MsgType></xml>", "<xml>", "<xml><FromUserName>a</FromUserName><MsgType>event"
                    "</MsgType><Event>template_card_event</Event></xml>"):
            with pytest.raises(MalformedCallback):
                parse_callback(xml)


class TestAgainstAnIndependentImplementation:
    MESSAGES = [text_xml(WXB[2], "lilei", "商机 D-7", "7300000000000000001"),
                card_event_xml(WXB[2], "wangfang", "approval.approve|A-5", "crm-approval-A-5-0011", "RC_xyz"),
                *("x" * n for n in (1, 11, 12, 13, 43, 44, 45, 75, 76, 77)),
                "中文内容" * 50, "<xml><Content><![CDATA[😀 emoji]]></Content></xml>"]

    @pytest.mark.parametrize("msg", MESSAGES)
    def test_wecom_encrypts_we_decrypt(self, msg: str) -> None:
        side = WeComServerSide(*WXB)
        query_free = side.encrypt(msg)
        sig = side.sign("1700000000", "99", query_free)
        body = f"<xml><Encrypt><![CDATA[{query_free}]]></Encrypt></xml>"
        assert WeComCrypto(*WXB).decrypt(body, sig, "1700000000", "99") == msg

    @pytest.mark.parametrize("msg", MESSAGES)
    def test_we_encrypt_wecom_decrypts(self, msg: str) -> None:
        import xmltodict
        env = xmltodict.parse(WeComCrypto(*WXB).encrypt(msg, "77", "1700000000"))["xml"]
        assert env["MsgSignature"] == signature(WXB[0], "1700000000", "77", env["Encrypt"])
        assert WeComServerSide(*WXB).decrypt(env["Encrypt"]) == (msg, WXB[2])

    def test_same_random_prefix_same_ciphertext(self) -> None:
        import xmltodict
        ours = xmltodict.parse(WeComCrypto(*WXB).encrypt("<xml>hi</xml>", "1", "2", random16=lambda: "abcdefghijklmnop"))
        theirs = WeComServerSide(*WXB).encrypt("<xml>hi</xml>", random16=b"abcdefghijklmnop")
        assert ours["xml"]["Encrypt"] == theirs

    def test_click_event_fields_are_parsed(self) -> None:
        cb = parse_callback(card_event_xml(WXB[2], "wangfang", "approval.approve|A-5", "crm-approval-A-5-0011", "RC_x"))
        assert (cb.kind, cb.event_key, cb.task_id, cb.response_code, cb.card_type) == (
            "card_click", "approval.approve|A-5", "crm-approval-A-5-0011", "RC_x", "button_interaction")
        assert cb.dedupe_key == "wecom:card:crm-approval-A-5-0011:RC_x"
