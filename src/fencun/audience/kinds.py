"""The event vocabulary of the log: one name per kind of input, used everywhere."""

# Follower messages (MsgType) keep WeChat's names.
TEXT = "text"
IMAGE = "image"
VOICE = "voice"
VIDEO = "video"
SHORTVIDEO = "shortvideo"
LOCATION = "location"  # both the LOCATION event and the location message
LINK = "link"
# Events (Event, lower-cased); unknown events are stored under their own lower-cased name.
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
SCAN = "scan"
CLICK = "click"
VIEW = "view"
MASS_SEND_FINISHED = "masssendjobfinish"
PUBLISH_FINISHED = "publishjobfinish"  # a draft published without a push (freepublish)
TEMPLATE_SEND_FINISHED = "templatesendjobfinish"
# Subscription notices: a follower's answer to a popup (accept / reject per template),
# their turning notices off in settings, and the platform's report of a send.
NOTICE_POPUP = "subscribe_msg_popup_event"
NOTICE_CHANGE = "subscribe_msg_change_event"
NOTICE_SENT = "subscribe_msg_sent_event"
NOTICE_EVENTS = frozenset({NOTICE_POPUP, NOTICE_CHANGE, NOTICE_SENT})
# From the product itself.
PROFILE = "profile"  # a follower snapshot from the user API (sync)
READ = "read"
LINK_CLICK = "link_click"
ORDER = "order"
DELIVERY = "delivery"
PREFERENCE = "preference"  # a follower's choice: {"personalised": bool}

MESSAGE_KINDS = frozenset({TEXT, IMAGE, VOICE, VIDEO, SHORTVIDEO, LOCATION, LINK})

# Actions that open WeChat's customer-service window (messages, follow, scan, menu
# pushes); LOCATION reports and VIEW clicks do not.
INTERACTION_KINDS = frozenset(
    {
        TEXT,
        IMAGE,
        VOICE,
        VIDEO,
        SHORTVIDEO,
        LINK,
        SUBSCRIBE,
        SCAN,
        CLICK,
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)
