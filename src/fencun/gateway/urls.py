from django.urls import path

from fencun.gateway import views

urlpatterns = [
    path("wechat/callback", views.callback, name="wechat-callback"),
    path("wechat/callback/<str:app_id>", views.callback, name="wechat-callback-account"),
]
