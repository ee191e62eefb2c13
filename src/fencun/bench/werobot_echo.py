"""The comparison point of the gateway benchmark: WeRoBot's bare echo app.

It checks signatures, decrypts, parses and echoes text back, and stores nothing.
Configured from the same environment variables as fencun.
"""

import os

import werobot

robot = werobot.WeRoBot(
    token=os.environ["WECHAT_TOKEN"],
    encoding_aes_key=os.environ["WECHAT_AES_KEY"],
    app_id=os.environ["WECHAT_APP_ID"],
    enable_session=False,  # a bare echo: no session store to write
)


@robot.text
def echo(message):
    return message.content


application = robot.wsgi
