"""The sandbox's Official Account API, one module per API family (as wechatpy's
``client/api/``), all sharing one :class:`~fencun.sandbox.wechat.platform.Platform`:

- ``token`` — ``token``, ``stable_token``
- ``user`` — ``user/get``, ``user/info``, ``user/info/batchget``
- ``tag`` — ``tags/*``, ``user/tag/get``
- ``media`` — temporary media, ``media/uploadimg``, ``media/uploadnews`` (legacy)
- ``message`` — mass sends and their jobs, customer-service messages
- ``template`` — template messages
- ``quota`` — daily and per-minute call quotas, ``clear_quota``
- ``material`` — permanent material: add, count, list, delete (``add_news`` retired)
- ``draft`` — the draft box: add, update, get, batchget, count, delete
- ``freepublish`` — publishing without a push, its job and PUBLISHJOBFINISH
- ``menu`` — the custom menu: create, get, delete; personalised menus (add, delete,
  trymatch) and the menu the account shows (``get_current_selfmenu_info``), the
  operator's admin-panel menu until one is set by API
- ``qrcode`` — parametric QR codes and ``showqrcode``
- ``datacube`` — analytics: users (``getusersummary``, ``getusercumulate``) and articles
  (``getarticlesummary``, ``getarticletotal``, ``getuserread(hour)``,
  ``getusershare(hour)``), the articles' reading derived in ``article_reads``

``platform`` holds the state and the dispatcher, ``state`` the configuration and shared
records, ``errors`` the error answers, ``limits`` the limits tables (the product's, and
``data/api_limits.json`` for the families that table does not cover, merged with the
account table the client checks menus and QR codes against,
``fencun/channels/wechat/data/account_limits.json``, and the article table the content
lint reads, ``fencun/content/data/article_limits.json``; each limit with its source and
error code).
"""
