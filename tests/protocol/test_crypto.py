"""Our crypto against the official vectors, and wechatpy-independent round trips."""

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fencun.protocol import xmlmsg
from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.errors import BadCiphertext, WrongAppId
from fencun.protocol.signatures import sign

# Tencent's WXBizMsgCrypt Python sample (Sample.py).
SAMPLE_TOKEN = "spamtest"
SAMPLE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_APPID = "wx2c2769f8efd9abc2"
SAMPLE_TIMESTAMP = "1409735669"
SAMPLE_NONCE = "1320562132"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHF"
    "VAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVti"
    "cbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpA"
    "e+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCum"
    "EPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)

# The message-push encryption example of WeChat's documentation (token AAAAA).
DOC_TOKEN = "AAAAA"
DOC_KEY = "A" * 43
DOC_APPID = "wxba5fad812f8e6fb9"
DOC_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzD"
    "pVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2I"
    "uQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F"
    "9mFUPAJGj04="
)
DOC_REPLY_ENCRYPT = (
    "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
)


def test_tencent_sample_signature_and_decryption():
    assert (
        sign(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT) == SAMPLE_MSG_SIGNATURE
    )
    plain = MessageCrypto(SAMPLE_KEY, SAMPLE_APPID).decrypt(SAMPLE_ENCRYPT)
    message = xmlmsg.parse(plain)
    assert message["MsgType"] == "text"
    assert message["Content"] == "abcdteT"
    assert message["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


def test_documentation_plaintext_signature():
    assert sign(DOC_TOKEN, "1714037059", "486452656") == "899cf89e464efb63f54ddac96b0a0a235f53aa78"


def test_documentation_safe_mode_signature_and_decryption():
    assert (
        sign(DOC_TOKEN, "1714112445", "415670741", DOC_ENCRYPT)
        == "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
    )
    plain = MessageCrypto(DOC_KEY, DOC_APPID).decrypt(DOC_ENCRYPT)
    assert plain.startswith(b'{"ToUserName":"gh_97417a04a28d"')
    assert len(plain) == 167


def test_documentation_reply_encryption_is_reproduced_exactly():
    crypto = MessageCrypto(DOC_KEY, DOC_APPID)
    encrypted = crypto.encrypt('{"demo_resp":"good luck"}', random_prefix=b"707722b803182950")
    assert encrypted == DOC_REPLY_ENCRYPT
    assert (
        sign(DOC_TOKEN, "1713424427", "415670741", encrypted)
        == "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1"
    )


def test_wrong_appid_inside_ciphertext_is_refused():
    encrypted = MessageCrypto(SAMPLE_KEY, "wx_other_app").encrypt("<xml/>")
    with pytest.raises(WrongAppId):
        MessageCrypto(SAMPLE_KEY, SAMPLE_APPID).decrypt(encrypted)


@pytest.mark.parametrize(
    "ciphertext",
    [
        "",
        "not base64 !!",
        base64.b64encode(b"short").decode(),
        base64.b64encode(b"x" * 32).decode(),
    ],
)
def test_bad_ciphertext_raises_typed_error(ciphertext):
    with pytest.raises(BadCiphertext):
        MessageCrypto(SAMPLE_KEY, SAMPLE_APPID).decrypt(ciphertext)


@given(st.binary(max_size=2000))
def test_round_trip(payload):
    crypto = MessageCrypto(SAMPLE_KEY, SAMPLE_APPID)
    assert crypto.decrypt(crypto.encrypt(payload)) == payload


@given(st.text(max_size=400))
def test_arbitrary_ciphertext_never_raises_untyped(text):
    with contextlib.suppress(BadCiphertext, WrongAppId):
        MessageCrypto(SAMPLE_KEY, SAMPLE_APPID).decrypt(text)


def test_key_must_be_43_characters():
    with pytest.raises(ValueError):
        MessageCrypto("short", SAMPLE_APPID)
