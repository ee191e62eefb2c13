from django.urls import path

from fencun.gateway import views, wecom_views

urlpatterns = [
    path("wechat/callback", views.callback, name="wechat-callback"),
    path("wechat/callback/<str:app_id>", views.callback, name="wechat-callback-account"),
    path("wecom/callback", wecom_views.callback, name="wecom-callback"),
    path("wecom/callback/<str:corp_id>", wecom_views.callback, name="wecom-callback-corp"),
]
