"""A comparison point of the gateway benchmark: wechatpy's echo behind Flask.

The way wechatpy's documentation serves a callback: Flask reads the request, wechatpy
checks the signature, decrypts (in safe and compatible mode), parses and builds the echo
reply, and encrypts it back where the request was encrypted. It stores nothing.
Configured from the same environment variables as fencun.
"""

import os

from flask import Flask, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

TOKEN = os.environ["WECHAT_TOKEN"]
crypto = WeChatCrypto(TOKEN, os.environ["WECHAT_AES_KEY"], os.environ["WECHAT_APP_ID"])
application = Flask(__name__)


@application.route("/", methods=["GET"])
def probe():
    return "ok"


@application.route("/wechat/callback", methods=["GET", "POST"])
def callback():
    args = request.args
    check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    if request.method == "GET":
        return args.get("echostr", "")
    encrypted = args.get("encrypt_type") == "aes"
    body = request.data
    if encrypted:
        body = crypto.decrypt_message(body, args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    message = parse_message(body)
    if message.type != "text":
        return "success"
    reply = TextReply(content=message.content, message=message).render()
    if encrypted:
        return crypto.encrypt_message(reply, args.get("nonce", ""), args.get("timestamp", ""))
    return reply
